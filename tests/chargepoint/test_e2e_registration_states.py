"""The simulator while Rejected or Pending (issue 14, item 8), over real HTTP in both versions.

OCPP 1.6 4.2: while Rejected the charge point does not serve the Central System (every CS→CP
request gets a SecurityError fault); while Pending it serves everything but RemoteStart and
RemoteStop (the fault the Central System gives a Pending box's own transaction messages). In
neither state does it start transactions, and it retries BootNotification after the interval.
"""

from __future__ import annotations

import pytest

from ocpp_soap.chargepoint import ChargePoint, Scheduler
from ocpp_soap.soap.client import RemoteFault
from tests.chargepoint.test_e2e_support import TestCentral, close_cp, cs_client, wait_until


class GatekeeperCentral(TestCentral):
    """Answers BootNotification with ``self.boot_status`` (interval 1 s)."""

    __test__ = False

    def __init__(self, boot_status: str):
        super().__init__(interval=1)
        self.boot_status = boot_status

    def _answer(self, action, payload):
        reply = super()._answer(action, payload)
        if action == "BootNotification":
            reply["status"] = self.boot_status
        return reply


def _sim(cs: TestCentral, version: str) -> ChargePoint:
    cp = ChargePoint("GATE", cs.url, version, 1, {"keys": {}}, None,
                     scheduler=Scheduler(workers=4), timeout=2.0)
    cp.serve("127.0.0.1", 0)
    cp.start()
    return cp


def _fault(call) -> str:
    with pytest.raises(RemoteFault) as err:
        call()
    return err.value.fault.subcode


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_rejected_serves_nothing_and_does_not_charge(version):
    cs = GatekeeperCentral("Rejected").start()
    cp = _sim(cs, version)
    try:
        wait_until(lambda: cp.core.registration == "Rejected", 5, "Rejected")
        client = cs_client(cp)
        for action, payload in (("ChangeConfiguration", {"key": "HeartbeatInterval",
                                                         "value": "60"}),
                                ("GetConfiguration", {}),
                                ("RemoteStartTransaction", {"idTag": "ABC", "connectorId": 1}),
                                ("Reset", {"type": "Soft"})):
            assert _fault(lambda a=action, p=payload: client.call(a, p)) == "SecurityError"
        cp.plug(1)
        assert cp.swipe("ABC", 1) == "rejected"
        assert cp.state()["connectors"][0]["transaction"] is None
        # it asks again after the interval (1 s)
        cs.wait_for("BootNotification", 3, timeout=8)
        assert cs.of("StartTransaction") == [] and cs.of("Authorize") == []
    finally:
        close_cp(cp)
        cs.stop()


def test_pending_serves_all_but_remote_start_and_stop():
    cs = GatekeeperCentral("Pending").start()
    cp = _sim(cs, "1.6")
    try:
        wait_until(lambda: cp.core.registration == "Pending", 5, "Pending")
        client = cs_client(cp)
        assert client.call("ChangeConfiguration", {"key": "HeartbeatInterval",
                                                   "value": "60"}) == {"status": "Accepted"}
        assert client.call("GetConfiguration", {"key": ["HeartbeatInterval"]})[
            "configurationKey"][0]["value"] == "60"
        assert client.call("TriggerMessage", {"requestedMessage": "Heartbeat"})["status"]
        for action, payload in (("RemoteStartTransaction", {"idTag": "ABC", "connectorId": 1}),
                                ("RemoteStopTransaction", {"transactionId": 1})):
            assert _fault(lambda a=action, p=payload: client.call(a, p)) == "SecurityError"
        cp.plug(1)
        assert cp.swipe("ABC", 1) == "rejected"
        cs.wait_for("BootNotification", 2, timeout=8)
        assert cs.of("StartTransaction") == []

        # Accepted at the next boot: now it charges.
        cs.boot_status = "Accepted"
        wait_until(lambda: cp.core.registration == "Accepted", 8, "Accepted")
        assert cp.swipe("ABC", 1) == "started"
        cs.wait_for("StartTransaction")
    finally:
        close_cp(cp)
        cs.stop()
