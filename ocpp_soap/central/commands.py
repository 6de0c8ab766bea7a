"""Outbound side bookkeeping: queued commands, the command log and the raw envelope log.

These are what the wire glue and the API call around a CS→CP request; they live in the domain so
every face (API, CLI, the wake-up rule after an incoming message) records the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from .errors import Conflict, NoEndpoint, NotFound
from .settings import CentralSettings
from .storage.models import ChargeBox, CommandLog, EnvelopeLog, PendingCommand
from .storage.store import Store
from .timeutil import as_utc

OUTCOMES = ("reply", "fault", "timeout", "error")

#: Is anything queued for a box? Built once; it runs on every Heartbeat.
HAS_PENDING = (
    select(PendingCommand.__table__.c.id)
    .where(
        PendingCommand.__table__.c.charge_box_id == bindparam("box_id"),
        PendingCommand.__table__.c.taken_at.is_(None),
    )
    .limit(1)
)


@dataclass(frozen=True)
class QueuedCommand:
    """A command to send now that its box has talked to us."""

    id: int
    charge_box_id: str
    operation: str
    payload: dict[str, Any]
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class CommandTarget:
    """Where and how to send a command to a box."""

    charge_box_id: str
    endpoint: str
    version: str
    endpoint_source: str | None
    #: The address the box last used to reach us (see ``endpoint.called_address``).
    called_address: str | None = None


#: What a Pending box may not be sent (OCPP 1.6 4.2: while Pending the Central System may read
#: and change configuration, trigger messages and more, but not start or stop charging).
PENDING_FORBIDDEN = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})


def check_may_command(charge_box_id: str, status: str | None, operation: str | None) -> None:
    """Conflict unless a box of registration ``status`` may be sent ``operation`` (None: any
    operation a Pending box may get)."""
    if status == "Accepted":
        return
    if status == "Pending" and operation not in PENDING_FORBIDDEN:
        return
    what = f"{operation} " if operation else ""
    raise Conflict(f"charge box {charge_box_id!r} is {status}: {what}not allowed"
                   + (" until it is Accepted" if status == "Pending" else ""))


class Outbound:
    """Mixin for ``CentralSystem``: needs ``store``, ``settings`` and ``clock``."""

    store: Store
    settings: CentralSettings
    clock: Callable[[], datetime]

    # ----------------------------------------------------------------- sending

    def command_target(self, charge_box_id: str, operation: str | None = None) -> CommandTarget:
        """Endpoint and version for a command. NotFound → 404; Conflict → 409 (the box may not
        get ``operation`` now, see ``may_command``); NoEndpoint (a Conflict) → 409 or queued."""

        def work(session: Session) -> CommandTarget:
            box = session.get(ChargeBox, charge_box_id)
            if box is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            check_may_command(box.charge_box_id, box.registration_status, operation)
            if not box.endpoint_address:
                raise NoEndpoint(f"no endpoint known for charge box {charge_box_id!r}")
            return CommandTarget(
                charge_box_id, box.endpoint_address, box.ocpp_version or "1.6",
                box.endpoint_source, box.called_address,
            )

        return self.store.read(work)

    # ----------------------------------------------------------------- pending queue

    def queue_command(
        self,
        charge_box_id: str,
        operation: str,
        payload: dict[str, Any],
        *,
        ttl_seconds: float | None = None,
    ) -> int:
        """Queue ``operation`` for the box's next message; returns the queue entry's id."""
        now = self.clock()

        def work(session: Session) -> int:
            if session.get(ChargeBox, charge_box_id) is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            row = PendingCommand(
                charge_box_id=charge_box_id,
                operation=operation,
                payload=payload,
                created_at=now,
                expires_at=None if ttl_seconds is None else now + timedelta(seconds=ttl_seconds),
            )
            session.add(row)
            session.flush()
            return row.id

        return self.store.write(work)

    def take_pending(self, charge_box_id: str) -> list[QueuedCommand]:
        """Claim the box's queued commands, oldest first. Each is handed out once, even with
        several workers (write lock on SQLite, SKIP LOCKED on PostgreSQL); expired ones stay
        unclaimed for the operator to see."""
        now = self.clock()

        def work(session: Session) -> list[QueuedCommand]:
            rows = (
                session.execute(
                    select(PendingCommand)
                    .where(
                        PendingCommand.charge_box_id == charge_box_id,
                        PendingCommand.taken_at.is_(None),
                        (PendingCommand.expires_at.is_(None)) | (PendingCommand.expires_at > now),
                    )
                    .order_by(PendingCommand.id)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for row in rows:
                row.taken_at = now
            return [
                QueuedCommand(
                    r.id, r.charge_box_id, r.operation, r.payload or {}, r.created_at, r.expires_at
                )
                for r in rows
            ]

        return self.store.write(work)

    def release_pending(self, pending_id: int) -> None:
        """Put a claimed command back in the queue (delivery failed; the box will talk again).
        It keeps its place: the queue is ordered by id."""

        def work(session: Session) -> None:
            row = session.get(PendingCommand, pending_id)
            if row is None:
                raise NotFound(f"no queued command {pending_id}")
            row.taken_at = None

        self.store.write(work)

    # ----------------------------------------------------------------- logs

    def record_command(
        self,
        charge_box_id: str,
        operation: str,
        request: dict[str, Any] | None,
        *,
        reply: dict[str, Any] | None = None,
        fault: str | None = None,
        timed_out: bool = False,
        error: str | None = None,
        latency_ms: float | None = None,
        version: str | None = None,
        message_id: str | None = None,
        endpoint: str | None = None,
        pending_command_id: int | None = None,
        at: datetime | None = None,
    ) -> int:
        """Write one command-log row; the outcome is timeout, fault, error or reply (first match)."""
        if timed_out:
            outcome, text = "timeout", error or "timed out"
        elif fault is not None:
            outcome, text = "fault", fault
        elif error is not None:
            outcome, text = "error", error
        else:
            outcome, text = "reply", None
        at = as_utc(at) or self.clock()

        def work(session: Session) -> int:
            # Built inside the unit so a retried transaction starts from a clean object.
            row = CommandLog(
                at=at,
                charge_box_id=charge_box_id,
                operation=operation,
                version=version,
                message_id=message_id,
                endpoint=endpoint,
                request=request,
                reply=reply,
                outcome=outcome,
                error=text,
                latency_ms=latency_ms,
                pending_command_id=pending_command_id,
            )
            session.add(row)
            session.flush()
            return row.id

        return self.store.write(work)

    def log_envelope(
        self,
        direction: str,
        envelope: str | bytes,
        *,
        charge_box_id: str | None = None,
        action: str | None = None,
        message_id: str | None = None,
        relates_to: str | None = None,
        version: str | None = None,
        peer: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Keep one raw envelope (``direction`` "in" or "out"); bytes are decoded as UTF-8."""
        if direction not in ("in", "out"):
            raise ValueError("direction must be 'in' or 'out'")
        text = envelope.decode("utf-8", "replace") if isinstance(envelope, bytes) else envelope
        at = as_utc(at) or self.clock()

        def work(session: Session) -> int:
            row = EnvelopeLog(
                at=at,
                direction=direction,
                charge_box_id=charge_box_id,
                action=action,
                message_id=message_id,
                relates_to=relates_to,
                version=version,
                peer=peer,
                envelope=text,
            )
            session.add(row)
            session.flush()
            return row.id

        return self.store.write(work)

    def prune_envelopes(self, older_than_days: float | None = None, batch: int = 5000) -> int:
        """Delete envelopes older than the retention (settings; 0 or less keeps everything).
        Deletes in batches so a big backlog never holds the write lock for long."""
        days = (
            self.settings.envelope_log_retention_days
            if older_than_days is None
            else older_than_days
        )
        if days is None or days <= 0:
            return 0
        cutoff = self.clock() - timedelta(days=days)
        total = 0
        while True:

            def work(session: Session) -> int:
                ids = (
                    session.execute(
                        select(EnvelopeLog.id).where(EnvelopeLog.at < cutoff).limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if ids:
                    session.execute(delete(EnvelopeLog).where(EnvelopeLog.id.in_(ids)))
                return len(ids)

            deleted = self.store.write(work)
            total += deleted
            if deleted < batch:
                return total
