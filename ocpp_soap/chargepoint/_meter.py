"""The simulated energy meter of one connector and the meter values built from it.

The register integrates power over time; power is the configured power capped by whatever limit
the charging profiles impose at the moment (the core passes it in). Because the limit can change
at any time, the register is brought up to date *before* the limit or the charging state changes,
so each stretch of time is counted with the power that was really on offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ENERGY_15 = [
    "Energy.Active.Export.Register", "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
    "Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
]
MEASURANDS_15 = frozenset(ENERGY_15 + [
    "Power.Active.Export", "Power.Active.Import", "Power.Reactive.Export", "Power.Reactive.Import",
    "Current.Export", "Current.Import", "Voltage", "Temperature",
])
MEASURANDS_16 = MEASURANDS_15 | {
    "Current.Offered", "Frequency", "Power.Factor", "Power.Offered", "RPM", "SoC",
}
# 1.6 renamed two units
UNITS = {
    "1.5": {"A": "Amp", "V": "Volt"},
    "1.6": {},
}


def measurands_for(version: str) -> frozenset[str]:
    return MEASURANDS_15 if version == "1.5" else MEASURANDS_16


@dataclass
class Electrical:
    """The fixed electrical facts of the simulated hardware."""

    max_power_w: float = 11000.0
    voltage: float = 230.0
    phases: int = 3
    battery_wh: float = 60000.0


class Meter:
    """Energy register (Wh) of one connector."""

    def __init__(self, electrical: Electrical, energy_wh: float = 0.0) -> None:
        self.electrical = electrical
        self.energy_wh = energy_wh
        self.power_w = 0.0
        self.offered_w = electrical.max_power_w
        self._since: datetime | None = None

    def update(self, now: datetime) -> None:
        """Add the energy delivered since the last update at the current power."""
        if self._since is not None and now > self._since:
            self.energy_wh += self.power_w * (now - self._since).total_seconds() / 3600.0
        self._since = now

    def set_power(self, now: datetime, charging: bool, limit_w: float | None) -> None:
        """Close the running stretch, then charge at min(max power, limit) or not at all."""
        self.update(now)
        offered = self.electrical.max_power_w if limit_w is None else max(0.0, min(limit_w, self.electrical.max_power_w))
        self.offered_w = offered
        self.power_w = offered if charging else 0.0

    @property
    def register_wh(self) -> int:
        return int(self.energy_wh)

    def sampled_values(self, measurands: list[str], context: str, version: str,
                       start_wh: float | None = None, soc: float | None = None) -> list[dict]:
        """SampledValue dicts for ``measurands``; ``start_wh`` is where an Interval measurand began."""
        out = []
        el = self.electrical
        units = UNITS.get(version, {})
        for item in measurands:
            name, phase = item, None
            if version == "1.6" and item.rsplit(".", 1)[-1] in ("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N"):
                name, phase = item.rsplit(".", 1)
            if name not in measurands_for(version):
                continue
            per_phase = phase is not None
            location = None
            if name == "Energy.Active.Import.Register":
                value, unit = f"{self.energy_wh:.0f}", "Wh"
            elif name == "Energy.Active.Import.Interval":
                value, unit = f"{self.energy_wh - (start_wh or 0.0):.0f}", "Wh"
            elif name.startswith("Energy.Reactive"):
                value, unit = "0", "varh"
            elif name.startswith("Energy."):
                value, unit = "0", "Wh"
            elif name == "Power.Active.Import":
                value, unit = f"{self.power_w / (el.phases if per_phase else 1):.0f}", "W"
            elif name == "Power.Offered":
                value, unit = f"{self.offered_w:.0f}", "W"
            elif name.startswith("Power.Reactive"):
                value, unit = "0", "var"
            elif name == "Power.Factor":
                value, unit = "1", None
            elif name.startswith("Power."):
                value, unit = "0", "W"
            elif name == "Current.Import":
                value, unit = f"{self.power_w / (el.voltage * el.phases):.1f}", "A"
            elif name == "Current.Offered":
                value, unit = f"{self.offered_w / (el.voltage * el.phases):.1f}", "A"
            elif name.startswith("Current."):
                value, unit = "0", "A"
            elif name == "Voltage":
                value, unit = f"{el.voltage:.0f}", "V"
            elif name == "SoC":
                value, unit, location = f"{soc if soc is not None else 0:.0f}", "Percent", "EV"
            elif name == "Temperature":
                value, unit, location = "25", "Celsius", "Body"
            elif name == "Frequency":
                value, unit = "50", None
            else:  # RPM
                value, unit = "0", None
            sv: dict = {"value": value, "context": context, "format": "Raw", "measurand": name}
            if location:
                sv["location"] = location
            elif version == "1.6" or name != "Energy.Active.Import.Register":
                sv["location"] = "Outlet"
            if unit:
                sv["unit"] = units.get(unit, unit)
            if phase:
                sv["phase"] = phase
            out.append(sv)
        return out
