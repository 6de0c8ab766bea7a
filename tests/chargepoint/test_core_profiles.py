"""Smart charging (1.6): profiles really cap the simulated power; composite schedules."""

from __future__ import annotations

from datetime import timedelta

from ocpp_soap.chargepoint._routing import build_handlers
from tests.chargepoint.test_core_support import make


def profile(pid, purpose, stack, periods, unit="W", kind="Absolute", **extra):
    sched = {"chargingRateUnit": unit,
             "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim} for s, lim in periods]}
    for key in ("duration", "startSchedule"):
        if key in extra:
            sched[key] = extra.pop(key)
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, "chargingSchedule": sched, **extra}


def power_values(cs):
    return [float(sv["value"]) for mv in cs.of("MeterValues") for sv in mv["meterValue"][0]["sampledValue"]
            if sv["measurand"] == "Power.Active.Import"]


def charging(**keys):
    cp, cs, sched = make("1.6", keys={"MeterValueSampleInterval": 60,
                                      "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
                                      **keys})
    cp.plug(1)
    cp.swipe("T", 1)
    return cp, cs, sched, build_handlers(cp)


def test_tx_profile_lowers_power_in_meter_values():
    cp, cs, sched, h = charging()
    sched.advance(60)
    now = cp.now()
    p = profile(1, "TxProfile", 0, [(0, 10)], unit="A", startSchedule=now, transactionId=100)
    assert h["SetChargingProfile"](None, {"connectorId": 1, "csChargingProfiles": p}) == {"status": "Accepted"}
    sched.advance(60)
    assert power_values(cs) == [11000.0, 10 * 230 * 3]
    energies = [float(mv["meterValue"][0]["sampledValue"][0]["value"]) for mv in cs.of("MeterValues")]
    assert round(energies[1] - energies[0]) == round(10 * 230 * 3 / 60)
    # the TxProfile goes with its transaction
    cp.swipe("T", 1)
    assert cp.profiles.items == []


def test_schedule_periods_and_zero_limit_suspends_evse():
    cp, cs, sched, h = charging()
    p = profile(2, "TxDefaultProfile", 1, [(0, 7000), (120, 0)], startSchedule=cp.now())
    assert h["SetChargingProfile"](None, {"connectorId": 0, "csChargingProfiles": p})["status"] == "Accepted"
    sched.advance(180)
    assert power_values(cs) == [7000.0, 0.0, 0.0]  # the limit drops exactly at 120 s
    assert cs.statuses(1)[-1] == "SuspendedEVSE"
    energies = [float(mv["meterValue"][0]["sampledValue"][0]["value"]) for mv in cs.of("MeterValues")]
    assert energies[1] == energies[2] == round(7000 * 120 / 3600)


def test_stack_levels_validity_and_charge_point_max():
    cp, cs, sched, h = charging()
    now = cp.now()
    set_ = h["SetChargingProfile"]
    set_(None, {"connectorId": 1, "csChargingProfiles": profile(1, "TxDefaultProfile", 0, [(0, 9000)], startSchedule=now)})
    set_(None, {"connectorId": 1, "csChargingProfiles": profile(
        2, "TxDefaultProfile", 5, [(0, 4000)], startSchedule=now,
        validFrom=now + timedelta(seconds=60), validTo=now + timedelta(seconds=120))})
    assert cp.limit_w(1) == 9000
    sched.advance(61)
    assert cp.limit_w(1) == 4000  # higher stack level while valid
    sched.advance(60)
    assert cp.limit_w(1) == 9000
    set_(None, {"connectorId": 0, "csChargingProfiles": profile(3, "ChargePointMaxProfile", 0, [(0, 3000)], startSchedule=now)})
    assert cp.limit_w(1) == 3000
    assert cp.state()["connectors"][0]["power_w"] == 3000


def test_recurring_daily_profile():
    cp, cs, sched, h = charging()
    start = cp.now() - timedelta(days=3, seconds=10)  # started three days ago, repeats daily
    p = profile(4, "TxDefaultProfile", 0, [(0, 5000), (60, 2000)], kind="Recurring",
                recurrencyKind="Daily", startSchedule=start)
    h["SetChargingProfile"](None, {"connectorId": 1, "csChargingProfiles": p})
    assert cp.limit_w(1) == 5000
    sched.advance(55)
    assert cp.limit_w(1) == 2000


def test_relative_profile_counts_from_transaction_start():
    cp, cs, sched, h = charging()
    sched.advance(100)
    p = profile(5, "TxDefaultProfile", 0, [(0, 6000), (150, 1000)], kind="Relative")
    h["SetChargingProfile"](None, {"connectorId": 1, "csChargingProfiles": p})
    assert cp.limit_w(1) == 6000
    sched.advance(50)
    assert cp.limit_w(1) == 1000


def test_profile_rules():
    cp, cs, sched = make("1.6", connectors=2)
    set_ = build_handlers(cp)["SetChargingProfile"]
    tx = profile(1, "TxProfile", 0, [(0, 10)], unit="A")
    assert set_(None, {"connectorId": 1, "csChargingProfiles": tx})["status"] == "Rejected"  # no transaction
    cpmax = profile(2, "ChargePointMaxProfile", 0, [(0, 10)], unit="A")
    assert set_(None, {"connectorId": 1, "csChargingProfiles": cpmax})["status"] == "Rejected"
    assert set_(None, {"connectorId": 0, "csChargingProfiles": profile(3, "TxDefaultProfile", 11, [(0, 1)])})["status"] == "Rejected"
    assert set_(None, {"connectorId": 0, "csChargingProfiles": profile(3, "TxDefaultProfile", 0, [(5, 1)])})["status"] == "Rejected"
    assert set_(None, {"connectorId": 0, "csChargingProfiles": cpmax})["status"] == "Accepted"
    # same stack level and purpose replaces
    assert set_(None, {"connectorId": 0, "csChargingProfiles": profile(9, "ChargePointMaxProfile", 0, [(0, 8)], unit="A")})["status"] == "Accepted"
    assert [i.profile["chargingProfileId"] for i in cp.profiles.items] == [9]


def test_clear_charging_profile():
    cp, cs, sched = make("1.6")
    h = build_handlers(cp)
    h["SetChargingProfile"](None, {"connectorId": 1, "csChargingProfiles": profile(1, "TxDefaultProfile", 0, [(0, 1000)])})
    h["SetChargingProfile"](None, {"connectorId": 1, "csChargingProfiles": profile(2, "TxDefaultProfile", 1, [(0, 2000)])})
    assert h["ClearChargingProfile"](None, {"id": 77}) == {"status": "Unknown"}
    assert h["ClearChargingProfile"](None, {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}) == {"status": "Accepted"}
    assert h["ClearChargingProfile"](None, {"id": 1}) == {"status": "Accepted"}
    assert cp.profiles.items == []


def test_composite_schedule():
    cp, cs, sched = make("1.6")
    h = build_handlers(cp)
    now = cp.now()
    h["SetChargingProfile"](None, {"connectorId": 1, "csChargingProfiles": profile(
        1, "TxDefaultProfile", 0, [(0, 7360), (600, 3680)], startSchedule=now)})
    h["SetChargingProfile"](None, {"connectorId": 0, "csChargingProfiles": profile(
        2, "ChargePointMaxProfile", 0, [(0, 5000)], startSchedule=now + timedelta(seconds=300), duration=600)})
    reply = h["GetCompositeSchedule"](None, {"connectorId": 1, "duration": 1800, "chargingRateUnit": "W"})
    assert reply["status"] == "Accepted" and reply["connectorId"] == 1
    periods = reply["chargingSchedule"]["chargingSchedulePeriod"]
    assert periods == [{"startPeriod": 0, "limit": 7360.0}, {"startPeriod": 300, "limit": 5000.0},
                       {"startPeriod": 600, "limit": 3680.0}]
    amps = h["GetCompositeSchedule"](None, {"connectorId": 1, "duration": 100, "chargingRateUnit": "A"})
    assert amps["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 10.7}]
    assert h["GetCompositeSchedule"](None, {"connectorId": 4, "duration": 100})["status"] == "Rejected"


def test_remote_start_with_tx_profile():
    cp, cs, sched = make("1.6")
    h = build_handlers(cp)
    bad = profile(1, "TxDefaultProfile", 0, [(0, 10)], unit="A")
    assert h["RemoteStartTransaction"](None, {"idTag": "R", "connectorId": 1, "chargingProfile": bad})["status"] == "Rejected"
    good = profile(1, "TxProfile", 0, [(0, 10)], unit="A", kind="Relative")
    assert h["RemoteStartTransaction"](None, {"idTag": "R", "connectorId": 1, "chargingProfile": good})["status"] == "Accepted"
    sched.run_pending()
    cp.plug(1)
    assert cp.state()["connectors"][0]["power_w"] == 10 * 230 * 3
