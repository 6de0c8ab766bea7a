"""Boot, registration retries, heartbeat, StatusNotification at boot, Reset."""

from __future__ import annotations

from ocpp_soap.chargepoint._routing import build_handlers
from tests.chargepoint.test_core_support import make


def test_boot_payload_and_statuses_for_every_connector():
    cp, cs, sched = make("1.6", connectors=2, vendor="ACME", model="Volt9", firmware_version="2.1",
                         charge_point_serial="S-9", meter_serial="M-1")
    boot = cs.of("BootNotification")[0]
    assert boot == {"chargePointVendor": "ACME", "chargePointModel": "Volt9", "firmwareVersion": "2.1",
                    "chargePointSerialNumber": "S-9", "meterType": "SimMeter", "meterSerialNumber": "M-1"}
    assert [p["connectorId"] for p in cs.of("StatusNotification")] == [0, 1, 2]
    assert cs.statuses() == ["Available"] * 3
    assert cp.state()["registration"] == "Accepted"


def test_pending_and_rejected_retry_after_interval():
    cp, cs, sched = make("1.6", boot=["Pending", "Rejected", "Accepted"])
    assert cs.actions() == ["BootNotification"]
    assert cp.state()["registration"] == "Pending"
    sched.advance(59)
    assert cs.actions() == ["BootNotification"]
    sched.advance(1)
    assert cs.actions() == ["BootNotification"] * 2
    sched.advance(60)
    assert cs.actions() == ["BootNotification"] * 3 + ["StatusNotification"] * 2


def test_boot_retried_while_cs_unreachable():
    cp, cs, sched = make("1.6", start=False, boot_retry_s=5)
    cs.offline = True
    cp.start()
    sched.run_pending()
    sched.advance(12)
    assert cs.calls == []
    cs.offline = False
    sched.advance(5)
    assert cs.actions()[0] == "BootNotification"


def test_heartbeat_every_interval():
    cp, cs, sched = make("1.6")
    cs.clear()
    sched.advance(181)
    assert cs.actions(skip=()) == ["Heartbeat"] * 3


def test_reset_hard_stops_with_reason_and_boots_again():
    cp, cs, sched = make("1.6", connectors=2)
    cp.plug(1)
    cp.swipe("T", 1)
    cs.clear()
    assert build_handlers(cp)["Reset"](None, {"type": "Hard"}) == {"status": "Accepted"}
    assert cs.calls == []  # the reply goes out first
    sched.run_pending()
    assert cs.of("StopTransaction")[0]["reason"] == "HardReset"
    assert cs.actions().index("StopTransaction") < cs.actions().index("BootNotification")
    assert cp.state()["registration"] == "Accepted"
    assert cs.actions()[-3:] == ["StatusNotification"] * 3  # statuses again after the new boot


def test_reset_soft_reason_and_15_without_reason():
    cp, cs, sched = make("1.6")
    cp.plug(1)
    cp.swipe("T", 1)
    build_handlers(cp)["Reset"](None, {"type": "Soft"})
    sched.run_pending()
    assert cs.of("StopTransaction")[0]["reason"] == "SoftReset"
    cp15, cs15, sched15 = make("1.5")
    cp15.plug(1)
    cp15.swipe("T", 1)
    build_handlers(cp15)["Reset"](None, {"type": "Hard"})
    sched15.run_pending()
    assert "reason" not in cs15.of("StopTransaction")[0]
    assert cs15.actions().count("BootNotification") == 2
