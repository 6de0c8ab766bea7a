"""The Central System behind gunicorn (2 sync workers, SQLite file) under load over loopback.

A load generator of several processes with keep-alive connections sends a fixed mix for a fixed
time and reports requests/s, p50/p95/p99 latency and errors; then the same mix at half the measured
maximum rate, for latency under normal load. The same run measures the bare Spyne service and the
lxml handler (``bench/apps.py``) under the same server, so the figures sit side by side.

The load processes use the lean raw-socket client of ``bench/_loadgen.py`` (requests built once as
bytes), since they share the cores with the server; ``client_cpu_us`` is their CPU time (user and
system, the loopback TCP work included) per request, so a reader can tell what the load took.

``--db`` picks the CS's database, once per value: ``sqlite`` (a file, the default), ``postgresql``
(a private throw-away cluster started with ``ocpp_soap.central.pgcluster``, the tests' helper) or a
PostgreSQL URL of a role that may create databases (each run gets a fresh database, dropped after).
With several ``--db`` the CS's rows sit side by side; bare Spyne and lxml use no database and run
once.

Run: ``python bench/http.py [--duration 8] [--clients 3] [--db sqlite --db postgresql]
[--json FILE]``.
"""

from __future__ import annotations

import os
import sys

# Run as ``python bench/http.py``, this file's folder comes first on sys.path and its own name would
# hide the standard library's ``http``; drop that entry before importing it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import queue  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from itertools import accumulate  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import free_port, machine, table, write_json  # noqa: E402
from bench._loadgen import Client, ProtocolError  # noqa: E402

PATH = "/ocpp/1.6/CentralSystemService"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
MIXES = {
    "heartbeat": [("Heartbeat", 1.0)],
    "mixed": [("Heartbeat", 0.70), ("MeterValues", 0.20), ("StatusNotification", 0.04),
              ("StartTransaction", 0.03), ("StopTransaction", 0.03)],
}


# The workers ``ocpp-soap central serve`` runs (gunicorn's sync/gthread without the wait for the
# client's close), for every app measured, so the three share one server.
WORKERS = {False: "ocpp_soap.central.workers.PromptSyncWorker",
           True: "ocpp_soap.central.workers.PromptThreadWorker"}


def start_server(target: str, port: int, db: str, workers: int = 2,
                 threads: int = 1) -> subprocess.Popen:
    env = dict(os.environ, OCPP_SOAP_DB=db, OCPP_SOAP_UNKNOWN_CHARGEBOX="accept",
               PYTHONPATH=str(ROOT))
    # ``python -m gunicorn``: the venv's console script may name another interpreter in its
    # shebang (a venv that was moved), the module never does.
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", WORKERS[threads > 1],
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


STALL_S = 30.0  # how long past the run's end a load process waits for a reply that does not come


def _stalled(signum, frame) -> None:
    raise TimeoutError(f"no reply {STALL_S:g} s after the load's end")


def worker(port: int, box: str, mix: str, duration: float, rate: float | None, queue) -> None:
    """One load process: keep-alive requests for ``duration`` s, optionally paced to ``rate``/s.

    Requests go through the lean client of ``bench/_loadgen.py``, built once as bytes; the CPU time
    the process spends in the timed loop is reported with the latencies (``client_cpu_us``)."""
    bodies = envelopes(box)
    # Blocking sockets without a timeout per read (cheaper, see bench/_loadgen.py); one alarm ends
    # a wait for a reply that does not come instead.
    client = Client("127.0.0.1", port)
    signal.signal(signal.SIGALRM, _stalled)
    signal.setitimer(signal.ITIMER_REAL, duration + STALL_S)
    requests = {op: client.request(PATH, body, CONTENT_TYPE) for op, body in bodies.items()}
    client.exchange(requests["BootNotification"])
    ops, weights = zip(*MIXES[mix], strict=True)
    cum_weights = list(accumulate(weights))  # what ``choices(ops, weights)`` builds per call
    choices = random.Random(box).choices
    exchange = client.exchange
    latencies: list[float] = []
    record = latencies.append
    perf_counter = time.perf_counter
    errors = 0
    tx_id = None
    tx_requests = {}  # MeterValues and StopTransaction naming ``tx_id``, built once per transaction
    start = perf_counter()
    cpu_start = time.process_time()
    next_at = start
    while True:
        now = perf_counter()
        if now - start >= duration:
            break
        if rate:
            if now < next_at:
                time.sleep(next_at - now)
            next_at += 1.0 / rate
        op = choices(ops, cum_weights=cum_weights)[0]
        if op == "StopTransaction" and tx_id is None:
            op = "StartTransaction"
        request = requests[op]
        if op in ("MeterValues", "StopTransaction") and tx_id is not None:
            request = tx_requests.get(op)
            if request is None:
                body = bodies[op].replace(b">999999<", f">{tx_id}<".encode())
                request = tx_requests[op] = client.request(PATH, body, CONTENT_TYPE)
        t0 = perf_counter()
        try:
            status, data = exchange(request)
            if status != 200:
                errors += 1
            elif op == "StartTransaction":
                m = re.search(rb"transactionId>(\d+)<", data)
                tx_id = int(m.group(1)) if m else None
                tx_requests = {}
            elif op == "StopTransaction":
                tx_id = None
        except (OSError, ProtocolError):
            errors += 1  # the client has closed the connection; the next request opens one
        record(perf_counter() - t0)
    cpu = time.process_time() - cpu_start
    elapsed = perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    client.close()
    queue.put((latencies, errors, elapsed, cpu))


def load(port: int, mix: str, duration: float, clients: int, rate: float | None = None) -> dict:
    q: mp.Queue = mp.Queue()
    per_client = rate / clients if rate else None
    procs = [mp.Process(target=worker, args=(port, f"LOAD-{i}", mix, duration, per_client, q))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        try:  # a load process that died (say, its first BootNotification failed) never reports
            results.append(q.get(timeout=duration + 90))
        except queue.Empty:
            for p in procs:
                p.kill()
            raise RuntimeError("a load process stopped without reporting; see its error "
                               "above") from None
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    q_ = statistics.quantiles(lat, n=100) if len(lat) > 100 else [float("nan")] * 99
    cpu = sum(r[3] for r in results)
    return {"requests": len(lat), "errors": errors, "req_per_s": len(lat) / elapsed,
            "p50_ms": q_[49] * 1000, "p95_ms": q_[94] * 1000, "p99_ms": q_[98] * 1000,
            "client_cpu_us": cpu / len(lat) * 1e6 if lat else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=3, help="load processes (keep-alive each)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--threads", type=int, default=1,
                    help="gunicorn threads per worker (>1: gthread workers, which keep connections "
                         "alive)")
    ap.add_argument("--only", help="comma-separated apps to run (project, spyne, lxml)")
    ap.add_argument("--db", action="append", metavar="sqlite|postgresql|URL",
                    help="the CS's database (repeat to compare; default sqlite)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    dbs = args.db or ["sqlite"]
    targets = [("project", "ocpp_soap.central.wsgi:create_app()", MIXES),
               ("spyne", "bench.apps:bare_spyne()", ["heartbeat"]),
               ("lxml", "bench.apps:lxml_floor()", ["heartbeat"])]
    if args.only:
        targets = [t for t in targets if t[0] in args.only.split(",")]
    rows = []
    with Databases(dbs) as databases:
        for name, target, mixes in targets:
            for db in dbs if name == "project" else dbs[:1]:
                for mix in mixes:
                    port = free_port()
                    url = databases.fresh(db)
                    proc = start_server(target, port, url, workers=args.workers,
                                        threads=args.threads)
                    try:
                        if name == "project":
                            _register_tag(url)
                        label = databases.label(db) if name == "project" else "-"
                        full = load(port, mix, args.duration, args.clients)
                        rows.append({"app": name, "db": label, "mix": mix, "load": "max",
                                     **full})
                        half = load(port, mix, args.duration, args.clients,
                                    rate=full["req_per_s"] / 2)
                        rows.append({"app": name, "db": label, "mix": mix,
                                     "load": "50% of max", **half})
                    finally:
                        stop_server(proc)
    kind = (f"gthread workers x {args.threads} threads" if args.threads > 1
            else "sync workers (serve's prompt-close PromptSyncWorker)")
    print(f"gunicorn, {args.workers} {kind}; {args.clients} keep-alive load processes on "
          f"the same machine ({os.cpu_count()} cores), {args.duration:g} s each\n")
    print(table(rows, ["app", "db", "mix", "load", "req_per_s", "p50_ms", "p95_ms", "p99_ms",
                       "errors", "requests", "client_cpu_us"]))
    write_json(args.json, {"machine": machine(), "duration_s": args.duration,
                           "clients": args.clients, "workers": args.workers, "databases": dbs,
                           "rows": rows})
    return 0


class Databases:
    """Fresh databases for each run: SQLite files, or databases on a PostgreSQL server (a given
    URL, or a private cluster started here and removed at the end)."""

    def __init__(self, kinds: list[str]) -> None:
        for kind in kinds:
            if kind not in ("sqlite", "postgresql") and not kind.startswith("postgresql"):
                raise SystemExit(f"--db: expected sqlite, postgresql or a PostgreSQL URL, "
                                 f"not {kind!r}")
        self.kinds = kinds
        self.cluster = None
        self.made: list[tuple[str, str]] = []

    def __enter__(self) -> Databases:
        if "postgresql" in self.kinds:
            from ocpp_soap.central.pgcluster import PgCluster

            self.cluster = PgCluster().start()
        return self

    def fresh(self, kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tempfile.mkdtemp(prefix='ocpp-http-')}/cs.db"
        from ocpp_soap.central.testing import fresh_postgres_database

        admin = self.cluster.url if kind == "postgresql" else _driver_url(kind)
        url = fresh_postgres_database(admin)
        self.made.append((admin, url))
        return url

    def label(self, kind: str) -> str:
        if kind == "sqlite":
            return "sqlite"
        return "postgresql (private cluster)" if kind == "postgresql" else "postgresql (URL)"

    def __exit__(self, *exc: object) -> None:
        from ocpp_soap.central.testing import drop_postgres_database

        for admin, url in self.made:
            try:
                drop_postgres_database(admin, url)
            except Exception as error:  # a figure already printed must not be lost to this
                print(f"could not drop {url}: {error}", file=sys.stderr)
        if self.cluster is not None:
            self.cluster.destroy()


def _driver_url(url: str) -> str:
    """``postgresql://…`` names psycopg 3, the driver the project installs."""
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith(
        "postgresql://") else url


def _register_tag(db_url: str) -> None:
    """The load's StartTransactions use one tag that may run many transactions at once."""
    from ocpp_soap.central.domain import CentralSystem
    from ocpp_soap.central.settings import CentralSettings

    central = CentralSystem.open(CentralSettings(db_url=db_url))
    central.admin.add_tag("LOADTAG", max_active_transactions=1_000_000)
    central.store.dispose()


if __name__ == "__main__":
    sys.exit(main())
