"""Configuration keys of the simulated charge point, per OCPP version.

Each version has its own set of standard keys (1.5 even spells one differently: HeartBeatInterval),
and ChangeConfiguration must answer from the key's definition: unknown → NotSupported, read-only or
badly typed → Rejected, a key whose change only takes effect on the next boot → RebootRequired (1.6
only; 1.5 has no such status). The core asks for values by their 1.6 name, so it never has to care
which spelling the version uses.

Keys that 1.6 standardised but 1.5 did not (local authorization, transaction message retries, ...)
are offered in 1.5 too, flagged as extensions, because the behaviour they control exists in both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ocpp_soap.chargepoint._meter import measurands_for

INT, BOOL, CSL, STR = "int", "bool", "csl", "str"

PHASE_ROTATIONS = {"NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"}
FEATURE_PROFILES = "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"


@dataclass(frozen=True)
class KeyDef:
    """One configuration key: its wire name, type, access and default."""

    name: str
    type: str
    readonly: bool
    default: str
    versions: tuple[str, ...] = ("1.5", "1.6")
    #: standard in these versions (elsewhere offered as an extension)
    standard: tuple[str, ...] = ("1.5", "1.6")
    reboot_required: bool = False
    minimum: int | None = 0
    maximum: int | None = None
    #: extra check on a CSL item or a string: returns True when valid
    item_check: Callable[[str, str], bool] | None = None
    #: the name the core uses when the wire name differs by version
    alias: str | None = None


def _measurand_ok(item: str, version: str) -> bool:
    name = item
    if version == "1.6":
        name = re.sub(r"\.(L1|L2|L3|N|L1-N|L2-N|L3-N|L1-L2|L2-L3|L3-L1)$", "", item)
    return name in measurands_for(version)


def _rotation_ok(item: str, _version: str) -> bool:
    m = re.fullmatch(r"(?:(\d+)\.)?([A-Za-z]+)", item)
    return bool(m) and m.group(2) in PHASE_ROTATIONS


def _key_defs(connectors: int) -> list[KeyDef]:
    rotation = ",".join(f"{n}.RST" for n in range(connectors + 1))
    only16 = ("1.6",)
    return [
        KeyDef("HeartbeatInterval", INT, False, "300", versions=only16),
        KeyDef("HeartBeatInterval", INT, False, "300", versions=("1.5",), alias="HeartbeatInterval"),
        KeyDef("ConnectionTimeOut", INT, False, "120"),
        KeyDef("ResetRetries", INT, False, "3"),
        KeyDef("BlinkRepeat", INT, False, "3"),
        KeyDef("LightIntensity", INT, False, "50", maximum=100),
        KeyDef("MeterValueSampleInterval", INT, False, "120"),
        KeyDef("ClockAlignedDataInterval", INT, False, "0"),
        KeyDef("MeterValuesSampledData", CSL, False, "Energy.Active.Import.Register", item_check=_measurand_ok),
        KeyDef("MeterValuesAlignedData", CSL, False, "Energy.Active.Import.Register", item_check=_measurand_ok),
        KeyDef("StopTxnSampledData", CSL, False, "", item_check=_measurand_ok),
        KeyDef("StopTxnAlignedData", CSL, False, "", item_check=_measurand_ok),
        # 1.5 only (kept by 1.5 "for compatibility")
        KeyDef("ProximityLockRetries", INT, False, "3", versions=("1.5",)),
        KeyDef("ProximityContactRetries", INT, False, "3", versions=("1.5",)),
        KeyDef("ChargePointId", STR, True, "", versions=("1.5",)),
        # standardised in 1.6, extensions in 1.5
        KeyDef("AllowOfflineTxForUnknownId", BOOL, False, "false", standard=only16),
        KeyDef("AuthorizationCacheEnabled", BOOL, False, "true", standard=only16),
        KeyDef("AuthorizeRemoteTxRequests", BOOL, False, "false", standard=only16),
        KeyDef("GetConfigurationMaxKeys", INT, True, "100", standard=only16),
        KeyDef("LocalAuthorizeOffline", BOOL, False, "true", standard=only16),
        KeyDef("LocalPreAuthorize", BOOL, False, "false", standard=only16),
        KeyDef("NumberOfConnectors", INT, True, str(connectors), standard=only16),
        KeyDef("StopTransactionOnEVSideDisconnect", BOOL, False, "true", standard=only16),
        KeyDef("StopTransactionOnInvalidId", BOOL, False, "true", standard=only16),
        KeyDef("TransactionMessageAttempts", INT, False, "3", standard=only16, minimum=1),
        KeyDef("TransactionMessageRetryInterval", INT, False, "60", standard=only16),
        KeyDef("LocalAuthListEnabled", BOOL, False, "true", standard=only16),
        KeyDef("LocalAuthListMaxLength", INT, True, "1000", standard=only16),
        KeyDef("SendLocalListMaxLength", INT, True, "100", standard=only16),
        KeyDef("ReserveConnectorZeroSupported", BOOL, True, "false", versions=only16, standard=only16),
        # 1.6 only
        KeyDef("ConnectorPhaseRotation", CSL, False, rotation, versions=only16, reboot_required=True,
               item_check=_rotation_ok),
        KeyDef("ConnectorPhaseRotationMaxLength", INT, True, str(connectors + 1), versions=only16),
        KeyDef("MaxEnergyOnInvalidId", INT, False, "0", versions=only16),
        KeyDef("MeterValuesAlignedDataMaxLength", INT, True, "10", versions=only16),
        KeyDef("MeterValuesSampledDataMaxLength", INT, True, "10", versions=only16),
        KeyDef("MinimumStatusDuration", INT, False, "0", versions=only16),
        KeyDef("StopTxnAlignedDataMaxLength", INT, True, "10", versions=only16),
        KeyDef("StopTxnSampledDataMaxLength", INT, True, "10", versions=only16),
        KeyDef("SupportedFeatureProfiles", CSL, True, FEATURE_PROFILES, versions=only16),
        KeyDef("SupportedFeatureProfilesMaxLength", INT, True, "6", versions=only16),
        KeyDef("UnlockConnectorOnEVSideDisconnect", BOOL, False, "true", versions=only16),
        KeyDef("ChargeProfileMaxStackLevel", INT, True, "10", versions=only16),
        KeyDef("ChargingScheduleAllowedChargingRateUnit", CSL, True, "Current,Power", versions=only16),
        KeyDef("ChargingScheduleMaxPeriods", INT, True, "24", versions=only16),
        KeyDef("ConnectorSwitch3to1PhaseSupported", BOOL, True, "false", versions=only16),
        KeyDef("MaxChargingProfilesInstalled", INT, True, "20", versions=only16),
    ]


def key_defs(version: str, connectors: int = 1) -> list[KeyDef]:
    """The keys a charge point of ``version`` offers, in GetConfiguration order."""
    return [k for k in _key_defs(connectors) if version in k.versions]


class Configuration:
    """Typed store of configuration values (kept as their wire strings, as GetConfiguration shows them)."""

    def __init__(self, version: str, connectors: int, identity: str = "",
                 overrides: dict[str, Any] | None = None) -> None:
        self.version = version
        self.defs = {k.name: k for k in key_defs(version, connectors)}
        self._alias = {k.alias: k.name for k in self.defs.values() if k.alias}
        self.values: dict[str, str] = {k.name: k.default for k in self.defs.values()}
        if "ChargePointId" in self.values:
            self.values["ChargePointId"] = identity
        for name, value in (overrides or {}).items():
            wire = self.wire_name(name)
            if wire in self.defs:  # operator config may set read-only keys too
                self.values[wire] = _to_wire(value)

    def wire_name(self, name: str) -> str:
        return self._alias.get(name, name)

    def raw(self, name: str) -> str:
        return self.values[self.wire_name(name)]

    def int(self, name: str) -> int:
        try:
            return int(self.raw(name))
        except (KeyError, ValueError):
            return 0

    def bool(self, name: str) -> bool:
        try:
            return self.raw(name).lower() == "true"
        except KeyError:
            return False

    def csl(self, name: str) -> list[str]:
        try:
            return [item.strip() for item in self.raw(name).split(",") if item.strip()]
        except KeyError:
            return []

    def has(self, name: str) -> bool:
        return self.wire_name(name) in self.defs

    def get(self, keys: Iterable[str] | None) -> tuple[list[dict], list[str]]:
        """GetConfiguration: (configurationKey list, unknownKey list)."""
        known, unknown = [], []
        names = list(self.defs) if not keys else list(keys)
        for name in names:
            kd = self.defs.get(name)
            if kd is None:
                unknown.append(name)
            else:
                known.append({"key": name, "readonly": kd.readonly, "value": self.values[name]})
        return known, unknown

    def change(self, key: str, value: str) -> str:
        """ChangeConfiguration: store the value if valid and return the status for this version."""
        kd = self.defs.get(key)
        if kd is None:
            return "NotSupported"
        if kd.readonly:
            return "Rejected"
        normalised = self._validate(kd, value)
        if normalised is None:
            return "Rejected"
        self.values[key] = normalised
        if kd.reboot_required and self.version == "1.6":
            return "RebootRequired"
        return "Accepted"

    def _validate(self, kd: KeyDef, value: str) -> str | None:
        value = value.strip()
        if kd.type == INT:
            if not re.fullmatch(r"[+-]?\d+", value):
                return None
            number = int(value)
            if kd.minimum is not None and number < kd.minimum:
                return None
            if kd.maximum is not None and number > kd.maximum:
                return None
            return str(number)
        if kd.type == BOOL:
            return value.lower() if value.lower() in ("true", "false") else None
        if kd.type == CSL:
            items = [i.strip() for i in value.split(",") if i.strip()]
            if kd.item_check and not all(kd.item_check(i, self.version) for i in items):
                return None
            limit_key = f"{kd.name}MaxLength"
            if limit_key in self.defs and len(items) > int(self.values[limit_key]):
                return None
            return ",".join(items)
        return value

    def snapshot(self) -> dict[str, str]:
        return dict(self.values)

    def restore(self, values: dict[str, str]) -> None:
        """Take persisted values back (read-only keys keep their fresh defaults)."""
        for name, value in values.items():
            kd = self.defs.get(name)
            if kd is not None and not kd.readonly:
                self.values[name] = str(value)


def _to_wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass
class SimConfig:
    """What the simulated hardware is: identity data for BootNotification and electrical limits."""

    vendor: str = "OcppSoapSim"
    model: str = "SimCP-1"
    charge_point_serial: str | None = "SIM-0001"
    charge_box_serial: str | None = None
    firmware_version: str = "1.0.0"
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = "SimMeter"
    meter_serial: str | None = None
    #: the vendorId DataTransfer accepts (default: the vendor name)
    data_transfer_vendor: str | None = None
    power_w: float = 11000.0
    voltage: float = 230.0
    phases: int = 3
    battery_wh: float = 60000.0
    initial_soc: float = 20.0
    #: seconds between BootNotification attempts when the CS cannot be reached
    boot_retry_s: float = 30.0
    #: extra seconds a reset takes before the new boot
    reboot_delay_s: float = 0.0
    #: seconds between saves of the meter register to the state file while charging: what a
    #: power cut (or a killed process) loses at most, whatever MeterValueSampleInterval says
    persist_interval_s: float = 10.0
    keys: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A zero or negative period would re-arm its timer at once, for ever.
        for name in ("boot_retry_s", "persist_interval_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SimConfig:
        data = dict(data or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown charge point config entries: {sorted(unknown)}")
        return cls(**data)
