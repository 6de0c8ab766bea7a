"""What the domain asks of storage while it answers a charger: the repository protocols.

The domain (``domain``, ``gate``) holds every rule of the CP→CS operations, and ``commands`` those
of the CS→CP queue and logs; both speak to the database only through these protocols, inside one
unit of work per message or step (``Repositories``).
``storage.sqlrepos`` implements them with compiled statements on the DB-API connection; a test
or an embedder may give another implementation. The pattern is that of ``idtags.TagSource``:
the rules ask narrow questions ("the open transactions on this connector"), the implementation
decides how to answer them cheaply.

Rows come back as ``Record`` objects with the attributes of the model of the same name
(``storage.models``); the domain changes their attributes and hands them back to ``save``,
which writes what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

from .idtags import TagSource

__all__ = ["BoxRepository", "CommandRepository", "LogRepository", "MeterValueRepository",
           "OutboxRepository", "Record", "Repositories", "Standing", "TagSource",
           "TransactionRepository", "Units"]

T = TypeVar("T")


class Record(SimpleNamespace):
    """A stored row read for one unit of work; ``changes()`` is what was set on it since."""

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        object.__setattr__(self, "_loaded", dict(values))

    def changes(self) -> dict[str, Any]:
        loaded = self._loaded
        return {name: value for name, value in vars(self).items()
                if name != "_loaded" and (name not in loaded or loaded[name] != value)}

    def mark_saved(self) -> None:
        """What it holds now is what is stored (after ``save``)."""
        object.__setattr__(self, "_loaded", {name: value for name, value in vars(self).items()
                                             if name != "_loaded"})


@dataclass(frozen=True)
class Standing:
    """What a box in good standing looks like from this message: the quick acceptance asks
    whether the stored row still matches (Accepted, no credential, this version, this
    address), so the common message needs no row read and no rules run again."""

    box_id: str
    version: str
    address: str
    source: str
    called: str | None


class BoxRepository(Protocol):
    """Charge boxes and what they report about themselves."""

    def touch_if_standing(self, standing: Standing, now: datetime, *,
                          heartbeat: bool = False) -> bool:
        """Set the seen (and heartbeat) time of the box if it is in ``standing``; True if so."""

    def commands_if_standing(self, standing: Standing, now: datetime) -> bool | None:
        """None when the box is not in ``standing``; else whether commands wait for it
        (a read: nothing is written; the read-only Heartbeat asks both at once)."""

    def get(self, box_id: str) -> Record | None:
        """What admission needs of the box's row, or None: its id, registration status,
        credentials (secret hash, ``allow_from``, certificate fingerprint), OCPP version and
        addresses (``endpoint_*``, ``learned_*``, ``called_address``), named as on
        ``ChargeBox``. Any other column may be set on the record; ``save`` writes it."""

    def secret_hash(self, box_id: str) -> str | None:
        """The stored password hash of the box, if any."""

    def add(self, values: dict[str, Any]) -> Record:
        """Register a new box; its row."""

    def save(self, box: Record) -> None:
        """Write what changed on ``box``."""

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        """Box events (columns of ``BoxEvent``)."""

    def set_connector_status(self, values: dict[str, Any]) -> None:
        """The connector's latest status (columns of ``ConnectorStatus``), replacing the last."""

    def add_status_event(self, values: dict[str, Any]) -> None:
        """A firmware or diagnostics status (columns of ``StatusEvent``)."""

    def add_data_transfer(self, values: dict[str, Any]) -> None:
        """A DataTransfer and our reply (columns of ``DataTransfer``)."""


class TransactionRepository(Protocol):
    """Charging transactions and the reservations they use."""

    def get(self, tx_id: int) -> Record | None:
        """The transaction (attributes as on ``Transaction``), or None."""

    def retried_start(self, box_id: str, connector_id: int | None, id_tag: str | None,
                      started: datetime | None, meter_start: int | None) -> Record | None:
        """A stored start with exactly these values (a StartTransaction sent again), or None."""

    def open_on_connector(self, box_id: str, connector_id: int, *,
                          lock: bool = False, limit: int | None = None) -> list[Record]:
        """Open, non-orphan transactions on the connector (``lock``: for update)."""

    def add(self, values: dict[str, Any]) -> int:
        """A new transaction; its id."""

    def save(self, tx: Record) -> None:
        """Write what changed on ``tx``."""

    def use_reservation(self, reservation_id: int, box_id: str, tx_id: int,
                        now: datetime) -> None:
        """Mark the box's reservation used by ``tx_id`` (a reservation of another box stays)."""


class MeterValueRepository(Protocol):
    """Meter samples, from MeterValues and from StopTransaction's transactionData."""

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Samples (columns of ``MeterSample``)."""

    def stored_between(self, box_id: str, source: str, first: datetime,
                       last: datetime) -> list[dict[str, Any]]:
        """The box's samples from ``source`` taken in [first, last] (the identifying columns
        of ``metering.sample_key`` and the connector and reported transaction)."""

    def of_transaction(self, tx_id: int, source: str) -> list[dict[str, Any]]:
        """The transaction's samples from ``source`` (the same columns)."""

    def energy_readings(self, tx_id: int) -> list[tuple[Any, ...]]:
        """The transaction's (value, unit, timestamp, measurand), newest first
        (see ``closing.last_energy_reading``)."""


class CommandRepository(Protocol):
    """Commands queued for boxes (the wake-up question of OCPP-S 5) and their deliveries.

    The states, leases and expiry are the rules of ``commands`` (its SQL conditions say what
    "deliverable", "in flight" and "past its expiry" mean); these methods only ask and write."""

    def waiting(self, box_id: str, now: datetime) -> bool:
        """Whether a command waits to be delivered to the box."""

    def add(self, values: dict[str, Any]) -> int:
        """Queue a command (columns of ``PendingCommand``); its id (the queue's order)."""

    def lock_claims(self, box_id: str) -> None:
        """Make claims for the box take turns until the unit ends (its row, for update), so
        two workers never both find nothing in flight and both take a command."""

    def expire(self, box_id: str, now: datetime) -> int:
        """Mark the box's commands past their expiry, not yet delivered, ``expired`` (never
        sent); how many."""

    def in_flight(self, box_id: str, now: datetime) -> bool:
        """Whether a worker delivers a command to the box now (under a lease not run out)."""

    def next_deliverable(self, box_id: str, now: datetime,
                         exclude: Collection[int] = ()) -> Record | None:
        """The box's oldest deliverable command whose id is not in ``exclude`` (attributes as
        on ``PendingCommand``), or None."""

    def get(self, command_id: int) -> Record | None:
        """The queued command, or None."""

    def save(self, command: Record) -> None:
        """Write what changed on ``command`` (taken for delivery, put back)."""

    def finish(self, command_id: int, attempt: int, state: str, now: datetime) -> bool:
        """End delivery ``attempt`` of the command in ``state``, if that attempt still holds
        it (being delivered, no later attempt since); False otherwise (its lease was lost)."""


class LogRepository(Protocol):
    """What crossed the wire outbound and inbound: the command log and the envelope log."""

    def add_command(self, values: dict[str, Any]) -> int:
        """One CS→CP call and its outcome (columns of ``CommandLog``); its id."""

    def add_envelope(self, values: dict[str, Any]) -> int:
        """One raw envelope (columns of ``EnvelopeLog``); its id."""

    def prune_envelopes(self, before: datetime, batch: int) -> int:
        """Delete at most ``batch`` envelopes kept before ``before`` (oldest first), so one
        unit never holds the write lock for long; how many were deleted."""


class OutboxRepository(Protocol):
    """The durable outbox of events for webhooks (see ``outbox``)."""

    def add(self, event: Any, webhooks: Sequence[str], now: datetime) -> int:
        """Store ``event`` (an ``events.Event``) with one pending delivery per webhook; its id."""


class Repositories(Protocol):
    """One unit of work: everything it reads and writes commits or rolls back together."""

    boxes: BoxRepository
    tags: TagSource
    #: The same tags read for update: the ConcurrentTx count of a start holds under the lock.
    locked_tags: TagSource
    transactions: TransactionRepository
    meter_values: MeterValueRepository
    commands: CommandRepository
    logs: LogRepository
    outbox: OutboxRepository


class Units(Protocol):
    """Runs units of work. ``write`` commits or rolls back as a whole and may run ``work``
    again when the database asks to (a lock, a lost connection before the commit), so ``work``
    keeps its side effects outside; ``read`` sees the last commit and writes nothing."""

    def write(self, work: Callable[[Repositories], T]) -> T:
        ...

    def read(self, work: Callable[[Repositories], T]) -> T:
        ...

    def end_thread(self) -> None:
        """This thread is done with storage: give back what it holds (a connection). A
        short-lived thread (a command delivery) calls it as it ends."""
