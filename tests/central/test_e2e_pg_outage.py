"""PostgreSQL taken away under load: chargers get faults, not hangs, and nothing is lost.

Ten simulated chargers run transactions against ``ocpp-soap central serve --workers 2`` on a
PostgreSQL cluster of the test's own (never a shared server). Then:

- the server is restarted (down for a few seconds): while it is down every request is answered
  with ``Receiver/InternalError`` naming a storage outage, never a dropped connection, a bare 500
  or a hang past the worker timeout; from 5 s after it is back every request succeeds, without
  restarting the Central System;
- every backend is killed with ``pg_terminate_backend`` several times mid-load: the same;
- either way, every acknowledged StartTransaction, StopTransaction and MeterValues is stored,
  once. The JSON API answers 503 with a JSON error while the database is down.

A row lock held by another session longer than ``storage_wait`` is the same kind of outage for
the writes that need the row (``lock_timeout``), on the shared test server.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import create_engine, text

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage.models import ConnectorStatus
from ocpp_soap.central.storage.outage import OUTAGE_TEXT
from ocpp_soap.soap.client import OcppClient, RemoteFault
from tests.central.storage_faults_support import check_nothing_lost, run_chargers
from tests.central.test_e2e_support import GunicornCS, InProcessCS, rows

CHARGERS = 10
WORKER_TIMEOUT = 30  # what ``central serve`` gives gunicorn (30 s above the command timeout)


def _register(url: str) -> None:
    for n in range(CHARGERS):
        assert main(["chargebox", "add", f"OUT{n:02d}", "--db", url]) == 0
        assert main(["tag", "add", f"TAG{n:02d}", "--db", url]) == 0


def _check_calls(chargers, back_at: float) -> None:
    calls = [c for ch in chargers for c in ch.calls]
    assert sum(c.outcome == "ok" for c in calls) > 100, "the load did not run"
    odd = [(c.action, c.outcome) for c in calls if c.outcome not in ("ok", "outage")]
    assert odd == [], odd[:10]
    assert max(c.elapsed for c in calls) < WORKER_TIMEOUT
    late = [(c.action, c.outcome) for c in calls if c.began > back_at + 5 and c.outcome != "ok"]
    assert late == [], late[:10]


def test_restart_under_load(private_pg_cluster, tmp_path):
    cluster = private_pg_cluster
    _register(cluster.url)
    downs: list[str] = []
    back_at = 0.0
    with GunicornCS(tmp_path / "cs.db", "--log-level", "warning", db_url=cluster.url) as cs:
        def outage() -> None:
            nonlocal back_at
            time.sleep(3)
            cluster.stop()
            time.sleep(1)
            api = requests.get(cs.url + "/api/v1/chargeboxes", timeout=WORKER_TIMEOUT)
            downs.append(f"{api.status_code} {api.headers.get('Content-Type')} {api.json()}")
            time.sleep(2)
            cluster.start()
            back_at = time.monotonic()
            time.sleep(8)

        chargers = run_chargers(cs.soap_url(), CHARGERS, outage)
        api = requests.get(cs.url + "/api/v1/chargeboxes", timeout=10)
        assert api.status_code == 200
        assert "Traceback" not in cs.log(), cs.log()[-3000:]  # every failure named an outage
    assert len(downs) == 1 and downs[0].startswith("503 application/json"), downs
    assert "storage outage" in downs[0]
    assert any(c.outcome == "outage" for ch in chargers for c in ch.calls), \
        "no request met the outage"
    _check_calls(chargers, back_at)
    check_nothing_lost(cluster.url, chargers)


def test_backends_terminated_under_load(private_pg_cluster, tmp_path):
    cluster = private_pg_cluster
    _register(cluster.url)
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    killed: list[int] = []
    back_at = 0.0
    with GunicornCS(tmp_path / "cs.db", "--log-level", "warning", db_url=cluster.url) as cs:
        def terminate() -> None:
            nonlocal back_at
            time.sleep(3)
            for _ in range(4):
                with admin.connect() as conn:
                    killed.append(conn.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )).scalar_one())
                time.sleep(1)
            back_at = time.monotonic()
            time.sleep(7)

        chargers = run_chargers(cs.soap_url(), CHARGERS, terminate)
        assert "Traceback" not in cs.log(), cs.log()[-3000:]
    admin.dispose()
    assert sum(killed) >= 4, killed
    _check_calls(chargers, back_at)
    check_nothing_lost(cluster.url, chargers)


def test_row_lock_held_elsewhere(pg_url, tmp_path):
    """A box's row locked by another session (an operator's open transaction) for longer than
    ``storage_wait``: that box's writes get the storage-outage fault, reads go on, and once the
    lock is gone the message sent again is stored once."""
    with InProcessCS(tmp_path / "cs.db", db_url=pg_url, storage_wait=2) as cs:
        cs.admin.add_chargebox("CB1")
        cp = OcppClient("1.6", "CentralSystemService", "CB1", cs.soap_url(), timeout=60)
        cp.call("Heartbeat", {})
        status = {"connectorId": 1, "status": "Charging", "errorCode": "NoError",
                  "timestamp": datetime.now(UTC)}
        other = create_engine(pg_url)
        with other.connect() as conn:
            conn.execute(text("SELECT * FROM charge_boxes WHERE charge_box_id = 'CB1'"
                              " FOR UPDATE"))
            with pytest.raises(RemoteFault) as caught:
                cp.call("StatusNotification", status)
            fault = caught.value.fault
            assert (fault.code, fault.subcode, fault.reason) == (
                "Receiver", "InternalError", OUTAGE_TEXT)
            assert cp.call("Heartbeat", {})["currentTime"]  # reads never wait for the lock
            conn.rollback()
        other.dispose()
        cp.call("StatusNotification", status)
        (row,) = rows(pg_url, ConnectorStatus)
        assert row.status == "Charging"
