"""Nothing lost: queued transaction messages, provisional ids, retries, state file, power loss."""

from __future__ import annotations

import json

from ocpp_soap.chargepoint._routing import build_handlers
from tests.chargepoint.test_core_support import make, restart


def test_outage_queues_transaction_messages_and_sends_them_in_order():
    cp, cs, sched = make("1.6", keys={"MeterValueSampleInterval": 30, "TransactionMessageRetryInterval": 10,
                                      "AllowOfflineTxForUnknownId": True})
    cs.offline = True
    cp.plug(1)
    assert cp.swipe("T", 1) == "started"
    sched.advance(95)  # three samples while the CS is down
    cp.swipe("T", 1)
    st = cp.state()
    assert st["queue_length"] == 5 and st["online"] is False
    cs.offline = False
    cs.clear()
    sched.advance(10)  # next retry
    tx_msgs = [(a, p) for a, p in cs.calls if a in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert [a for a, _ in tx_msgs] == ["StartTransaction", "MeterValues", "MeterValues", "MeterValues", "StopTransaction"]
    # the provisional id was replaced by the CS's id everywhere
    assert {p["transactionId"] for a, p in tx_msgs[1:]} == {100}
    stamps = [p["meterValue"][0]["timestamp"] for a, p in tx_msgs if a == "MeterValues"]
    assert stamps == sorted(stamps)
    assert cp.state()["queue_length"] == 0
    # statuses that changed during the outage are reported once the CS is back
    assert cs.statuses(1)[-1] == "Finishing"


def test_messages_after_start_wait_behind_it_while_cs_faults():
    cp, cs, sched = make("1.6", keys={"TransactionMessageAttempts": 3, "TransactionMessageRetryInterval": 5})
    cs.fault.add("StartTransaction")
    cp.plug(1)
    cp.swipe("T", 1)
    cp.swipe("T", 1)
    assert cp.state()["queue_length"] == 2
    sched.advance(5)  # attempt 2
    cs.fault.clear()
    sched.advance(10)  # attempt 3 after 2 × interval
    assert [a for a in cs.actions() if "Transaction" in a] == ["StartTransaction", "StopTransaction"]
    assert cs.of("StopTransaction")[0]["transactionId"] == 100


def test_faulting_message_is_dropped_after_the_attempts():
    cp, cs, sched = make("1.6", keys={"TransactionMessageAttempts": 2, "TransactionMessageRetryInterval": 1})
    cs.fault.add("StartTransaction")
    cp.plug(1)
    cp.swipe("T", 1)
    cp.swipe("T", 1)
    sched.advance(1)
    # StartTransaction given up; the Stop of a transaction the CS never knew is dropped too
    assert cp.state()["queue_length"] == 0
    assert cs.of("StopTransaction") == []


def test_state_file_keeps_availability_local_list_and_queue(tmp_path):
    path = tmp_path / "state" / "cp.json"
    cp, cs, sched = make("1.6", connectors=2, state_path=path)
    handlers = build_handlers(cp)
    handlers["ChangeAvailability"](None, {"connectorId": 2, "type": "Inoperative"})
    handlers["SendLocalList"](None, {"listVersion": 7, "updateType": "Full",
                                     "localAuthorizationList": [{"idTag": "A", "idTagInfo": {"status": "Accepted"}}]})
    cs.offline = True
    cp.plug(1)
    cp.swipe("A", 1)  # offline, local list
    cp.swipe("A", 1)
    assert json.loads(path.read_text())["outbox"]["items"][0]["action"] == "StartTransaction"
    assert not list(path.parent.glob("*.tmp"))  # atomic writes leave no temp files
    cs.offline = False
    cp2 = restart(cp, cs, sched, path)
    st = cp2.state()
    assert st["connectors"][1]["availability"] == "Inoperative" and st["connectors"][1]["status"] == "Unavailable"
    assert st["local_list_version"] == 7
    assert [a for a in cs.actions() if "Transaction" in a] == ["StartTransaction", "StopTransaction"]
    assert st["connectors"][0]["meter_wh"] == cp.state()["connectors"][0]["meter_wh"]


def test_power_loss_stops_running_transaction_on_next_start(tmp_path):
    path = tmp_path / "cp.json"
    cp, cs, sched = make("1.6", state_path=path)
    cp.plug(1)
    cp.swipe("T", 1)
    sched.advance(60)
    cp.stop()  # the process dies with the transaction running
    cs.clear()
    cp2 = restart(cp, cs, sched, path)
    stop = cs.of("StopTransaction")[0]
    assert stop["reason"] == "PowerLoss" and stop["transactionId"] == 100
    assert stop["meterStop"] == 183
    assert cs.actions()[0] == "BootNotification" and cs.actions().count("StopTransaction") == 1
    assert cp2.state()["connectors"][0]["transaction"] is None


def test_power_loss_15_and_scheduled_availability_after_restart(tmp_path):
    path = tmp_path / "cp.json"
    cp, cs, sched = make("1.5", state_path=path)
    cp.plug(1)
    cp.swipe("T", 1)
    build_handlers(cp)["ChangeAvailability"](None, {"connectorId": 1, "type": "Inoperative"})
    cp.stop()
    cs.clear()
    cp2 = restart(cp, cs, sched, path)
    assert "reason" not in cs.of("StopTransaction")[0]
    assert cp2.state()["connectors"][0]["status"] == "Unavailable"
