"""Helpers for the Central System's end-to-end tests (no tests here).

- ``InProcessCS``: ``create_app(...)`` on a SQLite file behind a ``BackgroundServer``;
- ``GunicornCS``: ``ocpp-soap central serve`` as a subprocess (real gunicorn workers);
- ``SilentPeer``: a TCP listener that accepts and never answers (a charge point that hangs);
- ``rows``: what the database holds, read through the project's own store;
- ``commands_while_charging``: waves of simultaneous commands (to a ``SilentPeer``) while
  chargers keep talking to the CS, timed on both sides.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from ocpp_soap.central.storage.store import Store
from ocpp_soap.central.wsgi import create_app
from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.httpserver import BackgroundServer
from tests.conftest import ROOT, free_port

CS_PATH = "/ocpp/CentralSystemService"
OCPP_SOAP = Path(sys.executable).parent / "ocpp-soap"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class InProcessCS:
    """The CS application in this process, on 127.0.0.1, until ``stop()``."""

    def __init__(self, db_path: Path, **overrides: Any):
        overrides.setdefault("db_url", sqlite_url(db_path))
        self.db_url = overrides["db_url"]
        self.app = create_app(**overrides)
        self.server = BackgroundServer(self.app).start()
        self.url = self.server.url

    @property
    def admin(self):
        return self.app.central.admin

    def soap_url(self, version: str | None = None) -> str:
        return self.url + (f"/ocpp/{version}/CentralSystemService" if version else CS_PATH)

    def stop(self) -> None:
        self.server.stop()
        self.app.close()

    def __enter__(self) -> InProcessCS:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0,
                  scheme: str = "http", **tls: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            r = requests.get(f"{scheme}://127.0.0.1:{port}/healthz", timeout=1, **tls)
            if r.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port} within {timeout} s")


class GunicornCS:
    """``ocpp-soap central serve`` in a subprocess; its log goes to ``log_path``."""

    def __init__(self, db_path: Path, *args: str, workers: int = 2, env: dict | None = None,
                 scheme: str = "http", db_url: str | None = None, **tls: Any):
        """``db_url``: another database (PostgreSQL) instead of the SQLite file ``db_path``;
        ``db_path`` still names where the log goes."""
        self.port = free_port()
        self.db_url = db_url or sqlite_url(db_path)
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = db_path.with_suffix(".log")
        cmd = [str(OCPP_SOAP), "central", "serve", "--port", str(self.port),
               "--workers", str(workers), "--db", self.db_url, *args]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OCPP_SOAP_")}
        full_env.update(env or {})
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=full_env)
        try:
            wait_for_port(self.port, self.proc, scheme=scheme, **tls)
        except Exception:
            self.stop()
            raise

    def soap_url(self, version: str | None = None) -> str:
        return self.url + (f"/ocpp/{version}/CentralSystemService" if version else CS_PATH)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> GunicornCS:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class SilentPeer:
    """Accepts connections on 127.0.0.1 and never answers: a charge point that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/ocpp/ChargePointService"
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def rows(db_url: str, model, *where, order_by=None) -> list[Any]:
    """All rows of ``model`` (detached ORM objects) matching ``where``."""
    store = Store.open(db_url)
    try:
        def work(session):
            query = select(model).where(*where)
            key = order_by if order_by is not None else \
                list(model.__table__.primary_key.columns)[0]
            return list(session.execute(query.order_by(key)).scalars())
        return store.read(work)
    finally:
        store.engine.dispose()


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/ocpp/ChargePointService"


@dataclass
class Waves:
    """What ``commands_while_charging`` saw (times are ``time.monotonic()`` seconds)."""

    #: per wave, per command: (what the command returned, how long it took)
    outcomes: list[list[tuple[Any, float]]] = field(default_factory=list)
    #: per wave: (the first command started, the last one ended)
    spans: list[tuple[float, float]] = field(default_factory=list)
    #: every charger request: (charge box, started, seconds)
    served: list[tuple[str, float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def served_within(self, wave: int) -> dict[str, int]:
        """How many requests each charger had answered entirely within ``wave``'s span."""
        begin, end = self.spans[wave]
        counts = dict.fromkeys({box for box, _, _ in self.served}, 0)
        for box, t0, took in self.served:
            if begin <= t0 and t0 + took <= end:
                counts[box] += 1
        return counts


def commands_while_charging(command: Callable[[int], Any], *, calls: int, waves: int,
                            soap_url: str, boxes: Sequence[str], pause: float = 0.05) -> Waves:
    """``waves`` waves, one after the other, of ``calls`` simultaneous ``command(i)`` (released
    together by a barrier), while chargers ``boxes`` (known to the CS) boot and then keep sending
    Heartbeat and StatusNotification to ``soap_url``, ``pause`` s apart. A charger's exception is
    an error; a command's return value is its outcome (the command catches what it expects)."""
    result = Waves()
    stop = threading.Event()
    clients = [OcppClient("1.6", "CentralSystemService", box, soap_url, timeout=10)
               for box in boxes]
    for cp in clients:
        cp.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})

    def charge(cp: OcppClient) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            t0 = time.monotonic()
            try:
                if n % 2:
                    cp.call("Heartbeat", {})
                else:
                    cp.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                   "status": "Available"})
            except Exception as exc:  # every failure is a finding
                result.errors.append(f"{cp.charge_box_id}: {exc!r}")
            result.served.append((cp.charge_box_id, t0, time.monotonic() - t0))
            stop.wait(pause)

    chargers = [threading.Thread(target=charge, args=(cp,), daemon=True) for cp in clients]
    barrier = threading.Barrier(calls)

    def one(i: int) -> tuple[Any, float, float]:
        barrier.wait(30)
        t0 = time.monotonic()
        outcome = command(i)
        return outcome, t0, time.monotonic()

    try:
        for t in chargers:
            t.start()
        time.sleep(0.3)  # the chargers in their stride before the first wave
        with ThreadPoolExecutor(calls) as pool:
            for _ in range(waves):
                done = list(pool.map(one, range(calls)))
                result.outcomes.append([(outcome, end - t0) for outcome, t0, end in done])
                result.spans.append((min(t0 for _, t0, _ in done), max(end for *_, end in done)))
        time.sleep(0.3)
    finally:
        stop.set()
        for t in chargers:
            t.join(15)
    return result


def check_waves(run: Waves, *, outcome: Any, timeout: float, calls: int, slack: float,
                max_latency: float) -> None:
    """Every command of every wave ended in ``outcome`` within ``timeout`` (+``slack``), each
    wave took about one timeout, and every charger request succeeded within ``max_latency``, with
    each charger answered during each wave."""
    assert run.errors == [], run.errors[:5]
    for n, (outcomes, (begin, end)) in enumerate(zip(run.outcomes, run.spans, strict=True)):
        assert len(outcomes) == calls
        assert [o for o, _ in outcomes] == [outcome] * calls, (n, outcomes)
        took = sorted(t for _, t in outcomes)
        # each timed out on its own clock: it waited the timeout, and not much more
        assert timeout - 0.05 <= took[0] and took[-1] < timeout + slack, (n, took)
        assert end - begin < timeout + slack + 0.5, (n, end - begin)  # together, not in a row
        served = run.served_within(n)
        assert served and min(served.values()) >= 1, (n, served)
    latencies = sorted(t for _, _, t in run.served)
    assert len(latencies) >= 20, len(latencies)
    assert latencies[-1] < max_latency, latencies[-5:]
