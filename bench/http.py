"""The Central System behind gunicorn (2 sync workers, SQLite file) under load over loopback.

A load generator of several processes with keep-alive connections sends a fixed mix for a fixed
time and reports requests/s, p50/p95/p99 latency and errors; then the same mix at half the measured
maximum rate, for latency under normal load. The same run measures the bare Spyne service and the
lxml handler (``bench/apps.py``) under the same server, so the figures sit side by side.

Run: ``python bench/http.py [--duration 8] [--clients 3] [--json FILE]``.
"""

from __future__ import annotations

import os
import sys

# Run as ``python bench/http.py``, this file's folder comes first on sys.path and its own name would
# hide the standard library's ``http``; drop that entry before importing it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import multiprocessing as mp  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import free_port, machine, table, write_json  # noqa: E402

PATH = "/ocpp/1.6/CentralSystemService"
MIXES = {
    "heartbeat": [("Heartbeat", 1.0)],
    "mixed": [("Heartbeat", 0.70), ("MeterValues", 0.20), ("StatusNotification", 0.04),
              ("StartTransaction", 0.03), ("StopTransaction", 0.03)],
}


def start_server(target: str, port: int, db: str, workers: int = 2,
                 threads: int = 1) -> subprocess.Popen:
    env = dict(os.environ, OCPP_SOAP_DB=db, OCPP_SOAP_UNKNOWN_CHARGEBOX="accept",
               PYTHONPATH=str(ROOT))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-k", "gthread" if threads > 1 else "sync",
         "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--backlog", "2048",
         "--log-level", "warning", target],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def envelopes(box: str) -> dict:
    """Request bodies for ``box`` as our client writes them (one transaction's worth)."""
    from ocpp_soap.messages.examples import example
    from ocpp_soap.soap.client import OcppClient

    c = OcppClient("1.6", "CentralSystemService", box, f"http://127.0.0.1{PATH}",
                   from_address="http://127.0.0.1:1/ocpp/ChargePointService")
    out = {}
    for op in ("BootNotification", "Heartbeat", "StatusNotification", "StartTransaction"):
        req = example("1.6", "CentralSystemService", op)[0]
        if op == "StartTransaction":
            req.pop("reservationId")
            req["idTag"] = "LOADTAG"
        out[op] = c.build(op, req)[0]
    mv = example("1.6", "CentralSystemService", "MeterValues")[0]
    sample = mv["meterValue"][0]["sampledValue"][0]
    mv["meterValue"][0]["sampledValue"] = [dict(sample, value=str(1000 + i)) for i in range(10)]
    mv["transactionId"] = 999999
    out["MeterValues"] = c.build("MeterValues", mv)[0]
    stop = example("1.6", "CentralSystemService", "StopTransaction")[0]
    stop["transactionId"] = 999999
    out["StopTransaction"] = c.build("StopTransaction", stop)[0]
    return out


def worker(port: int, box: str, mix: str, duration: float, rate: float | None, queue) -> None:
    """One load process: keep-alive requests for ``duration`` s, optionally paced to ``rate``/s."""
    bodies = envelopes(box)
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", PATH, bodies["BootNotification"], headers)
    conn.getresponse().read()
    ops, weights = zip(*MIXES[mix], strict=True)
    latencies: list[float] = []
    errors = 0
    tx_id = None
    rnd = random.Random(box)
    start = time.perf_counter()
    next_at = start
    while True:
        now = time.perf_counter()
        if now - start >= duration:
            break
        if rate:
            if now < next_at:
                time.sleep(next_at - now)
            next_at += 1.0 / rate
        op = rnd.choices(ops, weights)[0]
        if op == "StopTransaction" and tx_id is None:
            op = "StartTransaction"
        body = bodies[op]
        if op in ("MeterValues", "StopTransaction") and tx_id is not None:
            body = body.replace(b">999999<", f">{tx_id}<".encode())
        t0 = time.perf_counter()
        try:
            conn.request("POST", PATH, body, headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                errors += 1
            elif op == "StartTransaction":
                m = re.search(rb"transactionId>(\d+)<", data)
                tx_id = int(m.group(1)) if m else None
            elif op == "StopTransaction":
                tx_id = None
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - t0)
    queue.put((latencies, errors, time.perf_counter() - start))


def load(port: int, mix: str, duration: float, clients: int, rate: float | None = None) -> dict:
    q: mp.Queue = mp.Queue()
    per_client = rate / clients if rate else None
    procs = [mp.Process(target=worker, args=(port, f"LOAD-{i}", mix, duration, per_client, q))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    q_ = statistics.quantiles(lat, n=100) if len(lat) > 100 else [float("nan")] * 99
    return {"requests": len(lat), "errors": errors, "req_per_s": len(lat) / elapsed,
            "p50_ms": q_[49] * 1000, "p95_ms": q_[94] * 1000, "p99_ms": q_[98] * 1000}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=3, help="load processes (keep-alive each)")
    ap.add_argument("--threads", type=int, default=1,
                    help="gunicorn threads per worker (>1: gthread workers, which keep connections "
                         "alive)")
    ap.add_argument("--only", help="comma-separated apps to run (project, spyne, lxml)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    targets = [("project", "ocpp_soap.central.wsgi:create_app()", MIXES),
               ("spyne", "bench.apps:bare_spyne()", ["heartbeat"]),
               ("lxml", "bench.apps:lxml_floor()", ["heartbeat"])]
    if args.only:
        targets = [t for t in targets if t[0] in args.only.split(",")]
    rows = []
    for name, target, mixes in targets:
        for mix in mixes:
            tmp = tempfile.mkdtemp(prefix="ocpp-http-")
            port = free_port()
            proc = start_server(target, port, f"sqlite:///{tmp}/cs.db", threads=args.threads)
            try:
                if name == "project":
                    _register_tag(tmp)
                full = load(port, mix, args.duration, args.clients)
                rows.append({"app": name, "mix": mix, "load": "max", **full})
                half = load(port, mix, args.duration, args.clients, rate=full["req_per_s"] / 2)
                rows.append({"app": name, "mix": mix, "load": "50% of max", **half})
            finally:
                stop_server(proc)
    kind = f"gthread workers x {args.threads} threads" if args.threads > 1 else "sync workers"
    print(f"gunicorn, 2 {kind}, SQLite file; {args.clients} keep-alive load processes on "
          f"the same machine ({os.cpu_count()} cores), {args.duration:g} s each\n")
    print(table(rows, ["app", "mix", "load", "req_per_s", "p50_ms", "p95_ms", "p99_ms",
                       "errors", "requests"]))
    write_json(args.json, {"machine": machine(), "duration_s": args.duration,
                           "clients": args.clients, "rows": rows})
    return 0


def _register_tag(tmp: str) -> None:
    """The load's StartTransactions use one tag that may run many transactions at once."""
    from ocpp_soap.central.domain import CentralSystem
    from ocpp_soap.central.settings import CentralSettings

    central = CentralSystem.open(CentralSettings(db_url=f"sqlite:///{tmp}/cs.db"))
    central.admin.add_tag("LOADTAG", max_active_transactions=1_000_000)
    central.store.dispose()


if __name__ == "__main__":
    sys.exit(main())
