"""A SQLite lock held by another program longer than the storage wait: a fault, then nothing lost.

``central serve`` (gunicorn, 2 workers) with ``storage_wait`` of 3 s. Another program (here a
plain ``sqlite3`` connection, as a backup or a shell would) takes the write lock and keeps it
until every charger has been answered. Chargers writing meanwhile get ``Receiver/InternalError`` naming a storage
outage well within the worker timeout (never a dropped connection or a bare 500); reads go on.
Once the lock is released, the messages they send again are stored, each once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage.models import MeterSample, Transaction
from ocpp_soap.central.storage.outage import OUTAGE_TEXT
from ocpp_soap.soap.client import OcppClient, RemoteFault
from tests.central.test_e2e_support import GunicornCS, rows

WORKER_TIMEOUT = 30


def test_lock_outlasting_the_wait(tmp_path):
    db = tmp_path / "cs.db"
    url = f"sqlite:///{db}"
    for n in range(3):
        assert main(["chargebox", "add", f"LOCK{n}", "--db", url]) == 0
        assert main(["tag", "add", f"TAG{n}", "--db", url]) == 0
    env = {"OCPP_SOAP_STORAGE_WAIT": "3", "OCPP_SOAP_SQLITE_BUSY_TIMEOUT_MS": "2000"}
    with GunicornCS(db, "--log-level", "warning", env=env) as cs:
        cps = [OcppClient("1.6", "CentralSystemService", f"LOCK{n}", cs.soap_url(), timeout=60)
               for n in range(3)]
        started = {}
        for n, cp in enumerate(cps):
            cp.call("BootNotification", {"chargePointVendor": "L", "chargePointModel": "T"})
            started[n] = {"connectorId": 1, "idTag": f"TAG{n}", "meterStart": n * 1000,
                          "timestamp": datetime.now(UTC)}

        # The lock is held until every charger has had its answer: longer than any wait.
        holder = sqlite3.connect(db, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE charge_boxes SET description = 'held' WHERE 0")
        outcomes = []

        def start(n: int) -> None:
            began = time.monotonic()
            try:
                cps[n].call("StartTransaction", started[n])
                outcomes.append(("ok", time.monotonic() - began))
            except RemoteFault as exc:
                outcomes.append((str(exc.fault), time.monotonic() - began))
            except Exception as exc:
                outcomes.append((repr(exc), time.monotonic() - began))

        threads = [threading.Thread(target=start, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        assert cps[0].call("Heartbeat", {})["currentTime"]  # reads go on meanwhile
        for t in threads:
            t.join(3 * WORKER_TIMEOUT)
        holder.execute("COMMIT")
        holder.close()
        assert len(outcomes) == 3
        for text, elapsed in outcomes:
            assert text == f"Receiver/InternalError: {OUTAGE_TEXT}", outcomes
            assert elapsed < WORKER_TIMEOUT
        # The chargers send again (same messages): stored once each.
        ids = [cps[n].call("StartTransaction", started[n])["transactionId"] for n in range(3)]
        for n, cp in enumerate(cps):
            cp.call("MeterValues", {"connectorId": 1, "transactionId": ids[n], "meterValue": [{
                "timestamp": datetime.now(UTC), "sampledValue": [{"value": str(n * 1000 + 5)}]}]})
        assert "handler failed" not in cs.log()
    txs = rows(url, Transaction)
    assert sorted((t.charge_box_id, t.meter_start) for t in txs) == [
        ("LOCK0", 0), ("LOCK1", 1000), ("LOCK2", 2000)]
    assert sorted(s.value for s in rows(url, MeterSample)) == ["1005", "2005", "5"]
