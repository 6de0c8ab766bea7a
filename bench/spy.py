"""What a gunicorn worker of the Central System spends its busy time on, under HTTP load.

``bench/profile.py`` splits one message in-process; under HTTP the server, the sockets and the
second worker join in. This script starts the CS as ``bench/http.py`` does (gunicorn, 2 sync
workers, SQLite file), drives the chosen mix with the same load generator, and samples one worker
with py-spy (``--nonblocking``, on-CPU samples only). Each sample is charged to the innermost
frame that belongs to a known layer:

- ``database``: SQLAlchemy, the DB-API drivers, ``central/storage``;
- ``spyne``: Spyne; ``zeep``: zeep;
- ``front``: ``ocpp_soap/soap`` (parse, headers, schema check, reply writing, WS-Addressing);
- ``domain``: the rest of ``ocpp_soap`` (the Central System's logic);
- ``gunicorn``: the server (accepting, reading and writing HTTP, the worker loop);
- ``other``: whatever is left (the interpreter's own frames, logging …).

Not work, and left out of those shares: gunicorn 26 and later close every connection gracefully
(RFC 9112 9.6: half-close, then read until the client closes, up to 2 s). py-spy cannot tell that
wait from work, so its samples are counted apart as ``linger`` (the share of all samples the
worker spent waiting for the client's close); so are those of the worker waiting in ``select``
for the next connection, as ``idle``.

Needs py-spy (``make profile`` installs it). Run:
``python bench/spy.py [--mix mixed] [--duration 10] [--clients 3] [--json FILE]``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import collections  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, machine, table, write_json  # noqa: E402
from bench.http import MIXES, _register_tag, load, start_server, stop_server  # noqa: E402

LAYERS = ("database", "spyne", "zeep", "front", "domain", "gunicorn", "other")
LINGER = "close_graceful (gunicorn/util.py"
IDLE = "SyncWorker.wait (gunicorn/workers/sync.py"
_FILE = re.compile(r"\(([^():]+):\d+\)$")


def layer_of(path: str) -> str | None:
    """The layer a source file belongs to, or None for frames that say nothing (stdlib)."""
    # py-spy names files relative to their sys.path entry: "spyne/server/wsgi.py".
    p = "/" + path.replace("\\", "/").lstrip("/")
    if ("/sqlalchemy/" in p or "/psycopg" in p or "/sqlite3/" in p
            or "/ocpp_soap/central/storage/" in p):
        return "database"
    for layer, marker in (("spyne", "/spyne/"), ("zeep", "/zeep/"), ("front", "/ocpp_soap/soap/"),
                          ("domain", "/ocpp_soap/"), ("gunicorn", "/gunicorn/")):
        if marker in p:
            return layer
    return None


def charge(stack: str) -> str:
    """The layer of a collapsed stack (``root;…;leaf``): its innermost known frame's."""
    for frame in reversed(stack.split(";")):
        m = _FILE.search(frame)
        if m:
            found = layer_of(m.group(1))
            if found:
                return found
    return "other"


def breakdown(raw: str) -> dict[str, float]:
    """Shares (%) per layer of the busy samples in py-spy's raw (collapsed) output, plus the
    share of all samples spent lingering for the client's close."""
    counts: collections.Counter[str] = collections.Counter()
    waits: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not (stack and n.isdigit()):
            continue
        leaf = stack.rsplit(";", 1)[-1]
        if leaf.startswith(LINGER):  # blocked in recv for the client's close, not working
            waits["linger"] += int(n)
        elif leaf.startswith(IDLE):  # blocked in select for the next connection
            waits["idle"] += int(n)
        else:
            counts[charge(stack)] += int(n)
    busy = sum(counts.values()) or 1
    every = busy + sum(waits.values())
    return ({layer: 100.0 * counts[layer] / busy for layer in LAYERS}
            | {"samples": every, "linger": 100.0 * waits["linger"] / every,
               "idle": 100.0 * waits["idle"] / every})


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mix", choices=sorted(MIXES), default="mixed")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed: run `make profile` (or pip install py-spy)")
        return 2
    tmp = tempfile.mkdtemp(prefix="ocpp-spy-")
    port = free_port()
    proc = start_server("ocpp_soap.central.wsgi:create_app()", port, f"sqlite:///{tmp}/cs.db")
    rows = []
    try:
        _register_tag(tmp)
        load(port, args.mix, 2.0, args.clients)  # warm both workers
        pids = worker_pids(proc.pid)
        if not pids:
            raise RuntimeError("no gunicorn worker found")
        out = Path(tmp) / "spy.txt"
        sampler = subprocess.Popen(
            [spy, "record", "--pid", str(pids[0]), "--format", "raw", "--nonblocking",
             "--rate", str(args.rate), "--duration", str(int(args.duration)), "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # py-spy attaches
        result = load(port, args.mix, args.duration, args.clients)
        _, err = sampler.communicate(timeout=args.duration + 60)
        if sampler.returncode != 0 or not out.exists():
            print(f"py-spy failed: {err.strip()[-500:]}")
            return 2
        shares = breakdown(out.read_text())
        rows.append({"mix": args.mix, "req_per_s": result.get("req_per_s", 0.0),
                     **{f"{k}_pct": shares[k] for k in LAYERS}, "linger_pct": shares["linger"],
                     "idle_pct": shares["idle"],
                     "samples": shares["samples"]})
    finally:
        stop_server(proc)
    print(f"One gunicorn worker's on-CPU samples by layer, {args.mix} load, "
          f"{args.duration:g} s, {args.clients} load processes (2 cores)\n")
    print(table(rows, ["mix", "req_per_s", *[f"{k}_pct" for k in LAYERS], "linger_pct",
                       "idle_pct", "samples"]))
    print("\nlayer shares: of the worker's busy samples; linger_pct / idle_pct: of all its "
          "samples, waiting for a client's close / for the next connection")
    write_json(args.json, {"machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
