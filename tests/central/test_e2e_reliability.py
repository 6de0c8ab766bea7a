"""Reliability under load (issue "Benchmarks and load"), bounded and on loopback only.

1. 20 chargers (threads, each with its own zeep client) run full transactions for ~10 s against
   ``ocpp-soap central serve --workers 2`` on one SQLite file: no request fails, every
   transaction is stored exactly once with its meterStart/meterStop, no meter sample is lost.
2. A charge point that accepts the connection and never answers: a command to it times out
   within the configured time, and 20 such commands at once do not stop the CS from serving
   chargers — sent by commanders on the same database (as the CLI sends them), and through the
   JSON API of a server with threaded workers (``--threads``: with sync workers each waiting
   API command holds a whole worker, see ``serve``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from ocpp_soap.central.app import CentralApp, ServeOptions
from ocpp_soap.central.commander import CommandFailed
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.central.storage.models import CommandLog, MeterSample, Transaction
from ocpp_soap.soap.client import OcppClient
from tests.central.test_e2e_support import GunicornCS, SilentPeer, rows

CS = "CentralSystemService"
CHARGERS = 20
DURATION = 10.0
METER_MESSAGES = 3   # MeterValues per transaction
SAMPLES_PER_MESSAGE = 2


def _now():
    return datetime.now(UTC)


def _charger(url: str, n: int, stop_at: float, errors: list, done: dict) -> None:
    box = f"LOAD{n:02d}"
    cp = OcppClient("1.6", CS, box, url, timeout=30)
    mine: list[tuple[int, int, int, int]] = []  # (tx, meterStart, meterStop, samples)
    try:
        cp.call("BootNotification", {"chargePointVendor": "Load", "chargePointModel": "T"})
        cp.call("StatusNotification", {"connectorId": 1, "status": "Available",
                                       "errorCode": "NoError"})
        meter = n * 1_000_000
        while time.monotonic() < stop_at:
            start = meter
            reply = cp.call("StartTransaction", {"connectorId": 1, "idTag": f"TAG{n:02d}",
                                                 "meterStart": start, "timestamp": _now()})
            assert reply["idTagInfo"]["status"] == "Accepted", reply
            tx = reply["transactionId"]
            for _ in range(METER_MESSAGES):
                meter += 100
                cp.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [{
                    "timestamp": _now(), "sampledValue": [
                        {"value": str(meter), "measurand": "Energy.Active.Import.Register",
                         "unit": "Wh"},
                        {"value": "16", "measurand": "Current.Import", "unit": "A"}]}]})
            meter += 100
            cp.call("StopTransaction", {"transactionId": tx, "meterStop": meter,
                                        "timestamp": _now(), "transactionData": [{
                                            "timestamp": _now(),
                                            "sampledValue": [{"value": str(meter)}]}]})
            mine.append((tx, start, meter, METER_MESSAGES * SAMPLES_PER_MESSAGE + 1))
            cp.call("Heartbeat", {})
    except Exception as exc:  # every failure is a finding
        errors.append(f"{box}: {exc!r}")
    done[box] = mine


@pytest.fixture
def gunicorn_cs(tmp_path):
    from ocpp_soap.central.cli import main

    db = tmp_path / "load.db"
    url = f"sqlite:///{db}"
    for n in range(CHARGERS):
        assert main(["chargebox", "add", f"LOAD{n:02d}", "--db", url]) == 0
        assert main(["tag", "add", f"TAG{n:02d}", "--db", url]) == 0
    cs = GunicornCS(db, "--log-level", "warning", workers=2)
    yield cs
    assert cs.stop() == 0, cs.log()[-3000:]


def test_twenty_chargers_full_transactions(gunicorn_cs):
    cs = gunicorn_cs
    errors: list[str] = []
    done: dict[str, list] = {}
    stop_at = time.monotonic() + DURATION
    threads = [threading.Thread(target=_charger, args=(cs.soap_url(), n, stop_at, errors, done))
               for n in range(CHARGERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DURATION + 60)
    assert not errors, errors[:5]
    assert len(done) == CHARGERS

    expected = {tx: (start, stop, samples) for mine in done.values()
                for tx, start, stop, samples in mine}
    assert len(expected) >= CHARGERS  # every charger finished at least one transaction
    txs = rows(cs.db_url, Transaction)
    assert len(txs) == len(expected)  # exactly once: no duplicates, no strays
    for tx in txs:
        start, stop, _ = expected[tx.id]
        assert (tx.meter_start, tx.meter_stop, tx.stop_count, tx.orphan) == \
            (start, stop, 1, False), tx.id
    per_tx = Counter(s.transaction_id for s in rows(cs.db_url, MeterSample))
    assert per_tx == Counter({tx: samples for tx, (_, _, samples) in expected.items()})


def test_silent_charge_point_times_out_and_cs_keeps_serving(gunicorn_cs):
    from ocpp_soap.central.cli import main

    cs = gunicorn_cs
    silent = SilentPeer()
    try:
        url = cs.db_url
        assert main(["chargebox", "add", "SILENT", "--endpoint", silent.url, "--version", "1.6",
                     "--db", url]) == 0
        # One command through the CLI: exit 1 after the --timeout, not the 30 s default.
        started = time.monotonic()
        assert main(["call", "SILENT", "Reset", "type=Soft", "--timeout", "1", "--db", url]) == 1
        assert 0.9 <= time.monotonic() - started < 5

        app = CentralApp(CentralSettings(db_url=url, command_timeout=1.5), ServeOptions())
        charger = OcppClient("1.6", CS, "LOAD00", cs.soap_url(), timeout=5)
        charger.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})

        def command(i: int) -> tuple[str, float]:
            t0 = time.monotonic()
            try:
                app.commander.send("SILENT", "Reset", {"type": "Soft"})
            except CommandFailed as exc:
                return exc.kind, time.monotonic() - t0
            return "reply", time.monotonic() - t0

        latencies = []
        with ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(command, i) for i in range(20)]
            # Meanwhile a charger keeps talking to the CS.
            while not all(f.done() for f in futures):
                t0 = time.monotonic()
                charger.call("Heartbeat", {})
                latencies.append(time.monotonic() - t0)
                time.sleep(0.05)
            outcomes = [f.result() for f in futures]
        app.close()
        assert all(kind == "timeout" for kind, _ in outcomes), outcomes
        assert all(1.4 <= took < 5 for _, took in outcomes), outcomes
        assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
        logged = [r for r in rows(url, CommandLog) if r.charge_box_id == "SILENT"]
        assert len(logged) == 21 and {r.outcome for r in logged} == {"timeout"}
    finally:
        silent.close()


def test_silent_charge_point_via_api_with_threaded_workers(tmp_path):
    from ocpp_soap.central.cli import main

    db = tmp_path / "api.db"
    url = f"sqlite:///{db}"
    silent = SilentPeer()
    assert main(["chargebox", "add", "SILENT", "--endpoint", silent.url, "--db", url]) == 0
    assert main(["chargebox", "add", "CB1", "--db", url]) == 0
    cs = GunicornCS(db, "--threads", "16", "--command-timeout", "1", "--api-token", "s3cret",
                    "--log-level", "warning", workers=2)
    try:
        op_url = cs.url + "/api/v1/chargeboxes/SILENT/operations/Reset"
        assert requests.post(op_url, json={"type": "Soft"}, timeout=5).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        charger = OcppClient("1.6", CS, "CB1", cs.soap_url(), timeout=5)
        charger.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})

        def command(_):
            t0 = time.monotonic()
            r = requests.post(op_url, json={"type": "Soft"}, headers=auth, timeout=30)
            return r.status_code, time.monotonic() - t0

        latencies = []
        with ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(command, i) for i in range(20)]
            while not all(f.done() for f in futures):
                t0 = time.monotonic()
                charger.call("Heartbeat", {})
                latencies.append(time.monotonic() - t0)
                time.sleep(0.05)
            outcomes = [f.result() for f in futures]
        assert all(code == 504 for code, _ in outcomes), outcomes
        assert all(0.9 <= took < 5 for _, took in outcomes), outcomes
        assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
        boxes = requests.get(cs.url + "/api/v1/chargeboxes", headers=auth, timeout=5).json()
        assert {b["charge_box_id"] for b in boxes["items"]} == {"SILENT", "CB1"}
    finally:
        silent.close()
        assert cs.stop() == 0, cs.log()[-3000:]
    logged = rows(url, CommandLog)
    assert len(logged) == 20 and {r.outcome for r in logged} == {"timeout"}
