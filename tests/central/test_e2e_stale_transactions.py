"""Stale transactions (issue 14, item 4), end to end: the simulator, the Central System over real
HTTP in both versions, the CLI and the API.

A box that crashes leaves its transaction open. Its next StartTransaction on that connector closes
the old one (stop value: the last reading known, reason Other, closed by the Central System with
why), so the tag is not locked out. BootNotification closes nothing. A late StopTransaction for the
closed transaction still stores its data and fixes the stop values. Operators close transactions
with ``central transactions close ID`` and ``POST /api/v1/transactions/{id}/close``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from ocpp_soap.central.cli import main
from ocpp_soap.chargepoint import ChargePoint, Scheduler
from ocpp_soap.soap.client import OcppClient
from tests.central.behaviour_support import BACKENDS, db_url
from tests.central.test_e2e_support import InProcessCS
from tests.chargepoint.test_e2e_support import wait_until

KEYS = {"MeterValueSampleInterval": 1, "HeartbeatInterval": 60}


def _sim(cs: InProcessCS, version: str) -> ChargePoint:
    cp = ChargePoint("CBX", cs.soap_url(version), version, 2, {"keys": dict(KEYS)},
                     None, scheduler=Scheduler(workers=4), timeout=5.0)
    cp.serve("127.0.0.1", 0)
    cp.start()
    wait_until(lambda: cp.core.registration == "Accepted", 10, "boot")
    return cp


def _close(cp: ChargePoint) -> None:
    cp.close()
    cp.scheduler.shutdown()


def _charging(cs, cp, connector: int, tag: str) -> dict:
    """Start a session on ``connector`` and wait for its transaction and a reading at the CS."""
    cp.swipe(tag, connector)
    cp.plug(connector)

    def running():
        rows = [t for t in cs.admin.list_transactions(charge_box_id="CBX", active=True)
                if t["connector_id"] == connector]
        if rows and cs.admin.list_meter_values(transaction_id=rows[0]["id"]):
            return rows[0]
        return None

    return wait_until(running, 15, f"a metered transaction on connector {connector}")


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_stale_transactions_end_to_end(tmp_path, version, capsys):
    with InProcessCS(tmp_path / "cs.db", unknown_chargebox="accept") as cs:
        cs.admin.add_tag("T1", max_active_transactions=1)
        cp = _sim(cs, version)
        try:
            old = _charging(cs, cp, 1, "T1")
        finally:
            _close(cp)  # power lost: no StopTransaction
        assert cs.admin.get_transaction(old["id"])["stop_timestamp"] is None

        cp = _sim(cs, version)  # a new box without state: boots, which closes nothing
        try:
            assert cs.admin.get_transaction(old["id"])["stop_timestamp"] is None
            new = _charging(cs, cp, 1, "T1")
            assert new["id"] != old["id"] and new["start_status"] == "Accepted"
            closed = cs.admin.get_transaction(old["id"])
            readings = [s for s in cs.admin.list_meter_values(transaction_id=old["id"])
                        if s["measurand"] in (None, "Energy.Active.Import.Register")]
            last = readings[-1]
            factor = 1000 if last["unit"] == "kWh" else 1
            assert closed["meter_stop"] == round(float(last["value"]) * factor)
            assert closed["meter_stop"] >= closed["meter_start"]
            assert (closed["stop_reason"], closed["closed_by"]) == ("Other", "central-system")
            assert "StartTransaction on connector 1" in closed["close_note"]
            assert closed["closed_at"] and closed["stop_timestamp"]

            # The old box's StopTransaction arrives late: its data and stop values are kept.
            client = OcppClient(version, "CentralSystemService", "CBX", cs.soap_url(version))
            late = datetime.now(UTC).replace(microsecond=0)
            stop = {"transactionId": old["id"], "meterStop": closed["meter_stop"] + 7,
                    "timestamp": late, "idTag": "T1",
                    "transactionData": [{"timestamp": late, "sampledValue": [
                        {"value": str(closed["meter_stop"] + 7)}]}]}
            if version == "1.6":
                stop["reason"] = "PowerLoss"
            client.call("StopTransaction", stop)
            fixed = cs.admin.get_transaction(old["id"])
            assert fixed["meter_stop"] == closed["meter_stop"] + 7
            assert fixed["stop_timestamp"] == late.isoformat()
            assert fixed["stop_reason"] == ("PowerLoss" if version == "1.6" else None)
            assert fixed["closed_by"] == "central-system" and fixed["stop_count"] == 1
            assert any(s["source"] == "StopTransaction" and
                       s["value"] == str(closed["meter_stop"] + 7)
                       for s in cs.admin.list_meter_values(transaction_id=old["id"]))

            # An operator closes the running one from the CLI ...
            db = ["--db", cs.db_url]
            assert main(["transactions", "close", str(new["id"]), "--meter-stop", "123456",
                         "--reason", "Remote", "--note", "box offline", *db]) == 0
            out = capsys.readouterr().out
            assert f"closed transaction {new['id']} at meter 123456" in out
            by_cli = cs.admin.get_transaction(new["id"])
            assert by_cli["closed_by"].startswith("cli") and by_cli["closed_at"]
            assert (by_cli["stop_reason"], by_cli["close_note"]) == ("Remote", "box offline")
            assert main(["transactions", "close", str(new["id"]), *db]) == 1
            assert "stopped already" in capsys.readouterr().err
            assert main(["transactions", "close", "999999", *db]) == 2
            assert main(["transactions", "close", str(new["id"]), "--reason", "Bored",
                         *db]) == 2
            # ... the listing works as before ...
            assert main(["transactions", "--chargebox", "CBX", "--json", *db]) == 0
            assert "closed_by" in capsys.readouterr().out

            # ... and another through the API.
            cp.unplug(1)
            other = _charging(cs, cp, 2, "T1")
            url = cs.url + f"/api/v1/transactions/{other['id']}/close"
            r = requests.post(url, json={"reason": "Sideways"}, timeout=10)
            assert r.status_code == 422
            r = requests.post(url, json={"note": "x\x00" * 2000}, timeout=10)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["closed_by"] == "api (127.0.0.1)" and body["stop_reason"] == "Other"
            assert len(body["close_note"]) <= 1000 and "\x00" not in body["close_note"]
            assert requests.post(url, json={}, timeout=10).status_code == 409
            r = requests.post(cs.url + "/api/v1/transactions/abc/close", timeout=10)
            assert r.status_code == 404
        finally:
            _close(cp)


@pytest.fixture(params=BACKENDS)
def backend_url(request, tmp_path):
    return db_url(request, tmp_path)


def test_closing_on_each_backend(backend_url):
    """The same rules on SQLite and PostgreSQL (row locks, kWh readings, a late stop)."""
    from ocpp_soap.central.domain import CentralSystem
    from ocpp_soap.central.settings import CentralSettings
    from ocpp_soap.central.testing import Ctx
    central = CentralSystem.open(CentralSettings(db_url=backend_url))
    try:
        central.admin.add_chargebox("CB1")
        central.admin.add_tag("T1", max_active_transactions=1)
        t0 = datetime(2026, 5, 1, 8, tzinfo=UTC)
        first = central.start_transaction(Ctx(), {"connectorId": 1, "idTag": "T1",
                                                  "meterStart": 1000, "timestamp": t0})
        central.meter_values(Ctx(), {"connectorId": 1, "transactionId": first["transactionId"],
                                     "meterValue": [{"timestamp": t0.replace(hour=9),
                                                     "sampledValue": [{"value": "2.5",
                                                                       "unit": "kWh"}]}]})
        second = central.start_transaction(Ctx(), {"connectorId": 1, "idTag": "t1",
                                                   "meterStart": 2600,
                                                   "timestamp": t0.replace(hour=10)})
        assert second["idTagInfo"]["status"] == "Accepted"
        tx = central.admin.get_transaction(first["transactionId"])
        assert (tx["meter_stop"], tx["stop_timestamp"]) == (2500, t0.replace(hour=9).isoformat())
        # BootNotification closes nothing
        central.boot(Ctx(action="BootNotification"), {"chargePointVendor": "V",
                                                      "chargePointModel": "M"})
        assert central.admin.get_transaction(second["transactionId"])["stop_timestamp"] is None
        closed = central.admin.close_transaction(second["transactionId"], by="tester")
        assert (closed["meter_stop"], closed["closed_by"]) == (2600, "tester")
    finally:
        central.store.dispose()
