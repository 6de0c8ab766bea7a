"""Outbound side bookkeeping: queued commands, the command log and the raw envelope log.

These are what the wire glue and the API call around a CS→CP request; they live in the domain so
every face (API, CLI, the wake-up rule after an incoming message) records the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from .errors import Conflict, NoEndpoint, NotFound
from .repositories import Repositories, Units
from .settings import CentralSettings
from .storage.models import PendingCommand
from .timeutil import as_utc, parse_time

log = logging.getLogger("ocpp_soap.central")

OUTCOMES = ("reply", "fault", "timeout", "error")

#: A queued command's states (see ``PendingCommand``).
QUEUED, SENDING, SENT, FAILED, EXPIRED = "queued", "sending", "sent", "failed", "expired"
PENDING_STATES = (QUEUED, SENDING, SENT, FAILED, EXPIRED)

_P = PendingCommand.__table__.c

# The rules' SQL: what the states mean in a query, leases and expiry applied. The repositories
# (``storage.sqlrepos``) and the operators' reads (``admin``) build their statements from these.


def _not_expired(now: Any) -> Any:
    return _P.expires_at.is_(None) | (_P.expires_at > now)


def _undelivered(now: Any) -> Any:
    """Queued, or taken by a worker whose lease ran out (it died): still to be sent."""
    return (_P.state == QUEUED) | ((_P.state == SENDING) & (_P.lease_until <= now))


def deliverable(now: Any) -> Any:
    """Waiting to be sent: undelivered and not past its expiry."""
    return _undelivered(now) & _not_expired(now)


def past_expiry(now: Any) -> Any:
    """Undelivered and past its expiry: never sent (``expired``)."""
    return _undelivered(now) & (_P.expires_at <= now)


def in_flight(now: Any) -> Any:
    """Being delivered by a worker whose lease still runs."""
    return (_P.state == SENDING) & (_P.lease_until > now)


def held_by(attempt: Any) -> Any:
    """Still being delivered by delivery ``attempt`` (no later attempt took it since)."""
    return (_P.state == SENDING) & (_P.attempts == attempt)


def state_condition(state: str, now: datetime) -> Any:
    """SQL for "is in ``state`` now": what a reader sees, leases and expiry applied."""
    if state == QUEUED:
        return deliverable(now)
    if state == SENDING:
        return in_flight(now)
    if state == EXPIRED:
        return (_P.state == EXPIRED) | past_expiry(now)
    if state in (SENT, FAILED):
        return _P.state == state
    raise ValueError(f"state must be one of {', '.join(PENDING_STATES)}, not {state!r}")


def state_now(row: PendingCommand, now: datetime) -> str:
    """The state a reader sees (the stored one, with leases and expiry applied)."""
    state = row.state
    if state == SENDING and row.lease_until is not None and as_utc(row.lease_until) > now:
        return SENDING
    if state in (QUEUED, SENDING):
        expires = as_utc(row.expires_at)
        return EXPIRED if expires is not None and expires <= now else QUEUED
    return state


def waiting_for(box_id: Any, now: Any) -> Any:
    """SQL EXISTS: a command waits for the box ``box_id`` (a column or a parameter)."""
    return select(_P.id).where(_P.charge_box_id == box_id, deliverable(now)).exists()


#: Is anything waiting for a box? Built once; it runs on every Heartbeat.
HAS_PENDING = select(_P.id).where(_P.charge_box_id == bindparam("box_id"),
                                  deliverable(bindparam("now"))).limit(1)


@dataclass(frozen=True)
class QueuedCommand:
    """A command to send now that its box has talked to us."""

    id: int
    charge_box_id: str
    operation: str
    payload: dict[str, Any]
    created_at: datetime
    expires_at: datetime | None
    #: Which delivery attempt this is (1 for the first; more after a lease ran out).
    attempt: int = 1


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
    """Mixin for ``CentralSystem``: needs ``units``, ``settings`` and ``clock``.

    Every step is one unit of work on the repositories (``commands``, ``logs``, ``boxes``);
    the states, leases and expiry are decided here."""

    units: Units
    settings: CentralSettings
    clock: Callable[[], datetime]

    # ----------------------------------------------------------------- sending

    def command_target(self, charge_box_id: str, operation: str | None = None) -> CommandTarget:
        """Endpoint and version for a command. NotFound → 404; Conflict → 409 (the box may not
        get ``operation`` now, see ``may_command``); NoEndpoint (a Conflict) → 409 or queued."""
        box = self.units.read(lambda repos: repos.boxes.get(charge_box_id))
        if box is None:
            raise NotFound(f"unknown charge box {charge_box_id!r}")
        check_may_command(box.charge_box_id, box.registration_status, operation)
        if not box.endpoint_address:
            raise NoEndpoint(f"no endpoint known for charge box {charge_box_id!r}")
        return CommandTarget(
            charge_box_id, box.endpoint_address, box.ocpp_version or "1.6",
            box.endpoint_source, box.called_address,
        )

    # ----------------------------------------------------------------- pending queue

    def queue_command(
        self,
        charge_box_id: str,
        operation: str,
        payload: dict[str, Any],
        *,
        ttl_seconds: float | None = None,
        expires_at: datetime | str | None = None,
    ) -> int:
        """Queue ``operation`` for the box's next message; returns the queue entry's id.

        It expires at ``expires_at``, else after ``ttl_seconds``, else after the setting
        ``pending_expiry`` (24 h); an expired command is never sent."""
        now = self.clock()
        if expires_at is not None:
            expires = parse_time(expires_at)
        else:
            ttl = self.settings.pending_expiry if ttl_seconds is None else ttl_seconds
            expires = now + timedelta(seconds=ttl)
        values = {"charge_box_id": charge_box_id, "operation": operation, "payload": payload,
                  "created_at": now, "expires_at": expires, "state": QUEUED, "attempts": 0}

        def work(repos: Repositories) -> int:
            if repos.boxes.get(charge_box_id) is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            return repos.commands.add(values)

        return self.units.write(work)

    def pending_lease(self) -> timedelta:
        """How long a worker holds a command it delivers: longer than any delivery can take."""
        return timedelta(seconds=max(self.settings.pending_lease,
                                     self.settings.command_timeout + 5))

    def claim_pending(self, charge_box_id: str,
                      exclude: Collection[int] = ()) -> QueuedCommand | None:
        """Take the box's oldest waiting command for delivery (``sending``, under a lease), or
        None: nothing waits, or another worker is delivering one to this box now (one delivery
        in flight per box, across workers and instances). Queued commands past their expiry
        become ``expired`` here and are never sent; ``exclude``: ids this caller put back and
        passes over (a command that waits for the box's state)."""
        now = self.clock()
        lease = self.pending_lease()

        def work(repos: Repositories) -> QueuedCommand | None:
            commands = repos.commands
            # Claims for one box take turns, so two workers never both see "nothing in flight".
            commands.lock_claims(charge_box_id)
            commands.expire(charge_box_id, now)
            if commands.in_flight(charge_box_id, now):
                return None
            row = commands.next_deliverable(charge_box_id, now, exclude)
            if row is None:
                return None
            if row.state == SENDING:
                log.warning("%s: queued command #%d was not finished by the worker that took "
                            "it (lease over); sending it again", charge_box_id, row.id)
            row.state, row.lease_until, row.taken_at = SENDING, now + lease, now
            row.attempts = (row.attempts or 0) + 1
            commands.save(row)
            return QueuedCommand(row.id, row.charge_box_id, row.operation, row.payload or {},
                                 row.created_at, row.expires_at, row.attempts)

        return self.units.write(work)

    def finish_pending(self, command: QueuedCommand, state: str) -> bool:
        """Record the end of a delivery (``sent`` or ``failed``); False when the lease was lost
        meanwhile (another worker took the command again)."""
        if state not in (SENT, FAILED):
            raise ValueError("a delivery ends sent or failed")
        now = self.clock()
        return self.units.write(
            lambda repos: repos.commands.finish(command.id, command.attempt, state, now))

    def release_pending(self, pending_id: int) -> None:
        """Put a command being delivered back in the queue (the box could not be reached; it
        will talk again). It keeps its place: the queue is ordered by id."""

        def work(repos: Repositories) -> None:
            row = repos.commands.get(pending_id)
            if row is None:
                raise NotFound(f"no queued command {pending_id}")
            if row.state == SENDING:
                row.state, row.lease_until = QUEUED, None
                repos.commands.save(row)

        self.units.write(work)

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
        values = {
            "at": as_utc(at) or self.clock(),
            "charge_box_id": charge_box_id,
            "operation": operation,
            "version": version,
            "message_id": message_id,
            "endpoint": endpoint,
            "request": request,
            "reply": reply,
            "outcome": outcome,
            "error": text,
            "latency_ms": latency_ms,
            "pending_command_id": pending_command_id,
        }
        return self.units.write(lambda repos: repos.logs.add_command(values))

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
        values = {
            "at": as_utc(at) or self.clock(),
            "direction": direction,
            "charge_box_id": charge_box_id,
            "action": action,
            "message_id": message_id,
            "relates_to": relates_to,
            "version": version,
            "peer": peer,
            "envelope": text,
        }
        return self.units.write(lambda repos: repos.logs.add_envelope(values))

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
        if batch < 1:
            raise ValueError("batch must be at least 1")
        cutoff = self.clock() - timedelta(days=days)
        total = 0
        while True:
            deleted = self.units.write(
                lambda repos: repos.logs.prune_envelopes(cutoff, batch))
            total += deleted
            if deleted < batch:
                return total
