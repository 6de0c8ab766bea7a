"""OCPP 1.6 smart charging: installed charging profiles and the limit they impose.

The simulator must really charge slower when a CS sends a profile, so the question "what is the
limit on connector N at time t" is answered here and fed to the meter. The rules: per purpose, the
valid profile with the highest stackLevel whose schedule covers t wins (falling back to lower
levels when a schedule has ended); TxProfile beats TxDefaultProfile during its transaction; a
connector-specific TxDefaultProfile beats one on connector 0; the ChargePointMaxProfile caps the
whole charge point. Limits are kept in watts internally (A × voltage × phases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ocpp_soap.chargepoint._state import to_dt

MAX_PROFILE = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX_PROFILE = "TxProfile"
PURPOSES = (MAX_PROFILE, TX_DEFAULT, TX_PROFILE)
RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}


@dataclass
class TxContext:
    """What a Relative profile or a TxProfile needs to know about the running transaction."""

    transaction_id: int | None
    started: datetime


@dataclass
class Installed:
    connector_id: int
    profile: dict
    installed_at: datetime


class ProfileStore:
    """Profiles installed by SetChargingProfile (and RemoteStartTransaction)."""

    def __init__(self, voltage: float = 230.0, phases: int = 3) -> None:
        self.voltage = voltage
        self.phases = phases
        self.items: list[Installed] = []

    # --- install / clear ---------------------------------------------------------------------
    def validate(self, connector_id: int, profile: dict, connectors: int, max_stack: int,
                 max_periods: int, allowed_units: list[str], has_tx: bool) -> str:
        """Accepted or Rejected, per the purpose/connector rules and the charger's limits."""
        try:
            purpose = profile["chargingProfilePurpose"]
            schedule = profile["chargingSchedule"]
            periods = schedule["chargingSchedulePeriod"]
            unit = schedule["chargingRateUnit"]
            stack = int(profile["stackLevel"])
            kind = profile["chargingProfileKind"]
        except (KeyError, TypeError, ValueError):
            return "Rejected"
        unit_names = {"A": "Current", "W": "Power"}
        if purpose not in PURPOSES or not (0 <= connector_id <= connectors):
            return "Rejected"
        if purpose == MAX_PROFILE and connector_id != 0:
            return "Rejected"
        if purpose == TX_PROFILE and (connector_id == 0 or not has_tx):
            return "Rejected"
        if not 0 <= stack <= max_stack or not periods or len(periods) > max_periods:
            return "Rejected"
        if unit_names.get(unit) not in allowed_units:
            return "Rejected"
        if kind == "Recurring" and profile.get("recurrencyKind") not in RECURRENCE:
            return "Rejected"
        if kind not in ("Absolute", "Recurring", "Relative"):
            return "Rejected"
        starts = [int(p["startPeriod"]) for p in periods]
        if starts[0] != 0 or starts != sorted(set(starts)):
            return "Rejected"
        return "Accepted"

    def install(self, connector_id: int, profile: dict, now: datetime, max_installed: int) -> str:
        """Replace a profile with the same id or the same (stackLevel, purpose, connector)."""
        pid = profile["chargingProfileId"]
        keep = [
            i for i in self.items
            if i.profile["chargingProfileId"] != pid
            and not (i.profile["stackLevel"] == profile["stackLevel"]
                     and i.profile["chargingProfilePurpose"] == profile["chargingProfilePurpose"]
                     and i.connector_id == connector_id)
        ]
        if len(keep) >= max_installed:
            return "Rejected"
        keep.append(Installed(connector_id, profile, now))
        self.items = keep
        return "Accepted"

    def clear(self, profile_id: int | None = None, connector_id: int | None = None,
              purpose: str | None = None, stack_level: int | None = None) -> int:
        """ClearChargingProfile: remove the matching profiles and return how many went."""
        def match(i: Installed) -> bool:
            if profile_id is not None:
                return i.profile["chargingProfileId"] == profile_id
            if connector_id is not None and i.connector_id != connector_id:
                return False
            if purpose is not None and i.profile["chargingProfilePurpose"] != purpose:
                return False
            return not (stack_level is not None and i.profile["stackLevel"] != stack_level)

        before = len(self.items)
        self.items = [i for i in self.items if not match(i)]
        return before - len(self.items)

    def drop_tx_profiles(self, connector_id: int) -> None:
        """A TxProfile lives only as long as its transaction."""
        self.items = [i for i in self.items if not (i.connector_id == connector_id
                      and i.profile["chargingProfilePurpose"] == TX_PROFILE)]

    # --- evaluation --------------------------------------------------------------------------
    def _to_w(self, limit: float, unit: str, period: dict) -> float:
        if unit == "W":
            return float(limit)
        phases = int(period.get("numberPhases") or self.phases)
        return float(limit) * self.voltage * phases

    def _schedule_start(self, item: Installed, at: datetime, tx: TxContext | None) -> datetime | None:
        p = item.profile
        sched = p["chargingSchedule"]
        kind = p["chargingProfileKind"]
        if kind == "Relative":
            return tx.started if tx else None
        start = to_dt(sched.get("startSchedule")) or to_dt(p.get("validFrom")) or item.installed_at
        if kind == "Recurring":
            step = RECURRENCE[p["recurrencyKind"]]
            if at >= start:
                start += step * ((at - start) // step)
        return start

    def _limit_of(self, item: Installed, at: datetime, tx: TxContext | None) -> float | None:
        """Limit (W) this profile sets at ``at``, or None when it does not apply then."""
        p = item.profile
        valid_from, valid_to = to_dt(p.get("validFrom")), to_dt(p.get("validTo"))
        if (valid_from and at < valid_from) or (valid_to and at >= valid_to):
            return None
        if p["chargingProfilePurpose"] == TX_PROFILE:
            if tx is None:
                return None
            if p.get("transactionId") is not None and p["transactionId"] != tx.transaction_id:
                return None
        start = self._schedule_start(item, at, tx)
        if start is None or at < start:
            return None
        offset = (at - start).total_seconds()
        sched = p["chargingSchedule"]
        if sched.get("duration") is not None and offset >= int(sched["duration"]):
            return None
        current = None
        for period in sched["chargingSchedulePeriod"]:
            if period["startPeriod"] <= offset:
                current = period
        if current is None:
            return None
        return self._to_w(current["limit"], sched["chargingRateUnit"], current)

    def _purpose_limit(self, purpose: str, connectors: list[int], at: datetime,
                       tx: TxContext | None) -> float | None:
        # earlier connectors in the list win (connector-specific before connector 0)
        for cid in connectors:
            candidates = sorted(
                (i for i in self.items
                 if i.connector_id == cid and i.profile["chargingProfilePurpose"] == purpose),
                key=lambda i: -int(i.profile["stackLevel"]))
            for item in candidates:
                limit = self._limit_of(item, at, tx)
                if limit is not None:
                    return limit
        return None

    def limit_w(self, connector_id: int, at: datetime, tx: TxContext | None,
                share: int = 1) -> float | None:
        """The composite limit on a connector in W (None: no profile limits it).

        ``share`` is how many connectors are charging: the ChargePointMaxProfile limit is split
        evenly among them.
        """
        limits = []
        if connector_id == 0:
            cp_max = self._purpose_limit(MAX_PROFILE, [0], at, tx)
            return cp_max
        tx_limit = self._purpose_limit(TX_PROFILE, [connector_id], at, tx) if tx else None
        if tx_limit is None:
            tx_limit = self._purpose_limit(TX_DEFAULT, [connector_id, 0], at, tx)
        if tx_limit is not None:
            limits.append(tx_limit)
        cp_max = self._purpose_limit(MAX_PROFILE, [0], at, tx)
        if cp_max is not None:
            limits.append(cp_max / max(1, share))
        return min(limits) if limits else None

    def _breakpoints(self, start: datetime, end: datetime, tx: TxContext | None) -> list[datetime]:
        points = {start}
        for item in self.items:
            p = item.profile
            for key in ("validFrom", "validTo"):
                if p.get(key):
                    points.add(to_dt(p[key]))
            sched = p["chargingSchedule"]
            base = self._schedule_start(item, start, tx)
            if base is None:
                continue
            step = RECURRENCE.get(p.get("recurrencyKind")) if p["chargingProfileKind"] == "Recurring" else None
            origin = base
            while origin < end:
                for period in sched["chargingSchedulePeriod"]:
                    points.add(origin + timedelta(seconds=period["startPeriod"]))
                if sched.get("duration") is not None:
                    points.add(origin + timedelta(seconds=int(sched["duration"])))
                if step is None:
                    break
                origin += step
        return sorted(t for t in points if start <= t < end)

    def next_change(self, after: datetime, tx: TxContext | None) -> datetime | None:
        """The next moment a limit may change (so the core can re-evaluate power just then)."""
        if not self.items:
            return None
        later = [t for t in self._breakpoints(after, after + timedelta(days=8), tx) if t > after]
        return later[0] if later else None

    def composite(self, connector_id: int, start: datetime, duration: int, unit: str | None,
                  tx: TxContext | None, default_w: float) -> dict:
        """GetCompositeSchedule: the merged limits over [start, start + duration) as a schedule."""
        end = start + timedelta(seconds=duration)
        unit = unit or "W"
        periods: list[dict] = []
        for t in self._breakpoints(start, end, tx):
            limit_w = self.limit_w(connector_id, t, tx)
            if limit_w is None:
                limit_w = default_w
            limit = limit_w if unit == "W" else limit_w / (self.voltage * self.phases)
            limit = round(limit, 1)
            if periods and periods[-1]["limit"] == limit:
                continue
            periods.append({"startPeriod": int((t - start).total_seconds()), "limit": limit})
        return {"duration": duration, "startSchedule": start, "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods}

    # --- persistence -------------------------------------------------------------------------
    def snapshot(self) -> list[dict[str, Any]]:
        return [{"connector_id": i.connector_id, "profile": i.profile, "installed_at": i.installed_at}
                for i in self.items]

    def restore(self, data: list[dict] | None) -> None:
        self.items = []
        for d in data or []:
            profile = _revive(d["profile"])
            self.items.append(Installed(d["connector_id"], profile, to_dt(d["installed_at"])))


def _revive(profile: dict) -> dict:
    """Persisted profiles come back with ISO strings; turn the known datetime fields back."""
    p = dict(profile)
    for key in ("validFrom", "validTo"):
        if p.get(key):
            p[key] = to_dt(p[key])
    sched = dict(p["chargingSchedule"])
    if sched.get("startSchedule"):
        sched["startSchedule"] = to_dt(sched["startSchedule"])
    p["chargingSchedule"] = sched
    return p
