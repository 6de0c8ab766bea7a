"""The common case of the messages every box sends all day, on the driver's connection.

BootNotification, MeterValues, StatusNotification and StopTransaction from a registered box in good
standing are a handful of indexed statements each. Run through the ORM session they cost the
Central System most of its time per message (see ``storage/fastsql``); here the same statements
run as compiled Core statements on this thread's DB-API connection, in one write transaction.

Each function either does the whole message and returns its result, or raises ``Retry`` before
anything is committed when the case is not the common one (unknown box, a stored secret, an
address change to learn with logging, a repeated or unknown transaction …); the domain then takes
its general ORM path, which holds every rule. The rules that both paths need live in one place
(``metering``, ``CentralSystem._seen``), so the two cannot drift apart in what they store.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import plausibility
from .authorization import tag_info
from .commands import HAS_PENDING
from .idtags import CursorTags
from .metering import (
    LINKED_BY_CONNECTOR,
    SOURCE_METER_VALUES,
    SOURCE_STOP_TRANSACTION,
    build_samples,
    sample_key,
)
from .storage.fastsql import Cursor, Retry
from .storage.models import BoxEvent, ChargeBox, ConnectorStatus, MeterSample, Transaction

if TYPE_CHECKING:
    from .domain import CallContextLike, CentralSystem

__all__ = ["Retry", "authorize", "boot", "meter_values", "status_notification", "stop_transaction"]

_BOX = ChargeBox.__table__.c
_TX = Transaction.__table__.c
_SAMPLE = MeterSample.__table__.c

# What BootNotification reads and writes of the box (``CentralSystem._seen`` works on these).
_BOOT_STATE = ("registration_status", "auth_secret_hash", "allow_from", "cert_fingerprint",
               "ocpp_version", "endpoint_override",
               "endpoint_address", "endpoint_source", "endpoint_updated_at", "learned_address",
               "learned_source", "called_address")
_BOOT_WRITTEN = ("ocpp_version", "endpoint_address", "endpoint_source", "endpoint_updated_at",
                 "learned_address", "learned_source", "last_seen_at", "updated_at", "last_boot_at",
                 "called_address")
_BOX_FOR_BOOT = select(*(_BOX[c] for c in _BOOT_STATE)).where(
    _BOX.charge_box_id == bindparam("box_id"))

_INSERT_EVENT = insert(BoxEvent.__table__).values(
    {c: bindparam(c) for c in ("at", "charge_box_id", "kind", "source_ip", "message",
                               "old_address", "new_address", "detail")})

_SAMPLE_COLUMNS = ("transaction_id", "reported_transaction_id", "charge_box_id", "connector_id",
                   "timestamp", "value", "source", "received_at", "measurand", "unit", "context",
                   "format", "phase", "location", "reported_unit", "linked_by", "warnings")
_INSERT_SAMPLE = insert(MeterSample.__table__).values(
    {c: bindparam(c) for c in _SAMPLE_COLUMNS})
_KEY_COLUMNS = ("connector_id", "reported_transaction_id", "timestamp", "value", "measurand",
                "unit", "context", "format", "phase", "location")
# Stored readings of a box from one source within a time range: the candidates for a re-send.
_STORED_IN_RANGE = select(*(_SAMPLE[c] for c in _KEY_COLUMNS)).where(
    _SAMPLE.charge_box_id == bindparam("box_id"),
    _SAMPLE.source == bindparam("source"),
    _SAMPLE.timestamp >= bindparam("first"),
    _SAMPLE.timestamp <= bindparam("last"),
)
_TX_OF = select(_TX.charge_box_id, _TX.connector_id, _TX.stop_timestamp, _TX.meter_start,
                _TX.warnings).where(_TX.id == bindparam("tx_id"))
_TX_STOP = (
    update(Transaction.__table__)
    .where(_TX.id == bindparam("tx_id"), _TX.stop_timestamp.is_(None))
    .values(stop_timestamp=bindparam("stopped"), meter_stop=bindparam("meter_stop"),
            stop_reason=bindparam("reason"), stop_reason_raw=bindparam("reason_raw"),
            stop_id_tag=bindparam("stop_id_tag"), warnings=bindparam("warnings"),
            stop_received_at=bindparam("now"), stop_count=_TX.stop_count + 1)
)


@cache
def _boot_update() -> Any:
    values: dict[str, Any] = {c: bindparam(c) for c in _BOOT_WRITTEN}
    from .domain import BOOT_FIELDS

    values.update({column: bindparam(column) for column in BOOT_FIELDS.values()})
    return update(ChargeBox.__table__).where(_BOX.charge_box_id == bindparam("box_id")).values(
        **values)


@cache
def _status_upsert(dialect: str) -> Any:
    module = {"sqlite": sqlite, "postgresql": postgresql}[dialect]
    columns = ("charge_box_id", "connector_id", "status", "error_code", "info", "vendor_id",
               "vendor_error_code", "timestamp", "reported_timestamp", "received_at")
    stmt = module.insert(ConnectorStatus.__table__).values({c: bindparam(c) for c in columns})
    keys = ("charge_box_id", "connector_id")
    # The most recently received wins (see ``CentralSystem.status_notification``).
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in columns if c not in keys})


def _accept(cs: CentralSystem, cur: Cursor, ctx: CallContextLike, now: datetime) -> None:
    """The quick acceptance of ``CentralSystem._quick_accept`` on this cursor, or ``Retry``."""
    params = cs.quick_accept_params(ctx, now)
    if params is None or cur.execute(cs.fast(cs.QUICK_SEEN), params) != 1:
        raise Retry


def boot(cs: CentralSystem, ctx: CallContextLike, payload: dict[str, Any],
         now: datetime) -> str:
    """BootNotification of a stored box without a secret: its fields, times and endpoint."""
    from .domain import BOOT_FIELDS, REGISTRATION_STATUSES

    cs._check_identity(ctx)
    if cs._must_authenticate(ctx):
        raise Retry

    def work(cur: Cursor) -> str:
        row = cur.first(cs.fast(_BOX_FOR_BOOT), {"box_id": ctx.charge_box_id})
        if row is None:
            raise Retry  # unknown box: the registration policy is the general path's
        box = SimpleNamespace(charge_box_id=ctx.charge_box_id, **dict(zip(_BOOT_STATE, row,
                                                                         strict=True)))
        if (box.auth_secret_hash, box.allow_from, box.cert_fingerprint) != (None, None, None):
            raise Retry
        events = cs.admitted(cs._seen(box, ctx, now))
        box.last_boot_at = now
        values = {c: getattr(box, c) for c in _BOOT_WRITTEN}
        for wire_name, column in BOOT_FIELDS.items():
            value = payload.get(wire_name)
            values[column] = None if value is None else str(value)
        values["box_id"] = ctx.charge_box_id
        cur.execute(cs.fast(_boot_update()), values)
        if events:
            cur.executemany(cs.fast(_INSERT_EVENT), events)
        _note_pending(cs, cur, ctx)
        status = box.registration_status
        return status if status in REGISTRATION_STATUSES else "Rejected"

    return cs.store.fast.write(work)


def authorize(cs: CentralSystem, ctx: CallContextLike, id_tag: str | None,
              now: datetime) -> dict[str, Any]:
    """Authorize from a box in good standing: its seen time, and the tag's IdTagInfo."""
    def work(cur: Cursor) -> dict[str, Any]:
        _accept(cs, cur, ctx, now)
        return tag_info(cs.authorizer, CursorTags(cs.store.fast, cur), ctx, id_tag, now,
                        "Authorize")

    return cs.store.fast.write(work)


def meter_values(cs: CentralSystem, ctx: CallContextLike, payload: dict[str, Any],
                 now: datetime) -> None:
    reported = payload.get("transactionId")

    def work(cur: Cursor) -> None:
        _accept(cs, cur, ctx, now)
        tx_id, linked_by = None, None
        connector_id = payload.get("connectorId")
        if reported is not None:
            tx = cur.first(cs.fast(_TX_OF), {"tx_id": reported})
            if tx is not None and tx[0] == ctx.charge_box_id:
                tx_id = reported
        elif connector_id:
            # the rule of ``CentralSystem._only_open_transaction``
            ids = cur.all(cs.fast(cs.OPEN_ON_CONNECTOR),
                          {"box_id": ctx.charge_box_id, "connector_id": connector_id})
            if len(ids) == 1:
                tx_id, linked_by = ids[0][0], LINKED_BY_CONNECTOR
        rows = build_samples(
            payload.get("meterValue"),
            charge_box_id=ctx.charge_box_id,
            connector_id=connector_id,
            transaction_id=tx_id,
            reported_transaction_id=reported,
            source=SOURCE_METER_VALUES,
            received_at=now,
            clock_skew=cs.settings.clock_skew,
            linked_by=linked_by,
        )
        if rows and not _stored_already(cs, cur, rows):
            cur.executemany(cs.fast(_INSERT_SAMPLE), rows)

    cs.store.fast.write(work)


def _stored_already(cs: CentralSystem, cur: Cursor, rows: list[dict[str, Any]]) -> bool:
    """The rule of ``CentralSystem._not_stored_yet``: a message all of whose readings are stored
    is a re-send (its reply was lost) and is not stored twice."""
    stamps = [r["timestamp"] for r in rows if r["timestamp"] is not None]
    if not stamps:
        return False
    first = rows[0]
    stored = cur.all(cs.fast(_STORED_IN_RANGE), {
        "box_id": first["charge_box_id"], "source": first["source"],
        "first": min(stamps), "last": max(stamps)})
    if not stored:
        return False
    known = set()
    for values in stored:
        s = dict(zip(_KEY_COLUMNS, values, strict=True))
        known.add((s["connector_id"], s["reported_transaction_id"], sample_key(s)))
    return all((r["connector_id"], r["reported_transaction_id"], sample_key(r)) in known
               for r in rows)


def status_notification(cs: CentralSystem, ctx: CallContextLike, values: dict[str, Any],
                        now: datetime) -> None:
    """The connector's latest status (``values``: the columns the general path writes too)."""
    def work(cur: Cursor) -> None:
        _accept(cs, cur, ctx, now)
        cur.execute(cs.fast(_status_upsert(cs.store.dialect)), values)

    cs.store.fast.write(work)


def stop_transaction(cs: CentralSystem, ctx: CallContextLike, payload: dict[str, Any],
                     now: datetime, stopped: datetime | None) -> None:
    """The first StopTransaction of an open transaction of this box, with its data.

    The idTagInfo of the reply is the caller's (it reads, and needs no write lock)."""
    reported = payload.get("transactionId")
    if reported is None:
        raise Retry

    def work(cur: Cursor) -> None:
        _accept(cs, cur, ctx, now)
        tx = cur.first(cs.fast(_TX_OF), {"tx_id": reported})
        if tx is None or tx[0] != ctx.charge_box_id or tx[2] is not None:
            raise Retry  # unknown, another box's, or a repeated stop: the general path
        from .domain import stop_reason

        id_tag = payload.get("idTag")
        reason, reason_raw = stop_reason(payload.get("reason"))
        warnings = plausibility.stop_warnings(tx[3], payload.get("meterStop"), stopped, now,
                                              cs.settings.clock_skew)
        if warnings:
            raise Retry  # logged and merged on the general path
        changed = cur.execute(cs.fast(_TX_STOP), {
            "tx_id": reported, "stopped": stopped or now, "meter_stop": payload.get("meterStop"),
            "reason": reason, "reason_raw": reason_raw, "stop_id_tag": id_tag, "now": now,
            "warnings": tx[4]})
        if changed != 1:
            raise Retry
        rows = build_samples(
            payload.get("transactionData"),
            charge_box_id=ctx.charge_box_id,
            connector_id=tx[1],
            transaction_id=reported,
            reported_transaction_id=reported,
            source=SOURCE_STOP_TRANSACTION,
            received_at=now,
            clock_skew=cs.settings.clock_skew,
        )
        cur.executemany(cs.fast(_INSERT_SAMPLE), rows)

    cs.store.fast.write(work)


def _note_pending(cs: CentralSystem, cur: Cursor, ctx: CallContextLike) -> None:
    extra = getattr(ctx, "extra", None)
    if extra is not None:
        extra["has_pending"] = cur.first(cs.fast(HAS_PENDING), {
            "box_id": ctx.charge_box_id, "now": cs.clock()}) is not None
