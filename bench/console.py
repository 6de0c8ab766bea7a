"""Server time of the web console's overview with a big fleet (target: under 300 ms).

Fills a fresh database with ``--boxes`` charge boxes (default 1,000) and ``--connectors`` status
rows (default 5,000: 4 connectors and connector 0 per box), some boxes online, some offline, some
never seen, 10 % of the connectors charging with an open transaction and a few hundred
transactions finished today; then times the overview page as the server renders it: a WSGI call
of the whole Central System application with a logged-in session cookie (routing, session check,
the admin layer's queries, Jinja rendering), no network. Also the live-refresh JSON and a sorted,
filtered page. Run: ``python bench/console.py [--boxes N] [--connectors N] [--number 40]
[--db URL | --postgres] [--json FILE]``.
"""

from __future__ import annotations

import os
import sys

# This folder holds ``http.py``; as sys.path[0] it would hide the standard library's ``http``.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.test import Client  # noqa: E402

from bench._common import machine, table, write_json  # noqa: E402
from ocpp_soap.central.storage.models import (  # noqa: E402
    ChargeBox,
    ConnectorStatus,
    Transaction,
)
from ocpp_soap.central.timeutil import utc_now  # noqa: E402
from ocpp_soap.central.wsgi import create_app  # noqa: E402

STATUSES = ("Available", "Available", "Available", "Preparing", "SuspendedEV", "Faulted",
            "Unavailable", "Finishing")


def fill(app, boxes: int, connectors: int) -> dict[str, int]:
    """Rows as the domain would have left them after a day of traffic, written in bulk."""
    now = utc_now()
    per_box = max(1, connectors // boxes)
    counts = {"boxes": 0, "connectors": 0, "open": 0, "finished": 0}

    def work(session) -> None:
        for i in range(boxes):
            box_id = f"CB{i:05d}"
            seen = None if i % 10 == 9 else now - timedelta(seconds=30 if i % 10 < 7 else 3600)
            session.add(ChargeBox(
                charge_box_id=box_id, registration_status="Pending" if i % 50 == 49
                else "Accepted", ocpp_version="1.5" if i % 4 == 0 else "1.6",
                charge_point_vendor=("Alfen", "ABB", "Mennekes", "KEBA")[i % 4],
                charge_point_model=f"M{i % 7}", charge_point_serial_number=f"SN{i:08d}",
                endpoint_address=f"http://10.{i // 250}.{i % 250}.1:8080/ocpp",
                endpoint_source="from", last_seen_at=seen, last_boot_at=seen,
                created_at=now, updated_at=now))
            counts["boxes"] += 1
        session.flush()
        n = 0
        for i in range(boxes):
            box_id = f"CB{i:05d}"
            for c in range(per_box):
                if n >= connectors:
                    break
                charging = c > 0 and (i + c) % 10 == 0
                status = "Charging" if charging else STATUSES[(i + c) % len(STATUSES)]
                session.add(ConnectorStatus(charge_box_id=box_id, connector_id=c, status=status,
                                            error_code="NoError", timestamp=now,
                                            received_at=now))
                n += 1
                if charging:
                    session.add(Transaction(charge_box_id=box_id, connector_id=c, id_tag="T",
                                            meter_start=1000, start_timestamp=now -
                                            timedelta(minutes=30), created_at=now))
                    counts["open"] += 1
        counts["connectors"] = n
        for k in range(boxes // 3):
            session.add(Transaction(charge_box_id=f"CB{k:05d}", connector_id=1, id_tag="T",
                                    meter_start=0, meter_stop=12_000, start_timestamp=now -
                                    timedelta(hours=2), stop_timestamp=now - timedelta(hours=1),
                                    created_at=now))
            counts["finished"] += 1

    app.central.store.write(work)
    return counts


def login(client: Client) -> None:
    page = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = client.post("/ui/login", data={"csrf": token, "name": "bench",
                                            "password": "bench password"})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]


def timed(client: Client, path: str, number: int) -> dict[str, float]:
    for _ in range(3):  # warm: templates compiled, caches filled
        assert client.get(path).status_code == 200, path
    runs = []
    size = 0
    for _ in range(number):
        t0 = time.perf_counter()
        response = client.get(path)
        body = response.get_data()
        runs.append((time.perf_counter() - t0) * 1000)
        size = len(body)
    runs.sort()
    return {"median_ms": statistics.median(runs), "p95_ms": runs[int(len(runs) * 0.95) - 1],
            "max_ms": runs[-1], "kib": size / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=1000)
    parser.add_argument("--connectors", type=int, default=5000)
    parser.add_argument("--number", type=int, default=40, help="requests timed per page")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a private throw-away PostgreSQL cluster instead")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if args.postgres:
        from ocpp_soap.central.pgcluster import PgCluster
        from ocpp_soap.central.testing import fresh_postgres_database

        with PgCluster() as cluster:
            return run(args, fresh_postgres_database(cluster.url))
    folder = tempfile.mkdtemp(prefix="bench-console-")
    return run(args, args.db or f"sqlite:///{folder}/cs.db")


def run(args: argparse.Namespace, db: str) -> int:
    app = create_app(db_url=db, envelope_log=False)
    try:
        t0 = time.perf_counter()
        counts = fill(app, args.boxes, args.connectors)
        app.central.accounts.add("bench", "viewer", "bench password")
        print(f"filled {counts} in {time.perf_counter() - t0:.1f} s ({db.split(':')[0]})")
        client = Client(app)
        login(client)
        pages = {
            "overview (page 1 of the box list)": "/ui/",
            "overview, live refresh JSON": "/ui/live/overview",
            "overview sorted by last seen, filtered online + text": "/ui/?sort=seen&dir=desc"
                                                                    "&status=online&q=alfen",
            "overview, page 20": "/ui/?page=20",
        }
        rows = []
        for name, path in pages.items():
            rows.append({"page": name, **timed(client, path, args.number)})
        print(table(rows, ["page", "median_ms", "p95_ms", "max_ms", "kib"]))
        worst = max(r["median_ms"] for r in rows)
        print(f"target: overview under 300 ms server time; slowest median {worst:.1f} ms")
        write_json(args.json, {"machine": machine(), "settings": vars(args), "counts": counts,
                               "results": rows})
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
