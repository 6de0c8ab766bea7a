"""GetConfiguration / ChangeConfiguration over every standard key of each version."""

from __future__ import annotations

import pytest

from ocpp_soap.chargepoint._config import BOOL, CSL, INT, key_defs
from ocpp_soap.chargepoint._routing import build_handlers
from tests.chargepoint.test_core_support import make, restart

GOOD = {INT: "7", BOOL: None, CSL: "Energy.Active.Import.Register,Voltage"}
BAD = {INT: "seven", BOOL: "maybe", CSL: "Bogus.Measurand"}

STANDARD_15 = {"HeartBeatInterval", "ConnectionTimeOut", "ResetRetries", "BlinkRepeat", "LightIntensity",
               "MeterValueSampleInterval", "ClockAlignedDataInterval", "MeterValuesSampledData",
               "MeterValuesAlignedData", "StopTxnSampledData", "StopTxnAlignedData",
               "ProximityLockRetries", "ProximityContactRetries", "ChargePointId"}


def _cases(version):
    return [pytest.param(version, kd, id=f"{version}-{kd.name}") for kd in key_defs(version, 2)]


def test_standard_key_sets():
    names15 = {k.name for k in key_defs("1.5")}
    names16 = {k.name for k in key_defs("1.6")}
    assert STANDARD_15 <= names15
    assert "HeartbeatInterval" in names16 and "HeartBeatInterval" not in names16
    assert {"SupportedFeatureProfiles", "ChargeProfileMaxStackLevel", "LocalAuthListMaxLength",
            "ConnectorPhaseRotation", "TransactionMessageAttempts"} <= names16


@pytest.mark.parametrize(("version", "kd"), _cases("1.5") + _cases("1.6"))
def test_get_and_change_every_key(version, kd):
    cp, cs, sched = make(version, connectors=2)
    handlers = build_handlers(cp)
    got = handlers["GetConfiguration"](None, {"key": [kd.name]})
    assert "unknownKey" not in got
    entry, = got["configurationKey"]
    assert entry["key"] == kd.name and entry["readonly"] is kd.readonly
    change = handlers["ChangeConfiguration"]
    if kd.readonly:
        assert change(None, {"key": kd.name, "value": entry["value"] or "1"}) == {"status": "Rejected"}
        return
    if kd.name == "ConnectorPhaseRotation":
        value = "0.RTS,1.RST,2.Unknown"
    elif kd.type == BOOL:
        value = "false" if entry["value"] == "true" else "true"
    else:
        value = GOOD.get(kd.type, "x")
    expected = "RebootRequired" if kd.reboot_required and version == "1.6" else "Accepted"
    assert change(None, {"key": kd.name, "value": value}) == {"status": expected}
    assert handlers["GetConfiguration"](None, {"key": [kd.name]})["configurationKey"][0]["value"] == value
    if kd.type in BAD:
        assert change(None, {"key": kd.name, "value": BAD[kd.type]}) == {"status": "Rejected"}


def test_get_all_and_unknown_keys():
    cp, cs, sched = make("1.6")
    handlers = build_handlers(cp)
    everything = handlers["GetConfiguration"](None, {})
    assert len(everything["configurationKey"]) == len(key_defs("1.6"))
    assert "unknownKey" not in everything
    some = handlers["GetConfiguration"](None, {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert [k["key"] for k in some["configurationKey"]] == ["HeartbeatInterval"]
    assert some["unknownKey"] == ["NoSuchKey"]
    assert handlers["ChangeConfiguration"](None, {"key": "NoSuchKey", "value": "1"}) == {"status": "NotSupported"}


def test_version_differences():
    cp15, _, _ = make("1.5")
    change = build_handlers(cp15)["ChangeConfiguration"]
    assert change(None, {"key": "HeartbeatInterval", "value": "10"}) == {"status": "NotSupported"}
    assert change(None, {"key": "HeartBeatInterval", "value": "10"}) == {"status": "Accepted"}
    # a 1.6-only measurand is not a 1.5 measurand
    assert change(None, {"key": "MeterValuesSampledData", "value": "SoC"}) == {"status": "Rejected"}
    cp16, _, _ = make("1.6")
    change16 = build_handlers(cp16)["ChangeConfiguration"]
    assert change16(None, {"key": "MeterValuesSampledData", "value": "SoC,Current.Import.L2"}) == {"status": "Accepted"}
    assert change16(None, {"key": "LightIntensity", "value": "101"}) == {"status": "Rejected"}
    assert change16(None, {"key": "HeartbeatInterval", "value": "-5"}) == {"status": "Rejected"}
    assert change16(None, {"key": "MeterValuesSampledData", "value": ",".join(["Voltage"] * 11)}) == {"status": "Rejected"}


def test_heartbeat_interval_change_takes_effect_and_boot_interval_wins():
    cp, cs, sched = make("1.6")
    assert cp.config.int("HeartbeatInterval") == 60  # from the BootNotification reply
    build_handlers(cp)["ChangeConfiguration"](None, {"key": "HeartbeatInterval", "value": "5"})
    cs.clear()
    sched.advance(20)
    assert cs.actions(skip=()) == ["Heartbeat"] * 4


def test_configuration_persists(tmp_path):
    path = tmp_path / "cp.json"
    cp, cs, sched = make("1.6", state_path=path)
    build_handlers(cp)["ChangeConfiguration"](None, {"key": "ConnectionTimeOut", "value": "42"})
    cp2 = restart(cp, cs, sched, path)
    assert cp2.config.int("ConnectionTimeOut") == 42
