"""Charging sessions: state machines of both versions, remote start/stop, timeouts, metering."""

from __future__ import annotations

from ocpp_soap.chargepoint._routing import build_handlers
from tests.chargepoint.test_core_support import make


def h(cp):
    return build_handlers(cp)


def test_local_session_16_statuses_and_messages_in_order():
    cp, cs, sched = make("1.6")
    cs.clear()
    assert cp.swipe("TAG1", 1) == "waiting"
    cp.plug(1)
    sched.advance(3600)  # one hour at 11 kW
    cp.unplug(1)
    assert cs.actions() == ["Authorize", "StatusNotification", "StartTransaction", "StatusNotification",
                            *["MeterValues"] * 30, "StopTransaction", "StatusNotification"]
    assert cs.statuses(1) == ["Preparing", "Charging", "Available"]
    start, = cs.of("StartTransaction")
    stop, = cs.of("StopTransaction")
    assert start["meterStart"] == 0 and start["idTag"] == "TAG1"
    assert stop["transactionId"] == 100 and stop["reason"] == "EVDisconnected"
    assert 10990 <= stop["meterStop"] <= 11000


def test_local_stop_by_same_tag_then_finishing():
    cp, cs, sched = make("1.6")
    cp.plug(1)
    assert cp.swipe("TAG1") == "started"
    sched.advance(10)
    assert cp.swipe("tag1") == "stopped"  # idTags are case-insensitive
    stop = cs.of("StopTransaction")[0]
    assert stop["reason"] == "Local" and stop["idTag"] == "tag1"
    assert cs.statuses(1)[-1] == "Finishing"
    cp.unplug(1)
    assert cs.statuses(1)[-1] == "Available"


def test_15_state_machine_and_no_reason():
    cp, cs, sched = make("1.5")
    cp.plug(1)
    cp.swipe("TAG1", 1)
    sched.advance(60)
    cp.unplug(1)
    assert cs.statuses(1) == ["Available", "Occupied", "Available"]
    stop = cs.of("StopTransaction")[0]
    assert "reason" not in stop
    sv = cs.of("MeterValues")
    assert sv == []  # default sample interval is 120 s


def test_rejected_tag_does_not_start():
    cp, cs, sched = make("1.6")
    cs.tags["BAD"] = "Blocked"
    cp.plug(1)
    assert cp.swipe("BAD", 1) == "rejected"
    assert cs.of("StartTransaction") == []


def test_remote_start_accepted_then_plug_starts():
    cp, cs, sched = make("1.6")
    reply = h(cp)["RemoteStartTransaction"](None, {"idTag": "R1", "connectorId": 1})
    assert reply == {"status": "Accepted"}
    sched.run_pending()
    assert cs.statuses(1)[-1] == "Preparing"
    assert "Authorize" not in cs.actions()  # AuthorizeRemoteTxRequests defaults to false
    cp.plug(1)
    assert cs.of("StartTransaction")[0]["idTag"] == "R1"
    tid = cs.of("StartTransaction") and 100
    assert h(cp)["RemoteStopTransaction"](None, {"transactionId": tid}) == {"status": "Accepted"}
    assert h(cp)["RemoteStopTransaction"](None, {"transactionId": 999}) == {"status": "Rejected"}
    sched.run_pending()
    stop = cs.of("StopTransaction")[0]
    assert stop["reason"] == "Remote" and stop["transactionId"] == 100


def test_remote_start_rejected_when_busy_or_unavailable():
    cp, cs, sched = make("1.6", connectors=2)
    handlers = h(cp)
    assert handlers["RemoteStartTransaction"](None, {"idTag": "A", "connectorId": 1})["status"] == "Accepted"
    # connector 1 is already claimed for A
    assert handlers["RemoteStartTransaction"](None, {"idTag": "B", "connectorId": 1})["status"] == "Rejected"
    assert handlers["RemoteStartTransaction"](None, {"idTag": "B", "connectorId": 7})["status"] == "Rejected"
    handlers["ChangeAvailability"](None, {"connectorId": 2, "type": "Inoperative"})
    assert handlers["RemoteStartTransaction"](None, {"idTag": "B", "connectorId": 2})["status"] == "Rejected"
    assert handlers["RemoteStartTransaction"](None, {"idTag": "B"})["status"] == "Rejected"


def test_remote_start_without_connector_picks_a_free_one():
    cp, cs, sched = make("1.6", connectors=2)
    cp.plug(2)
    assert h(cp)["RemoteStartTransaction"](None, {"idTag": "A"})["status"] == "Accepted"
    sched.run_pending()
    assert cs.of("StartTransaction")[0]["connectorId"] == 2  # the plugged one


def test_remote_start_authorizes_first_when_configured():
    cp, cs, sched = make("1.6", keys={"AuthorizeRemoteTxRequests": True})
    cs.tags["R2"] = "Invalid"
    h(cp)["RemoteStartTransaction"](None, {"idTag": "R2", "connectorId": 1})
    sched.run_pending()
    assert cs.actions()[-1] == "Authorize"
    assert cs.statuses(1) == ["Available"]  # never shown as Preparing
    assert cp.state()["connectors"][0]["pending_id_tag"] is None
    cp.plug(1)
    assert cs.of("StartTransaction") == []


def test_connection_timeout_expiry_returns_to_available():
    cp, cs, sched = make("1.6", keys={"ConnectionTimeOut": 30})
    h(cp)["RemoteStartTransaction"](None, {"idTag": "R1", "connectorId": 1})
    sched.advance(29)
    assert cp.state()["connectors"][0]["status"] == "Preparing"
    sched.advance(2)
    assert cs.statuses(1)[-2:] == ["Preparing", "Available"]
    assert cp.state()["connectors"][0]["pending_id_tag"] is None
    cp.plug(1)
    assert cs.of("StartTransaction") == []


def test_unlock_connector_stops_with_unlock_command():
    cp, cs, sched = make("1.6")
    cp.plug(1)
    cp.swipe("T", 1)
    assert h(cp)["UnlockConnector"](None, {"connectorId": 1}) == {"status": "Unlocked"}
    sched.run_pending()
    assert cs.of("StopTransaction")[0]["reason"] == "UnlockCommand"
    assert h(cp)["UnlockConnector"](None, {"connectorId": 5}) == {"status": "NotSupported"}
    cp15, _, _ = make("1.5")
    assert h(cp15)["UnlockConnector"](None, {"connectorId": 1}) == {"status": "Accepted"}
    assert h(cp15)["UnlockConnector"](None, {"connectorId": 3}) == {"status": "Rejected"}


def test_change_availability_scheduled_during_transaction_then_applied():
    cp, cs, sched = make("1.6", connectors=2)
    cp.plug(1)
    cp.swipe("T", 1)
    handlers = h(cp)
    assert handlers["ChangeAvailability"](None, {"connectorId": 1, "type": "Inoperative"}) == {"status": "Scheduled"}
    sched.run_pending()
    assert cp.state()["connectors"][0]["status"] == "Charging"
    assert handlers["ChangeAvailability"](None, {"connectorId": 2, "type": "Inoperative"}) == {"status": "Accepted"}
    sched.run_pending()
    assert cs.statuses(2)[-1] == "Unavailable"
    cp.swipe("T")
    assert cs.statuses(1)[-1] == "Unavailable"  # applied when the transaction ended
    # connector 0: the whole box
    assert handlers["ChangeAvailability"](None, {"connectorId": 0, "type": "Operative"}) == {"status": "Accepted"}
    sched.run_pending()
    assert cs.statuses(1)[-1] == "Finishing" and cs.statuses(2)[-1] == "Available"
    assert handlers["ChangeAvailability"](None, {"connectorId": 3, "type": "Operative"}) == {"status": "Rejected"}


def test_change_availability_box_scheduled():
    cp, cs, sched = make("1.5", connectors=2)
    cp.plug(1)
    cp.swipe("T", 1)
    assert h(cp)["ChangeAvailability"](None, {"connectorId": 0, "type": "Inoperative"})["status"] == "Scheduled"
    sched.run_pending()
    assert cs.statuses(2)[-1] == "Unavailable" and cs.statuses(0)[-1] != "Unavailable"
    cp.unplug(1)
    assert cs.statuses(0)[-1] == "Unavailable" and cs.statuses(1)[-1] == "Unavailable"


def test_meter_values_interval_and_measurands_16():
    cp, cs, sched = make("1.6", keys={
        "MeterValueSampleInterval": 60,
        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC,Voltage.L1"})
    cp.plug(1)
    cp.swipe("T", 1)
    sched.advance(61)
    mv, = cs.of("MeterValues")
    assert mv["transactionId"] == 100 and mv["connectorId"] == 1
    values = {(s["measurand"], s.get("phase")): s for s in mv["meterValue"][0]["sampledValue"]}
    assert values[("Energy.Active.Import.Register", None)]["value"] == "183"
    assert values[("Power.Active.Import", None)] == {"value": "11000", "context": "Sample.Periodic", "format": "Raw",
                                                     "measurand": "Power.Active.Import", "location": "Outlet", "unit": "W"}
    assert values[("Current.Import", None)]["value"] == "15.9" and values[("Current.Import", None)]["unit"] == "A"
    assert values[("Voltage", None)]["unit"] == "V" and values[("Voltage", "L1")]["phase"] == "L1"
    assert values[("SoC", None)]["unit"] == "Percent" and values[("SoC", None)]["location"] == "EV"


def test_meter_values_15_units_and_disable():
    cp, cs, sched = make("1.5", keys={"MeterValueSampleInterval": 30,
                                      "MeterValuesSampledData": "Energy.Active.Import.Register,Current.Import,Voltage"})
    cp.plug(1)
    cp.swipe("T", 1)
    sched.advance(31)
    units = {s["measurand"]: s.get("unit") for s in cs.of("MeterValues")[0]["meterValue"][0]["sampledValue"]}
    assert units == {"Energy.Active.Import.Register": "Wh", "Current.Import": "Amp", "Voltage": "Volt"}
    assert h(cp)["ChangeConfiguration"](None, {"key": "MeterValueSampleInterval", "value": "0"})["status"] == "Accepted"
    sched.advance(300)
    assert len(cs.of("MeterValues")) == 1


def test_stop_transaction_data_from_stop_txn_sampled_and_aligned():
    cp, cs, sched = make("1.6", keys={"MeterValueSampleInterval": 10, "StopTxnSampledData": "Energy.Active.Import.Register",
                                      "ClockAlignedDataInterval": 15, "StopTxnAlignedData": "Power.Active.Import",
                                      "MeterValuesAlignedData": ""})
    cp.plug(1)
    cp.swipe("T", 1)
    sched.advance(31)
    cp.swipe("T", 1)
    data = cs.of("StopTransaction")[0]["transactionData"]
    contexts = [mv["sampledValue"][0]["context"] for mv in data]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    assert contexts.count("Sample.Periodic") == 3 and contexts.count("Sample.Clock") == 2


def test_clock_aligned_meter_values():
    cp, cs, sched = make("1.6", keys={"ClockAlignedDataInterval": 900, "MeterValueSampleInterval": 0})
    cp.plug(1)
    cp.swipe("T", 1)
    sched.advance(1800)
    mvs = cs.of("MeterValues")
    assert len(mvs) == 2
    assert all(mv["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock" for mv in mvs)
    assert [mv["meterValue"][0]["timestamp"].minute for mv in mvs] == [15, 30]  # aligned to :15 and :30


def test_fault_stops_transaction_and_reports_faulted():
    cp, cs, sched = make("1.6")
    cp.plug(1)
    cp.swipe("T", 1)
    cp.fault(1, "GroundFailure")
    assert cs.of("StopTransaction")[0]["reason"] == "Other"
    last = cs.of("StatusNotification")[-1]
    assert last["status"] == "Faulted" and last["errorCode"] == "GroundFailure"
    cp.clear_fault(1)
    assert cs.statuses(1)[-1] == "Finishing"


def test_suspended_ev_status():
    cp, cs, sched = make("1.6")
    cp.plug(1)
    cp.swipe("T", 1)
    cp.suspend_ev(1)
    assert cs.statuses(1)[-1] == "SuspendedEV"
    assert cp.state()["connectors"][0]["power_w"] == 0


def test_local_pre_authorize_and_offline_rules():
    cp, cs, sched = make("1.6", keys={"LocalPreAuthorize": True})
    h(cp)["SendLocalList"](None, {"listVersion": 1, "updateType": "Full",
                                  "localAuthorizationList": [{"idTag": "L1", "idTagInfo": {"status": "Accepted"}}]})
    cp.plug(1)
    assert cp.swipe("L1", 1) == "started"
    assert "Authorize" not in cs.actions()
    cp.swipe("L1", 1)
    cp.unplug(1)
    # offline: the local list decides, unknown tags are refused unless AllowOfflineTxForUnknownId
    cs.offline = True
    cp.plug(1)
    assert cp.swipe("NOBODY", 1) == "rejected"
    h(cp)["ChangeConfiguration"](None, {"key": "AllowOfflineTxForUnknownId", "value": "true"})
    assert cp.swipe("NOBODY", 1) == "started"
    cp.swipe("NOBODY", 1)
    h(cp)["ChangeConfiguration"](None, {"key": "LocalAuthorizeOffline", "value": "false"})
    assert cp.swipe("L1", 1) == "rejected"


def test_authorization_cache_used_offline():
    cp, cs, sched = make("1.6")
    cp.plug(1)
    cp.swipe("C1", 1)  # Authorize fills the cache
    cp.swipe("C1", 1)
    cs.offline = True
    assert cp.swipe("C1", 1) == "started"
    h(cp)["ClearCache"](None, {})
    cp.swipe("C1", 1)
    assert cp.swipe("C1", 1) == "rejected"


def test_start_transaction_not_accepted_deauthorizes():
    cp, cs, sched = make("1.6", keys={"LocalPreAuthorize": True})
    h(cp)["SendLocalList"](None, {"listVersion": 1, "updateType": "Full",
                                  "localAuthorizationList": [{"idTag": "X", "idTagInfo": {"status": "Accepted"}}]})
    cs.tags["X"] = "Blocked"
    cp.plug(1)
    cp.swipe("X", 1)
    assert cs.of("StopTransaction")[0]["reason"] == "DeAuthorized"
