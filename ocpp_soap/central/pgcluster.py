"""A private, throw-away PostgreSQL cluster for the tests and the benchmarks.

Why a module of the package: the test suite, ``bench/`` and the tests that restart or kill the
database all need the same thing, a server nobody else uses, started in a temporary folder on a free
port and removed afterwards. One helper keeps the commands (and their quirks) in one place:

- Debian keeps ``initdb``/``pg_ctl`` in ``/usr/lib/postgresql/<major>/bin``, off ``PATH``.
- ``initdb`` refuses to run as root, which is what CI runs as; as root the cluster is created and run
  as the unprivileged ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PgCluster", "find_pg_bin", "pg_unavailable_reason"]

#: The user a cluster runs as when this process is root (initdb refuses root).
PG_SYSTEM_USER = "postgres"
#: Where Debian puts the server binaries, one folder per major version.
DEBIAN_PG_BINS = "/usr/lib/postgresql/*/bin"


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest versioned one."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(
        glob.glob(DEBIAN_PG_BINS),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def pg_unavailable_reason() -> str | None:
    """Why no private cluster can start here, or None when one can."""
    if find_pg_bin() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser (initdb refuses root)"
        try:
            import pwd

            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            return f"running as root and no {PG_SYSTEM_USER!r} user to run initdb as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, trust auth.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`restart` and
    :meth:`stop`/:meth:`start` keep the data folder and the port, so a test can take the database
    away under load and give it back.
    """

    def __init__(self, port: int | None = None, bin_dir: Path | None = None) -> None:
        reason = pg_unavailable_reason() if bin_dir is None else None
        if reason:
            raise RuntimeError(f"cannot start a PostgreSQL cluster: {reason}")
        self.bin_dir = bin_dir or find_pg_bin()
        assert self.bin_dir is not None
        self.port = port or _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="ocpp-soap-pg."))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.base, user=PG_SYSTEM_USER)
        self._initialised = False
        self.running = False

    # -- commands -----------------------------------------------------------------------------

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", PG_SYSTEM_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            tail = ""
            if self.log.exists():
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{tail}"
            )

    def start(self) -> PgCluster:
        """Create the cluster on first use, then start the server and wait until it accepts."""
        if not self._initialised:
            self._run(
                "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                "--no-sync", "-E", "UTF8",
            )
            self._initialised = True
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` ends sessions; ``immediate`` is a crash)."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
            self.running = False

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again on the same port and data."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def destroy(self) -> None:
        """Stop if running and remove every file of the cluster."""
        try:
            self.stop(mode="immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.base, ignore_errors=True)

    # -- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database as the superuser (may create databases)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.destroy()
