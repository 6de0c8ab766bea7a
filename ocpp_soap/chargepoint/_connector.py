"""A connector's physical and logical state, and the status each OCPP version reports for it.

The status is *derived* from facts (cable plugged, fault, availability, authorization pending,
transaction running, reservation) rather than stored, so there is one place where the 1.5 and 1.6
state machines differ, and an impossible combination of flags cannot be reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ocpp_soap.chargepoint._meter import Electrical, Meter
from ocpp_soap.chargepoint._scheduler import Timer
from ocpp_soap.chargepoint._state import to_dt


@dataclass
class Transaction:
    """A transaction as the charger knows it; ``local_id`` is provisional until the CS answers."""

    local_id: int
    connector_id: int
    id_tag: str
    meter_start: int
    started: datetime
    transaction_id: int | None = None
    reservation_id: int | None = None
    parent_id_tag: str | None = None
    #: meter values kept for StopTransaction.transactionData
    data: list[dict] = field(default_factory=list)
    last_periodic_wh: float = 0.0

    @property
    def id(self) -> int:
        """The id to use on the wire: the CS's when known, else the provisional one."""
        return self.transaction_id if self.transaction_id is not None else self.local_id

    def snapshot(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def restore(cls, data: dict) -> Transaction:
        data = dict(data)
        data["started"] = to_dt(data["started"])
        return cls(**data)


@dataclass
class Reservation:
    reservation_id: int
    id_tag: str
    expiry: datetime
    parent_id_tag: str | None = None

    def matches(self, id_tag: str, parent: str | None) -> bool:
        tags = {self.id_tag.lower()}
        if self.parent_id_tag:
            tags.add(self.parent_id_tag.lower())
        return id_tag.lower() in tags or (parent is not None and parent.lower() in tags)

    def snapshot(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Connector:
    id: int
    meter: Meter
    plugged: bool = False
    error_code: str = "NoError"
    operative: bool = True
    #: "Operative"/"Inoperative" to apply when the running transaction ends
    scheduled: str | None = None
    pending_tag: str | None = None
    pending_parent: str | None = None
    pending_timer: Timer | None = None
    pending_profile: dict | None = None
    transaction: Transaction | None = None
    reservation: Reservation | None = None
    reservation_timer: Timer | None = None
    #: transaction ended but the cable is still in
    finishing: bool = False
    #: the EV stopped drawing power (simulated SuspendedEV)
    ev_suspended: bool = False
    #: the power offered is 0 because a charging profile says so
    evse_suspended: bool = False
    sample_timer: Timer | None = None
    last_status: str | None = None

    @property
    def faulted(self) -> bool:
        return self.error_code != "NoError"

    def status(self, version: str, box_operative: bool, box_faulted: bool) -> str:
        if self.faulted or box_faulted:
            return "Faulted"
        if self.transaction is None and not (self.operative and box_operative):
            return "Unavailable"
        if version == "1.5":
            if self.transaction or self.plugged or self.pending_tag or self.finishing:
                return "Occupied"
            return "Reserved" if self.reservation else "Available"
        if self.transaction is not None:
            if self.evse_suspended:
                return "SuspendedEVSE"
            return "SuspendedEV" if self.ev_suspended else "Charging"
        if self.finishing:
            return "Finishing"
        if self.plugged or self.pending_tag:
            return "Preparing"
        return "Reserved" if self.reservation else "Available"

    def cancel_pending(self) -> None:
        if self.pending_timer:
            self.pending_timer.cancel()
        self.pending_timer = None
        self.pending_tag = None
        self.pending_parent = None
        self.pending_profile = None

    def cancel_reservation(self) -> None:
        if self.reservation_timer:
            self.reservation_timer.cancel()
        self.reservation_timer = None
        self.reservation = None

    def snapshot(self) -> dict[str, Any]:
        """What survives a restart (a plugged cable or a pending tag does not)."""
        return {
            "operative": self.operative,
            "scheduled": self.scheduled,
            "energy_wh": self.meter.energy_wh,
            "transaction": self.transaction.snapshot() if self.transaction else None,
            "reservation": self.reservation.snapshot() if self.reservation else None,
        }

    @classmethod
    def fresh(cls, cid: int, electrical: Electrical) -> Connector:
        return cls(id=cid, meter=Meter(electrical))
