"""Operator functions behind the CLI and the HTTP API: charge boxes, tags, and read-only views.

Everything returns JSON-friendly dicts (``records.to_dict``); errors are ``NotFound`` (404),
``Conflict`` (409) and ``ValueError`` (422), so both faces map them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import closing
from .addressguard import AddressGuard, AddressRefused
from .commands import EXPIRED, QUEUED, SENDING, state_condition, state_now
from .endpoint import SOURCE_MANUAL
from .errors import Conflict, NotFound
from .fieldlimits import check_admin
from .idtags import STORED_STATUSES, folded_equals
from .passwords import hash_secret
from .records import to_dict
from .settings import CentralSettings
from .storage.models import (
    BoxEvent,
    ChargeBox,
    CommandLog,
    ConnectorStatus,
    DataTransfer,
    EnvelopeLog,
    IdTag,
    MeterSample,
    PendingCommand,
    Reservation,
    Transaction,
)
from .storage.store import Store
from .timeutil import parse_time, utc_now
from .trust import ENDPOINT_CHANGED, ENDPOINT_REFUSED, check_allow_from, check_fingerprint

T = TypeVar("T")

REGISTRATION_STATUSES = ("Accepted", "Pending", "Rejected")
_UNSET: Any = object()
MAX_LIMIT = 10000


def _check_endpoint(address: str) -> str:
    address = address.strip()
    if not address.startswith(("http://", "https://")):
        raise ValueError(f"endpoint must be an http(s) URL, not {address!r}")
    return address


def _manual_event(box_id: str, kind: str, now: datetime, old: str | None, new: str | None,
                  detail: str) -> BoxEvent:
    return BoxEvent(at=now, charge_box_id=box_id, kind=kind, message="manual",
                    old_address=old, new_address=new, detail=detail)


def _check_version(version: str | None) -> None:
    if version is not None and version not in ("1.5", "1.6"):
        raise ValueError(f"ocpp_version must be 1.5 or 1.6, not {version!r}")


def _limit(limit: int | None) -> int:
    if limit is None:
        return MAX_LIMIT
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return min(limit, MAX_LIMIT)


def _clean_text(text: str | None, limit: int) -> str | None:
    """Operator text for the record: control characters dropped, length capped."""
    if text is None:
        return None
    return "".join(c for c in str(text) if c.isprintable())[:limit].strip() or None


def _find_tag(session: Session, id_tag: str) -> IdTag | None:
    """The tag under any case of ``id_tag`` (IdToken is case-insensitive)."""
    tag = session.get(IdTag, id_tag)
    if tag is None:
        tag = session.execute(
            select(IdTag).where(folded_equals(IdTag.id_tag, id_tag)).limit(1)).scalars().first()
    return tag


def _time_window(query: Select[Any], column: Any, since: Any, until: Any) -> Select[Any]:
    if since is not None:
        query = query.where(column >= parse_time(since))
    if until is not None:
        query = query.where(column < parse_time(until))
    return query


class CentralAdmin:
    """Operator actions over the store."""

    def __init__(
        self,
        store: Store,
        settings: CentralSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
        guard: AddressGuard | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or CentralSettings()
        self.clock = clock
        self.guard = guard or AddressGuard.from_settings(self.settings)
        #: The process's presence buffer (``CentralSystem.write_presence_behind``), flushed
        #: before each read so an operator sees the Heartbeats this process answered.
        self.presence: Any = None

    def _read(self, work: Callable[[Session], T]) -> T:
        if self.presence is not None:
            self.presence.flush()
        return self.store.read(work)

    def _guarded_endpoint(self, charge_box_id: str, address: str) -> str:
        """A hand-set address passes the same guard as a learned one; a refusal is a
        ValueError (422, exit 2) and a box event."""
        address = _check_endpoint(address)
        try:
            return self.guard.check_url(address, unresolved_ok=True)
        except AddressRefused as exc:
            now, why = self.clock(), str(exc)

            def note(session: Session) -> None:
                session.add(_manual_event(charge_box_id, ENDPOINT_REFUSED, now, None, address,
                                          why))

            if self._read(lambda s: s.get(ChargeBox, charge_box_id) is not None):
                self.store.write(note)
            raise ValueError(f"endpoint refused: {why}") from None

    # ----------------------------------------------------------------- charge boxes

    def add_chargebox(
        self,
        charge_box_id: str,
        *,
        registration_status: str = "Accepted",
        description: str | None = None,
        endpoint: str | None = None,
        auth_secret: str | None = None,
        ocpp_version: str | None = None,
        allow_from: str | None = None,
        cert_fingerprint: str | None = None,
    ) -> dict[str, Any]:
        """Register a box (it may then boot). Conflict if it exists. ``ocpp_version`` is only
        needed to command a box that has not talked to us yet (it is learned from messages).
        ``allow_from`` (CIDRs) and ``cert_fingerprint`` are credentials beside the secret."""
        if not charge_box_id or not charge_box_id.strip():
            raise ValueError("charge box id must not be empty")
        check_admin("charge_boxes", charge_box_id=charge_box_id, description=description,
                    endpoint_address=endpoint)
        _check_version(ocpp_version)
        allow_from = check_allow_from(allow_from)
        cert_fingerprint = check_fingerprint(cert_fingerprint)
        if endpoint:
            endpoint = self._guarded_endpoint(charge_box_id, endpoint)
        if registration_status not in REGISTRATION_STATUSES:
            raise ValueError(f"registration_status must be one of {REGISTRATION_STATUSES}")
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            if session.get(ChargeBox, charge_box_id) is not None:
                raise Conflict(f"charge box {charge_box_id!r} exists")
            box = ChargeBox(
                charge_box_id=charge_box_id,
                registration_status=registration_status,
                description=description,
                endpoint_override=False,
                auth_secret_hash=hash_secret(auth_secret) if auth_secret else None,
                ocpp_version=ocpp_version,
                allow_from=allow_from,
                cert_fingerprint=cert_fingerprint,
                created_at=now,
                updated_at=now,
            )
            if endpoint:
                box.endpoint_address = endpoint
                box.endpoint_source = SOURCE_MANUAL
                box.endpoint_override = True
                box.endpoint_updated_at = now
            session.add(box)
            session.flush()
            return to_dict(box)

        return self.store.write(work)

    def list_chargeboxes(self, registration_status: str | None = None) -> list[dict[str, Any]]:
        def work(session: Session) -> list[dict[str, Any]]:
            query = select(ChargeBox).order_by(ChargeBox.charge_box_id)
            if registration_status:
                query = query.where(ChargeBox.registration_status == registration_status)
            return [to_dict(b) for b in session.execute(query).scalars()]

        return self._read(work)

    def get_chargebox(self, charge_box_id: str) -> dict[str, Any]:
        """The box with its connectors' latest status."""

        def work(session: Session) -> dict[str, Any]:
            box = session.get(ChargeBox, charge_box_id)
            if box is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            out = to_dict(box)
            out["connectors"] = [
                to_dict(c)
                for c in session.execute(
                    select(ConnectorStatus)
                    .where(ConnectorStatus.charge_box_id == charge_box_id)
                    .order_by(ConnectorStatus.connector_id)
                ).scalars()
            ]
            return out

        return self._read(work)

    def update_chargebox(
        self,
        charge_box_id: str,
        *,
        registration_status: str | None = None,
        description: Any = _UNSET,
        auth_secret: Any = _UNSET,
        ocpp_version: str | None = None,
        allow_from: Any = _UNSET,
        cert_fingerprint: Any = _UNSET,
    ) -> dict[str, Any]:
        """Change registration, description, Basic-auth secret, source networks, certificate
        fingerprint (``None`` clears those) or the OCPP version to command the box with."""
        check_admin("charge_boxes", description=description if description is not _UNSET
                    else None)
        _check_version(ocpp_version)
        if allow_from is not _UNSET:
            allow_from = check_allow_from(allow_from)
        if cert_fingerprint is not _UNSET:
            cert_fingerprint = check_fingerprint(cert_fingerprint)
        if registration_status is not None and registration_status not in REGISTRATION_STATUSES:
            raise ValueError(f"registration_status must be one of {REGISTRATION_STATUSES}")
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            box = session.get(ChargeBox, charge_box_id)
            if box is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            if registration_status is not None:
                box.registration_status = registration_status
            if description is not _UNSET:
                box.description = description
            if auth_secret is not _UNSET:
                box.auth_secret_hash = hash_secret(auth_secret) if auth_secret else None
            if ocpp_version is not None:
                box.ocpp_version = ocpp_version
            if allow_from is not _UNSET:
                box.allow_from = allow_from
            if cert_fingerprint is not _UNSET:
                box.cert_fingerprint = cert_fingerprint
            box.updated_at = now
            return to_dict(box)

        return self.store.write(work)

    def set_endpoint(self, charge_box_id: str, address: str | None) -> dict[str, Any]:
        """Operator's address for the box; it wins over learning. ``None`` gives the box back to
        learning (the last learned address is used right away)."""
        now = self.clock()
        check_admin("charge_boxes", endpoint_address=address)
        if address and self._read(lambda s: s.get(ChargeBox, charge_box_id)) is None:
            raise NotFound(f"unknown charge box {charge_box_id!r}")
        address = self._guarded_endpoint(charge_box_id, address) if address else None

        def work(session: Session) -> dict[str, Any]:
            box = session.get(ChargeBox, charge_box_id)
            if box is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            old = box.endpoint_address
            if address:
                box.endpoint_address, box.endpoint_source = address, SOURCE_MANUAL
                box.endpoint_override = True
            else:
                box.endpoint_override = False
                box.endpoint_address, box.endpoint_source = box.learned_address, box.learned_source
            box.endpoint_updated_at = now
            box.updated_at = now
            if old != box.endpoint_address:
                session.add(_manual_event(
                    charge_box_id, ENDPOINT_CHANGED, now, old, box.endpoint_address,
                    "set by hand" if address else "manual address cleared: back to the learned"))
            return to_dict(box)

        return self.store.write(work)

    def remove_chargebox(self, charge_box_id: str) -> None:
        """Forget the box (its connector status and queued commands); its history stays."""

        def work(session: Session) -> None:
            box = session.get(ChargeBox, charge_box_id)
            if box is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            session.delete(box)

        self.store.write(work)

    def list_events(
        self,
        charge_box_id: str,
        *,
        kind: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The box's trust events, newest first (also for identities never registered)."""
        query = select(BoxEvent).where(BoxEvent.charge_box_id == charge_box_id)
        if kind:
            query = query.where(BoxEvent.kind == kind)
        query = _time_window(query, BoxEvent.at, since, until)
        query = query.order_by(BoxEvent.id.desc()).limit(_limit(limit)).offset(offset)
        return self._rows(query)

    # ----------------------------------------------------------------- id tags

    def add_tag(
        self,
        id_tag: str,
        *,
        status: str = "Accepted",
        expiry_date: datetime | str | None = None,
        parent_id_tag: str | None = None,
        max_active_transactions: Any = _UNSET,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Add an id tag; ``max_active_transactions`` defaults to the setting (None = no limit)."""
        if not id_tag or not id_tag.strip():
            raise ValueError("id tag must not be empty")
        check_admin("id_tags", id_tag=id_tag, parent_id_tag=parent_id_tag, note=note)
        if status not in STORED_STATUSES:
            raise ValueError(f"status must be one of {STORED_STATUSES}")
        if max_active_transactions is _UNSET:
            max_active_transactions = self.settings.default_max_active_transactions
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            existing = _find_tag(session, id_tag)
            if existing is not None:
                raise Conflict(f"id tag {id_tag!r} exists" + (
                    f" as {existing.id_tag!r} (idTags are case-insensitive)"
                    if existing.id_tag != id_tag else ""))
            tag = IdTag(
                id_tag=id_tag,
                status=status,
                expiry_date=parse_time(expiry_date),
                parent_id_tag=parent_id_tag or None,
                max_active_transactions=max_active_transactions,
                note=note,
                created_at=now,
                updated_at=now,
            )
            session.add(tag)
            session.flush()
            return to_dict(tag)

        try:
            return self.store.write(work)
        except IntegrityError:  # a case variant added at the same moment (unique index)
            raise Conflict(f"id tag {id_tag!r} exists") from None

    def list_tags(self, status: str | None = None, search: str | None = None,
                  limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Tags by id; ``search`` matches part of the id, parent or note (any case)."""
        def work(session: Session) -> list[dict[str, Any]]:
            query = select(IdTag).order_by(IdTag.id_tag)
            if status:
                query = query.where(IdTag.status == status)
            if search:
                pattern = "%" + search.lower()[:100].replace("\\", "\\\\").replace(
                    "%", "\\%").replace("_", "\\_") + "%"
                query = query.where(
                    func.lower(IdTag.id_tag).like(pattern, escape="\\")
                    | func.lower(func.coalesce(IdTag.parent_id_tag, "")).like(pattern, escape="\\")
                    | func.lower(func.coalesce(IdTag.note, "")).like(pattern, escape="\\"))
            if limit is not None:
                query = query.limit(_limit(limit)).offset(offset)
            return [to_dict(t) for t in session.execute(query).scalars()]

        return self._read(work)

    def get_tag(self, id_tag: str) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            tag = _find_tag(session, id_tag)
            if tag is None:
                raise NotFound(f"unknown id tag {id_tag!r}")
            return to_dict(tag)

        return self._read(work)

    def update_tag(
        self,
        id_tag: str,
        *,
        status: str | None = None,
        expiry_date: Any = _UNSET,
        parent_id_tag: Any = _UNSET,
        max_active_transactions: Any = _UNSET,
        note: Any = _UNSET,
    ) -> dict[str, Any]:
        """Change a tag; pass ``None`` to clear expiry, parent, limit or note."""
        check_admin("id_tags", **{k: v for k, v in (("parent_id_tag", parent_id_tag),
                                                    ("note", note)) if v is not _UNSET})
        if status is not None and status not in STORED_STATUSES:
            raise ValueError(f"status must be one of {STORED_STATUSES}")
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            tag = _find_tag(session, id_tag)
            if tag is None:
                raise NotFound(f"unknown id tag {id_tag!r}")
            if status is not None:
                tag.status = status
            if expiry_date is not _UNSET:
                tag.expiry_date = parse_time(expiry_date)
            if parent_id_tag is not _UNSET:
                if parent_id_tag and parent_id_tag.lower() == tag.id_tag.lower():
                    raise ValueError("a tag cannot be its own parent")
                tag.parent_id_tag = parent_id_tag or None
            if max_active_transactions is not _UNSET:
                tag.max_active_transactions = max_active_transactions
            if note is not _UNSET:
                tag.note = note
            tag.updated_at = now
            return to_dict(tag)

        return self.store.write(work)

    def block_tag(self, id_tag: str) -> dict[str, Any]:
        return self.update_tag(id_tag, status="Blocked")

    def unblock_tag(self, id_tag: str) -> dict[str, Any]:
        return self.update_tag(id_tag, status="Accepted")

    def remove_tag(self, id_tag: str) -> None:
        def work(session: Session) -> None:
            tag = _find_tag(session, id_tag)
            if tag is None:
                raise NotFound(f"unknown id tag {id_tag!r}")
            session.delete(tag)

        self.store.write(work)

    # ----------------------------------------------------------------- reservations

    def add_reservation(
        self,
        charge_box_id: str,
        connector_id: int,
        id_tag: str,
        expiry_date: datetime | str,
        *,
        parent_id_tag: str | None = None,
    ) -> dict[str, Any]:
        """Record a reservation before sending ReserveNow; its id is the reservationId to send."""
        check_admin("reservations", charge_box_id=charge_box_id, id_tag=id_tag,
                    parent_id_tag=parent_id_tag)
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            if session.get(ChargeBox, charge_box_id) is None:
                raise NotFound(f"unknown charge box {charge_box_id!r}")
            row = Reservation(
                charge_box_id=charge_box_id,
                connector_id=connector_id,
                id_tag=id_tag,
                parent_id_tag=parent_id_tag,
                expiry_date=parse_time(expiry_date),
                status="Requested",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return to_dict(row)

        return self.store.write(work)

    def set_reservation_status(self, reservation_id: int, status: str) -> dict[str, Any]:
        """Record the box's answer (Accepted, Faulted, Occupied, …) or Cancelled/Expired."""
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            row = session.get(Reservation, reservation_id)
            if row is None:
                raise NotFound(f"unknown reservation {reservation_id}")
            row.status, row.updated_at = status, now
            return to_dict(row)

        return self.store.write(work)

    def list_reservations(self, charge_box_id: str | None = None) -> list[dict[str, Any]]:
        query = select(Reservation).order_by(Reservation.id)
        if charge_box_id:
            query = query.where(Reservation.charge_box_id == charge_box_id)
        return self._rows(query)

    # ----------------------------------------------------------------- read-only views

    def _rows(self, query: Select[Any]) -> list[dict[str, Any]]:
        return self._read(lambda s: [to_dict(r) for r in s.execute(query).scalars()])

    def list_transactions(
        self,
        *,
        charge_box_id: str | None = None,
        id_tag: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        active: bool | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Transactions newest first; ``since``/``until`` apply to the start time (orphans, which
        have none, are matched by their stop time)."""
        query = select(Transaction).order_by(Transaction.id.desc())
        if charge_box_id:
            query = query.where(Transaction.charge_box_id == charge_box_id)
        if id_tag:
            query = query.where(folded_equals(Transaction.id_tag, id_tag))
        if active is True:
            query = query.where(Transaction.stop_timestamp.is_(None))
        elif active is False:
            query = query.where(Transaction.stop_timestamp.is_not(None))
        started = func.coalesce(Transaction.start_timestamp, Transaction.stop_timestamp)
        query = _time_window(query, started, since, until)
        return self._rows(query.limit(_limit(limit)).offset(offset))

    def close_transaction(
        self,
        transaction_id: int,
        *,
        by: str,
        meter_stop: int | None = None,
        reason: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Close an open transaction the box never stopped (it rebooted, lost a reply): stop
        value ``meter_stop`` or the last energy reading known, reason ``Other`` unless given,
        and who (``by``), when and why recorded. Conflict if it is stopped already."""
        check_admin("transactions", closed_by=by, close_note=note)
        reason = reason or closing.DEFAULT_REASON
        if reason not in closing.STOP_REASONS:
            raise ValueError(f"reason must be one of {', '.join(closing.STOP_REASONS)}")
        if meter_stop is not None and (isinstance(meter_stop, bool) or meter_stop < 0):
            raise ValueError("meter_stop must be a non-negative integer (Wh)")
        by = _clean_text(by, 200) or "operator"
        note = _clean_text(note, 1000) or "closed by an operator"
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            tx = session.get(Transaction, transaction_id, with_for_update=True)
            if tx is None:
                raise NotFound(f"unknown transaction {transaction_id}")
            if tx.stop_timestamp is not None:
                raise Conflict(f"transaction {transaction_id} is stopped already")
            readings = session.execute(closing.ENERGY_READINGS, {"tx_id": tx.id}).all()
            closing.close(tx, readings, now=now, by=by, note=note, reason=reason,
                          meter_stop=meter_stop)
            return to_dict(tx)

        return self.store.write(work)

    def get_transaction(self, transaction_id: int) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            tx = session.get(Transaction, transaction_id)
            if tx is None:
                raise NotFound(f"unknown transaction {transaction_id}")
            return to_dict(tx)

        return self._read(work)

    def list_meter_values(
        self,
        *,
        charge_box_id: str | None = None,
        transaction_id: int | None = None,
        connector_id: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = 1000,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Samples in time order; ``transaction_id`` also finds samples that named it but arrived
        before any matching transaction existed."""
        query = select(MeterSample).order_by(MeterSample.timestamp, MeterSample.id)
        if charge_box_id:
            query = query.where(MeterSample.charge_box_id == charge_box_id)
        if transaction_id is not None:
            query = query.where(
                (MeterSample.transaction_id == transaction_id)
                | (
                    MeterSample.transaction_id.is_(None)
                    & (MeterSample.reported_transaction_id == transaction_id)
                )
            )
        if connector_id is not None:
            query = query.where(MeterSample.connector_id == connector_id)
        query = _time_window(query, MeterSample.timestamp, since, until)
        return self._rows(query.limit(_limit(limit)).offset(offset))

    def connector_status(self, charge_box_id: str | None = None) -> list[dict[str, Any]]:
        query = select(ConnectorStatus).order_by(
            ConnectorStatus.charge_box_id, ConnectorStatus.connector_id
        )
        if charge_box_id:
            query = query.where(ConnectorStatus.charge_box_id == charge_box_id)
        return self._rows(query)

    def list_envelopes(
        self,
        *,
        charge_box_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        include_envelope: bool = True,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The message log, newest first."""
        query = select(EnvelopeLog).order_by(EnvelopeLog.id.desc())
        if charge_box_id:
            query = query.where(EnvelopeLog.charge_box_id == charge_box_id)
        if action:
            query = query.where(EnvelopeLog.action == action)
        if direction:
            query = query.where(EnvelopeLog.direction == direction)
        query = _time_window(query, EnvelopeLog.at, since, until)
        rows = self._rows(query.limit(_limit(limit)).offset(offset))
        if not include_envelope:
            for row in rows:
                row.pop("envelope", None)
        return rows

    def list_commands(
        self,
        *,
        charge_box_id: str | None = None,
        operation: str | None = None,
        outcome: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The command log, newest first."""
        query = select(CommandLog).order_by(CommandLog.id.desc())
        if charge_box_id:
            query = query.where(CommandLog.charge_box_id == charge_box_id)
        if operation:
            query = query.where(CommandLog.operation == operation)
        if outcome:
            query = query.where(CommandLog.outcome == outcome)
        query = _time_window(query, CommandLog.at, since, until)
        return self._rows(query.limit(_limit(limit)).offset(offset))

    def list_pending(
        self, charge_box_id: str | None = None, *, state: str | None = None,
        include_taken: bool = False,
    ) -> list[dict[str, Any]]:
        """Queued commands with the state a reader sees now (leases and expiry applied).

        ``state`` picks one state; without it, those still to be delivered (``queued`` and
        ``sending``), or every one with ``include_taken``."""
        now = self.clock()
        query = select(PendingCommand).order_by(PendingCommand.id)
        if charge_box_id:
            query = query.where(PendingCommand.charge_box_id == charge_box_id)
        if state:
            query = query.where(state_condition(state, now))
        elif not include_taken:
            query = query.where(state_condition(QUEUED, now) | state_condition(SENDING, now))

        def work(session: Session) -> list[dict[str, Any]]:
            return [{**to_dict(r), "state": state_now(r, now)}
                    for r in session.execute(query).scalars()]

        return self._read(work)

    def cancel_pending(self, pending_id: int) -> None:
        """Remove a command that is not being delivered and was not delivered."""
        now = self.clock()

        def work(session: Session) -> None:
            row = session.get(PendingCommand, pending_id)
            if row is None or state_now(row, now) not in (QUEUED, EXPIRED):
                raise NotFound(f"no queued command {pending_id}")
            session.delete(row)

        self.store.write(work)

    def get_envelope(self, envelope_id: int) -> dict[str, Any]:
        """One logged envelope with its text."""
        def work(session: Session) -> dict[str, Any]:
            row = session.get(EnvelopeLog, envelope_id)
            if row is None:
                raise NotFound(f"no logged envelope {envelope_id}")
            return to_dict(row)

        return self._read(work)

    def last_configuration(self, charge_box_id: str) -> dict[str, Any] | None:
        """The latest answered GetConfiguration of the box (its ``reply`` and time), or None."""
        rows = self.list_commands(charge_box_id=charge_box_id, operation="GetConfiguration",
                                  outcome="reply", limit=1)
        return rows[0] if rows else None

    # ----------------------------------------------------------------- overview

    def overview_totals(self) -> dict[str, Any]:
        """Boxes online/offline/never seen, connectors by status, active transactions, energy
        of today's finished transactions (see ``overview``)."""
        from . import overview

        return overview.totals(self.store, self.clock(), self.settings.heartbeat_interval)

    def box_page(self, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """One page of boxes with presence and connector states, and the number matching
        (filters: text, status, version, sort, descending, limit, offset)."""
        from . import overview

        return overview.box_page(self.store, self.clock(), self.settings.heartbeat_interval,
                                 **filters)

    def list_data_transfers(self, charge_box_id: str | None = None, limit: int | None = 100):
        query = select(DataTransfer).order_by(DataTransfer.id.desc())
        if charge_box_id:
            query = query.where(DataTransfer.charge_box_id == charge_box_id)
        return self._rows(query.limit(_limit(limit)))
