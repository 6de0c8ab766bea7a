"""The simulator over real HTTP against a small Central System: sessions, commands, outage, faults."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from ocpp_soap.chargepoint._config import key_defs
from ocpp_soap.soap.client import RemoteFault
from tests.chargepoint.test_e2e_support import (
    ProjectCentral,
    TestCentral,
    close_cp,
    cs_client,
    start_cp,
    status_of,
    wait_until,
)

FAST = {"MeterValueSampleInterval": 1}


@pytest.fixture(params=["test CS", "project CS"])
def cs(request, tmp_path):
    """Each session test runs against a small in-memory CS and against the project's own."""
    if request.param == "project CS":
        central = ProjectCentral(tmp_path / "cs.db").start()
    else:
        central = TestCentral().start()
    yield central
    central.stop()


@pytest.fixture
def make_cp(cs):
    made = []

    def make(version="1.6", **kw):
        cp = start_cp(cs, version, **kw)
        made.append(cp)
        return cp

    yield make
    for cp in made:
        close_cp(cp)


def _start_remote(cs, cp, tag="ABC"):
    client = cs_client(cp)
    assert client.call("RemoteStartTransaction", {"idTag": tag, "connectorId": 1}) == {"status": "Accepted"}
    cp.plug(1)
    start = cs.wait_for("StartTransaction")[-1]
    tx = wait_until(lambda: (cp.state()["connectors"][0]["transaction"] or {}).get("confirmed")
                    and cp.state()["connectors"][0]["transaction"]["id"], 5, "confirmed transaction")
    return client, start, tx


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_remote_session_with_meter_values(cs, make_cp, version):
    cp = make_cp(version, keys=FAST, vendor="DBT", model="CX")
    boot = cs.of("BootNotification")[0]
    assert (boot["chargePointVendor"], boot["chargePointModel"]) == ("DBT", "CX")
    assert cs.of("StatusNotification")[-1]["status"] == "Available"

    client, start, tx = _start_remote(cs, cp)
    assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, "ABC", 0)
    assert tx == 1
    values = cs.wait_for("MeterValues", 2, timeout=4)
    assert all(v["transactionId"] == tx for v in values)
    readings = [float(v["meterValue"][0]["sampledValue"][0]["value"]) for v in values]
    assert readings == sorted(readings) and readings[-1] > 0
    assert status_of(cp) == ("Charging" if version == "1.6" else "Occupied")

    assert client.call("RemoteStopTransaction", {"transactionId": tx}) == {"status": "Accepted"}
    stop = cs.wait_for("StopTransaction")[0]
    assert stop["transactionId"] == tx
    assert stop["meterStop"] >= readings[-1]
    assert abs(stop["meterStop"] - cp.state()["connectors"][0]["meter_wh"]) <= 1
    if version == "1.6":
        assert stop["reason"] == "Remote"
        assert status_of(cp) == "Finishing"
    else:
        assert "reason" not in stop
    order = [a for a in cs.actions() if a in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert order[0] == "StartTransaction" and order[-1] == "StopTransaction"


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_change_availability_scheduled_during_transaction(cs, make_cp, version):
    cp = make_cp(version)
    client, _, tx = _start_remote(cs, cp)
    reply = client.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    assert reply == {"status": "Scheduled"}
    assert cp.state()["connectors"][0]["scheduled_availability"] == "Inoperative"
    client.call("RemoteStopTransaction", {"transactionId": tx})
    cs.wait_for("StopTransaction")
    wait_until(lambda: status_of(cp) == "Unavailable", 3, "Unavailable")
    cs.wait(lambda: any(p["status"] == "Unavailable" and p["connectorId"] == 1
                        for p in cs.of("StatusNotification")), 3, "Unavailable notification")
    assert client.call("ChangeAvailability", {"connectorId": 1, "type": "Operative"}) == {"status": "Accepted"}


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_hard_reset_stops_transaction_and_boots_again(cs, make_cp, version):
    cp = make_cp(version)
    client, _, tx = _start_remote(cs, cp)
    assert client.call("Reset", {"type": "Hard"}) == {"status": "Accepted"}
    stop = cs.wait_for("StopTransaction")[0]
    assert stop["transactionId"] == tx
    if version == "1.6":
        assert stop["reason"] == "HardReset"
    cs.wait_for("BootNotification", 2)
    wait_until(lambda: cp.state()["registration"] == "Accepted", 3, "registered again")
    assert cp.state()["connectors"][0]["transaction"] is None


def test_connection_timeout_expires(cs, make_cp):
    cp = make_cp("1.6", keys={"ConnectionTimeOut": 1})
    client = cs_client(cp)
    assert client.call("RemoteStartTransaction", {"idTag": "LATE", "connectorId": 1}) == {"status": "Accepted"}
    wait_until(lambda: status_of(cp) == "Preparing", 2, "Preparing")
    wait_until(lambda: cp.state()["connectors"][0]["pending_id_tag"] is None, 3, "the idTag to expire")
    cs.wait(lambda: cs.of("StatusNotification")[-1]["status"] == "Available", 3, "Available again")
    cp.plug(1)
    time.sleep(0.2)
    assert cs.of("StartTransaction") == []


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_get_and_change_every_standard_key(cs, make_cp, version):
    cp = make_cp(version)
    client = cs_client(cp)
    got = client.call("GetConfiguration", {})
    defs = {k.name: k for k in key_defs(version, 1)}
    assert {k["key"] for k in got["configurationKey"]} == set(defs)
    for name, kd in defs.items():
        value = {"int": "7", "bool": "true", "str": "x"}.get(kd.type) or kd.default or "Energy.Active.Import.Register"
        if name == "ClockAlignedDataInterval":
            value = "0"
        status = client.call("ChangeConfiguration", {"key": name, "value": value})["status"]
        if kd.readonly:
            assert status == "Rejected", name
        elif kd.reboot_required and version == "1.6":
            assert status == "RebootRequired", name
        else:
            assert status == "Accepted", name
    assert client.call("ChangeConfiguration", {"key": "NoSuchKey", "value": "1"}) == {"status": "NotSupported"}
    assert client.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "soon"}) == {"status": "Rejected"}
    listed = client.call("GetConfiguration", {"key": ["ConnectionTimeOut", "NoSuchKey"]})
    assert listed["configurationKey"] == [{"key": "ConnectionTimeOut", "readonly": False, "value": "7"}]
    assert listed["unknownKey"] == ["NoSuchKey"]


def test_charging_profile_lowers_power_in_meter_values(cs, make_cp):
    cp = make_cp("1.6", keys={"MeterValueSampleInterval": 1,
                              "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"})
    client, _, tx = _start_remote(cs, cp)

    def power(mv):
        return next(float(s["value"]) for s in mv["meterValue"][0]["sampledValue"]
                    if s.get("measurand") == "Power.Active.Import")

    first = cs.wait_for("MeterValues")[0]
    assert power(first) == pytest.approx(11000, rel=0.01)
    profile = {"chargingProfileId": 1, "transactionId": tx, "stackLevel": 0,
               "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "W",
                                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3680.0}]}}
    reply = client.call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile})
    assert reply == {"status": "Accepted"}
    n = len(cs.of("MeterValues"))
    later = cs.wait_for("MeterValues", n + 1, timeout=3)[-1]
    assert power(later) == pytest.approx(3680, rel=0.01)
    assert cp.state()["connectors"][0]["power_w"] == pytest.approx(3680, rel=0.01)


def test_outage_queues_transaction_messages_in_order(cs, make_cp):
    cp = make_cp("1.6", keys={"MeterValueSampleInterval": 1, "TransactionMessageRetryInterval": 1})
    _, _, tx = _start_remote(cs, cp)
    cs.wait_for("MeterValues")
    cs.stop()
    wait_until(lambda: cp.state()["queue_length"] >= 2, 4, "queued MeterValues")
    assert cp.state()["online"] is False
    assert status_of(cp) == "Charging"  # charging goes on without the CS
    cp.stop_transaction(1)
    queued = cp.state()["queue_length"]
    seen = len(cs.calls)
    cs.start()  # same port
    stop = cs.wait_for("StopTransaction", timeout=6)[0]
    assert stop["transactionId"] == tx and stop["reason"] == "Local"
    after = [(a, p) for a, p, _ in cs.calls[seen:] if a in ("MeterValues", "StopTransaction")]
    assert len(after) == queued
    assert [a for a, _ in after] == ["MeterValues"] * (queued - 1) + ["StopTransaction"]
    stamps = [p["meterValue"][0]["timestamp"] for a, p in after if a == "MeterValues"] + [stop["timestamp"]]
    assert stamps == sorted(stamps)
    wait_until(lambda: cp.state()["queue_length"] == 0 and cp.state()["online"], 3, "queue drained")


def test_wrong_charge_box_identity_is_refused(cs, make_cp):
    cp = make_cp("1.6")
    with pytest.raises(RemoteFault) as err:
        cs_client(cp, "SOMEONE-ELSE").call("Reset", {"type": "Hard"})
    assert err.value.fault.subcode == "IdentityMismatch"
    assert err.value.fault.code == "Sender"
    time.sleep(0.1)
    assert len(cs.of("BootNotification")) == 1  # no reset happened
    # the per-identity path routes the same way
    assert cs_client(cp).call("ClearCache", {}) == {"status": "Accepted"}


def _admin(cp, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(f"{cp.admin_url}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admin_api_drives_a_session(cs, make_cp):
    cp = make_cp("1.6")
    assert _admin(cp, "GET", "/state")[1]["registration"] == "Accepted"
    assert _admin(cp, "POST", "/plug/1")[1]["connectors"][0]["status"] == "Preparing"
    status, result = _admin(cp, "POST", "/swipe", {"tag": "CARD1", "connector": 1})
    assert (status, result) == (200, {"result": "started"})
    assert cs.wait_for("StartTransaction")[0]["idTag"] == "CARD1"
    state = _admin(cp, "GET", f"/cp/{cp.identity}/state")[1]
    assert state["connectors"][0]["transaction"]["id_tag"] == "CARD1"
    assert _admin(cp, "POST", "/send/DataTransfer", {"payload": {"messageId": "hello"}})[1] == {"status": "Accepted"}
    assert _admin(cp, "POST", "/fault/1", {"code": "GroundFailure"})[1]["connectors"][0]["status"] == "Faulted"
    assert cs.wait_for("StopTransaction")[0]["reason"] == "Other"
    assert _admin(cp, "POST", "/fault/1", {"code": "NotACode"})[0] == 400
    assert _admin(cp, "GET", "/cp/NOPE/state")[0] == 404
    assert _admin(cp, "GET", "/fleet")[1][cp.identity]["registration"] == "Accepted"
