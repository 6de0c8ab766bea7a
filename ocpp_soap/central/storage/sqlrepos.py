"""The repositories of ``central.repositories`` on compiled statements (``fastsql``).

Every message of every box runs through here, so each question is one indexed statement built
once as a SQLAlchemy Core object (one definition for SQLite and PostgreSQL) and compiled once
per database; rows come back as ``Record`` objects and ``save`` writes only the columns the
domain changed. Nothing here decides anything: the rules are the domain's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from functools import cache, cached_property
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..closing import ENERGY_READINGS
from ..commands import (
    EXPIRED,
    HAS_PENDING,
    deliverable,
    held_by,
    in_flight,
    past_expiry,
    waiting_for,
)
from ..idtags import ACCEPTED, folded_equals
from ..repositories import Record, Standing
from .eventtables import PENDING, OutboxEvent, WebhookDelivery
from .fastsql import Cursor, FastSQL
from .models import (
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
    StatusEvent,
    Transaction,
)

T = TypeVar("T")

_BOXES: Table = ChargeBox.__table__
_TXS: Table = Transaction.__table__
_SAMPLES: Table = MeterSample.__table__
_TAGS: Table = IdTag.__table__
_PENDING: Table = PendingCommand.__table__
_BOX, _TX, _SAMPLE, _TAG, _CMD = _BOXES.c, _TXS.c, _SAMPLES.c, _TAGS.c, _PENDING.c


def _inserting(table: Table, columns: Iterable[str]) -> Any:
    return insert(table).values({c: bindparam(c) for c in columns})


# -- charge boxes ------------------------------------------------------------------------------

def _standing() -> tuple[Any, ...]:
    """The stored row still matches ``Standing``: Accepted, no credential, same version and
    address (or a manual address), called at the same URL."""
    address, source = bindparam("address"), bindparam("source")
    return (
        _BOX.charge_box_id == bindparam("box_id"),
        _BOX.registration_status == "Accepted",
        _BOX.auth_secret_hash.is_(None),
        _BOX.allow_from.is_(None),
        _BOX.cert_fingerprint.is_(None),
        _BOX.ocpp_version == bindparam("version"),
        _BOX.learned_address == address,
        _BOX.learned_source == source,
        _BOX.called_address.is_not_distinct_from(bindparam("called")),
        _BOX.endpoint_override.is_(True)
        | ((_BOX.endpoint_address == address) & (_BOX.endpoint_source == source)),
    )


_TOUCH = update(_BOXES).where(*_standing()).values(
    last_seen_at=bindparam("now"), updated_at=bindparam("now"))
_TOUCH_HEARTBEAT = update(_BOXES).where(*_standing()).values(
    last_seen_at=bindparam("now"), updated_at=bindparam("now"),
    last_heartbeat_at=bindparam("now"))
_COMMANDS_IF_STANDING = select(
    _BOX.charge_box_id, waiting_for(_BOX.charge_box_id, bindparam("now"))).where(*_standing())
_BOX_COLUMNS = tuple(_BOXES.c.keys())
_INSERT_BOX = _inserting(_BOXES, _BOX_COLUMNS)
#: What admission reads of a box (``BoxRepository.get``): every message of a box that cannot
#: take the quick acceptance reads these, and converting all columns cost a third of a boot.
_ADMISSION_COLUMNS = ("charge_box_id", "registration_status", "auth_secret_hash", "allow_from",
                      "cert_fingerprint", "ocpp_version", "endpoint_override",
                      "endpoint_address", "endpoint_source", "endpoint_updated_at",
                      "learned_address", "learned_source", "called_address")
_BOX_ROW = select(*(_BOX[c] for c in _ADMISSION_COLUMNS)).where(
    _BOX.charge_box_id == bindparam("box_id"))
_BOX_SECRET = select(_BOX.auth_secret_hash).where(_BOX.charge_box_id == bindparam("box_id"))
_INSERT_BOX_EVENT = _inserting(BoxEvent.__table__, (
    "at", "charge_box_id", "kind", "source_ip", "message", "old_address", "new_address",
    "detail"))
_STATUS_COLUMNS = ("charge_box_id", "connector_id", "status", "error_code", "info", "vendor_id",
                   "vendor_error_code", "timestamp", "reported_timestamp", "received_at")
_INSERT_STATUS_EVENT = _inserting(StatusEvent.__table__,
                                  ("charge_box_id", "kind", "status", "received_at"))
_INSERT_DATA_TRANSFER = _inserting(DataTransfer.__table__, (
    "charge_box_id", "direction", "vendor_id", "message_id", "data", "status", "reply_data",
    "received_at"))


@cache
def _connector_status_upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE: the last received status replaces the stored one."""
    module = {"sqlite": sqlite, "postgresql": postgresql}[dialect]
    stmt = module.insert(ConnectorStatus.__table__).values(
        {c: bindparam(c) for c in _STATUS_COLUMNS})
    keys = ("charge_box_id", "connector_id")
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in _STATUS_COLUMNS
                                   if c not in keys})


@cache
def _updating(table: Table, columns: frozenset[str]) -> Any:
    """UPDATE of these columns by primary key (one statement per set of changed columns)."""
    (key,) = table.primary_key.columns
    return update(table).where(key == bindparam("row_key")).values(
        {c: bindparam(c) for c in sorted(columns)})


def _record(columns: Sequence[str], row: Sequence[Any]) -> Record:
    return Record(**dict(zip(columns, row, strict=True)))


class SqlBoxes:
    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    def _params(self, standing: Standing) -> dict[str, Any]:
        return {"box_id": standing.box_id, "version": standing.version,
                "address": standing.address, "source": standing.source,
                "called": standing.called}

    def touch_if_standing(self, standing: Standing, now: datetime, *,
                          heartbeat: bool = False) -> bool:
        stmt = self.fast.statement(_TOUCH_HEARTBEAT if heartbeat else _TOUCH)
        return self.cursor.execute(stmt, {**self._params(standing), "now": now}) == 1

    def commands_if_standing(self, standing: Standing, now: datetime) -> bool | None:
        row = self.cursor.first(self.fast.statement(_COMMANDS_IF_STANDING),
                                {**self._params(standing), "now": now})
        return None if row is None else bool(row[1])

    def get(self, box_id: str) -> Record | None:
        row = self.cursor.first(self.fast.statement(_BOX_ROW), {"box_id": box_id})
        return None if row is None else _record(_ADMISSION_COLUMNS, row)

    def secret_hash(self, box_id: str) -> str | None:
        row = self.cursor.first(self.fast.statement(_BOX_SECRET), {"box_id": box_id})
        return None if row is None else row[0]

    def add(self, values: dict[str, Any]) -> Record:
        row = {c: None for c in _BOX_COLUMNS} | values
        self.cursor.execute(self.fast.statement(_INSERT_BOX), row)
        return Record(**row)

    def save(self, box: Record) -> None:
        _save(self.fast, self.cursor, _BOXES, box, box.charge_box_id)

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        self.cursor.executemany(self.fast.statement(_INSERT_BOX_EVENT), events)

    def set_connector_status(self, values: dict[str, Any]) -> None:
        stmt = _connector_status_upsert(self.fast.engine.dialect.name)
        self.cursor.execute(self.fast.statement(stmt), values)

    def add_status_event(self, values: dict[str, Any]) -> None:
        self.cursor.execute(self.fast.statement(_INSERT_STATUS_EVENT), values)

    def add_data_transfer(self, values: dict[str, Any]) -> None:
        self.cursor.execute(self.fast.statement(_INSERT_DATA_TRANSFER), values)


def _save(fast: FastSQL, cursor: Cursor, table: Table, row: Record, key: Any) -> None:
    changed = row.changes()
    if not changed:
        return
    cursor.execute(fast.statement(_updating(table, frozenset(changed))),
                   {**changed, "row_key": key})
    row.mark_saved()


# -- transactions ------------------------------------------------------------------------------

_TX_COLUMNS = tuple(_TXS.c.keys())
_TX_ROW = select(*_TXS.c).where(_TX.id == bindparam("tx_id"))
_RETRIED_START = select(*_TXS.c).where(
    _TX.charge_box_id == bindparam("box_id"),
    _TX.connector_id.is_not_distinct_from(bindparam("connector_id")),
    _TX.id_tag.is_not_distinct_from(bindparam("id_tag")),
    _TX.start_timestamp.is_not_distinct_from(bindparam("started")),
    _TX.meter_start.is_not_distinct_from(bindparam("meter_start")),
    _TX.orphan.is_(False),
).order_by(_TX.id).limit(1)
_OPEN_ON_CONNECTOR = select(*_TXS.c).where(
    _TX.charge_box_id == bindparam("box_id"),
    _TX.connector_id == bindparam("connector_id"),
    _TX.stop_timestamp.is_(None),
    _TX.orphan.is_(False),
).order_by(_TX.id)
_OPEN_ON_CONNECTOR_LOCKED = _OPEN_ON_CONNECTOR.with_for_update()
_TX_INSERT_COLUMNS = tuple(c for c in _TX_COLUMNS if c != "id")
_INSERT_TX = _inserting(_TXS, _TX_INSERT_COLUMNS).returning(_TX.id)
_RES = Reservation.__table__.c
_USE_RESERVATION = update(Reservation.__table__).where(
    _RES.id == bindparam("reservation_id"), _RES.charge_box_id == bindparam("box_id"),
).values(status="Used", transaction_id=bindparam("tx_id"), updated_at=bindparam("now"))


class SqlTransactions:
    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    def get(self, tx_id: int) -> Record | None:
        row = self.cursor.first(self.fast.statement(_TX_ROW), {"tx_id": tx_id})
        return None if row is None else _record(_TX_COLUMNS, row)

    def retried_start(self, box_id: str, connector_id: int | None, id_tag: str | None,
                      started: datetime | None, meter_start: int | None) -> Record | None:
        row = self.cursor.first(self.fast.statement(_RETRIED_START), {
            "box_id": box_id, "connector_id": connector_id, "id_tag": id_tag,
            "started": started, "meter_start": meter_start})
        return None if row is None else _record(_TX_COLUMNS, row)

    def open_on_connector(self, box_id: str, connector_id: int, *,
                          lock: bool = False, limit: int | None = None) -> list[Record]:
        stmt = _OPEN_ON_CONNECTOR_LOCKED if lock else _OPEN_ON_CONNECTOR
        rows = self.cursor.all(self.fast.statement(stmt),
                               {"box_id": box_id, "connector_id": connector_id})
        return [_record(_TX_COLUMNS, r) for r in rows[:limit]]

    def add(self, values: dict[str, Any]) -> int:
        row = {c: None for c in _TX_INSERT_COLUMNS} | values
        return int(self.cursor.first(self.fast.statement(_INSERT_TX), row)[0])

    def save(self, tx: Record) -> None:
        _save(self.fast, self.cursor, _TXS, tx, tx.id)

    def use_reservation(self, reservation_id: int, box_id: str, tx_id: int,
                        now: datetime) -> None:
        self.cursor.execute(self.fast.statement(_USE_RESERVATION), {
            "reservation_id": reservation_id, "box_id": box_id, "tx_id": tx_id, "now": now})


# -- meter values ------------------------------------------------------------------------------

_SAMPLE_COLUMNS = ("transaction_id", "reported_transaction_id", "charge_box_id", "connector_id",
                   "timestamp", "value", "source", "received_at", "measurand", "unit", "context",
                   "format", "phase", "location", "reported_unit", "linked_by", "warnings")
_INSERT_SAMPLE = _inserting(_SAMPLES, _SAMPLE_COLUMNS)
#: What identifies a reading (``metering.sample_key``), with its connector and reported id.
_KEY_COLUMNS = ("connector_id", "reported_transaction_id", "timestamp", "value", "measurand",
                "unit", "context", "format", "phase", "location")
_STORED_BETWEEN = select(*(_SAMPLE[c] for c in _KEY_COLUMNS)).where(
    _SAMPLE.charge_box_id == bindparam("box_id"),
    _SAMPLE.source == bindparam("source"),
    _SAMPLE.timestamp >= bindparam("first"),
    _SAMPLE.timestamp <= bindparam("last"),
)
_OF_TRANSACTION = select(*(_SAMPLE[c] for c in _KEY_COLUMNS)).where(
    _SAMPLE.transaction_id == bindparam("tx_id"), _SAMPLE.source == bindparam("source"))


class SqlMeterValues:
    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        self.cursor.executemany(self.fast.statement(_INSERT_SAMPLE), rows)

    def _keyed(self, stmt: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(zip(_KEY_COLUMNS, r, strict=True))
                for r in self.cursor.all(self.fast.statement(stmt), params)]

    def stored_between(self, box_id: str, source: str, first: datetime,
                       last: datetime) -> list[dict[str, Any]]:
        return self._keyed(_STORED_BETWEEN, {"box_id": box_id, "source": source,
                                             "first": first, "last": last})

    def of_transaction(self, tx_id: int, source: str) -> list[dict[str, Any]]:
        return self._keyed(_OF_TRANSACTION, {"tx_id": tx_id, "source": source})

    def energy_readings(self, tx_id: int) -> list[tuple[Any, ...]]:
        return self.cursor.all(self.fast.statement(ENERGY_READINGS), {"tx_id": tx_id})


# -- tags --------------------------------------------------------------------------------------

_TAG_COLUMNS = ("id_tag", "status", "expiry_date", "parent_id_tag", "max_active_transactions")
_TAG_BY_KEY = select(*(_TAG[c] for c in _TAG_COLUMNS)).where(_TAG.id_tag == bindparam("id_tag"))
_TAG_FOLDED = select(*(_TAG[c] for c in _TAG_COLUMNS)).where(
    func.lower(_TAG.id_tag) == func.lower(bindparam("folded"))).limit(1)
_TAG_BY_KEY_LOCKED = _TAG_BY_KEY.with_for_update()
_TAG_FOLDED_LOCKED = _TAG_FOLDED.with_for_update()
_ACTIVE = select(func.count(_TX.id)).where(
    folded_equals(_TX.id_tag, bindparam("id_tag")),
    _TX.stop_timestamp.is_(None),
    _TX.orphan.is_(False),
    _TX.start_status == ACCEPTED,
    _TX.id.is_distinct_from(bindparam("exclude_id")),
)


class SqlTags:
    """``idtags.TagSource`` on the cursor; ``lock``: the tag rows are read for update (the
    ConcurrentTx count of a start is taken under that lock)."""

    def __init__(self, fast: FastSQL, cursor: Cursor, lock: bool = False):
        self.fast, self.cursor, self.lock = fast, cursor, lock

    def _row(self, stmt: Any, params: dict[str, Any]) -> Record | None:
        row = self.cursor.first(self.fast.statement(stmt), params)
        return None if row is None else _record(_TAG_COLUMNS, row)

    def tag(self, id_tag: str) -> Record | None:
        return self._row(_TAG_BY_KEY_LOCKED if self.lock else _TAG_BY_KEY, {"id_tag": id_tag})

    def folded(self, id_tag: str) -> Record | None:
        return self._row(_TAG_FOLDED_LOCKED if self.lock else _TAG_FOLDED, {"folded": id_tag})

    def active(self, id_tag: str, exclude_id: int | None) -> int:
        row = self.cursor.first(self.fast.statement(_ACTIVE),
                                {"id_tag": id_tag, "exclude_id": exclude_id})
        return int(row[0])


# -- queued commands ---------------------------------------------------------------------------

_CMD_COLUMNS = tuple(_PENDING.c.keys())
_CMD_INSERT_COLUMNS = tuple(c for c in _CMD_COLUMNS if c != "id")
_INSERT_CMD = _inserting(_PENDING, _CMD_INSERT_COLUMNS).returning(_CMD.id)
_CMD_ROW = select(*_PENDING.c).where(_CMD.id == bindparam("command_id"))
#: The box's row for update: claims for one box take turns (PostgreSQL's row lock; SQLite has
#: no FOR UPDATE, its write lock already makes every write unit take turns).
_LOCK_CLAIMS = select(_BOX.charge_box_id).where(
    _BOX.charge_box_id == bindparam("box_id")).with_for_update()
_EXPIRE = update(_PENDING).where(
    _CMD.charge_box_id == bindparam("box_id"), past_expiry(bindparam("now")),
).values(state=EXPIRED, finished_at=bindparam("now"), lease_until=None)
_IN_FLIGHT = select(_CMD.id).where(
    _CMD.charge_box_id == bindparam("box_id"), in_flight(bindparam("now"))).limit(1)
#: The oldest deliverable commands, as many as asked: one more than the caller passes over
#: (ids to exclude are skipped here, not bound as an IN list of varying length).
_DELIVERABLE = select(*_PENDING.c).where(
    _CMD.charge_box_id == bindparam("box_id"), deliverable(bindparam("now")),
).order_by(_CMD.id).limit(bindparam("first"))
_FINISH = update(_PENDING).where(
    _CMD.id == bindparam("command_id"), held_by(bindparam("attempt")),
).values(state=bindparam("state"), finished_at=bindparam("now"), lease_until=None)


class SqlCommands:
    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    def waiting(self, box_id: str, now: datetime) -> bool:
        return self.cursor.first(self.fast.statement(HAS_PENDING),
                                 {"box_id": box_id, "now": now}) is not None

    def add(self, values: dict[str, Any]) -> int:
        row = {c: None for c in _CMD_INSERT_COLUMNS} | values
        return int(self.cursor.first(self.fast.statement(_INSERT_CMD), row)[0])

    def lock_claims(self, box_id: str) -> None:
        self.cursor.first(self.fast.statement(_LOCK_CLAIMS), {"box_id": box_id})

    def expire(self, box_id: str, now: datetime) -> int:
        return self.cursor.execute(self.fast.statement(_EXPIRE), {"box_id": box_id, "now": now})

    def in_flight(self, box_id: str, now: datetime) -> bool:
        return self.cursor.first(self.fast.statement(_IN_FLIGHT),
                                 {"box_id": box_id, "now": now}) is not None

    def next_deliverable(self, box_id: str, now: datetime,
                         exclude: Collection[int] = ()) -> Record | None:
        skip = frozenset(exclude)
        rows = self.cursor.all(self.fast.statement(_DELIVERABLE),
                               {"box_id": box_id, "now": now, "first": len(skip) + 1})
        for row in rows:
            command = _record(_CMD_COLUMNS, row)
            if command.id not in skip:
                return command
        return None

    def get(self, command_id: int) -> Record | None:
        row = self.cursor.first(self.fast.statement(_CMD_ROW), {"command_id": command_id})
        return None if row is None else _record(_CMD_COLUMNS, row)

    def save(self, command: Record) -> None:
        _save(self.fast, self.cursor, _PENDING, command, command.id)

    def finish(self, command_id: int, attempt: int, state: str, now: datetime) -> bool:
        return self.cursor.execute(self.fast.statement(_FINISH), {
            "command_id": command_id, "attempt": attempt, "state": state, "now": now}) == 1


# -- logs --------------------------------------------------------------------------------------

_COMMAND_LOG: Table = CommandLog.__table__
_ENVELOPES: Table = EnvelopeLog.__table__
_LOG_COLUMNS = tuple(c for c in _COMMAND_LOG.c.keys() if c != "id")
_ENVELOPE_COLUMNS = tuple(c for c in _ENVELOPES.c.keys() if c != "id")
_INSERT_COMMAND_LOG = _inserting(_COMMAND_LOG, _LOG_COLUMNS).returning(_COMMAND_LOG.c.id)
_INSERT_ENVELOPE = _inserting(_ENVELOPES, _ENVELOPE_COLUMNS).returning(_ENVELOPES.c.id)
#: One batch of old envelopes: a fixed statement (the ids come from a subquery, not a list).
_PRUNE_ENVELOPES = delete(_ENVELOPES).where(_ENVELOPES.c.id.in_(
    select(_ENVELOPES.c.id).where(_ENVELOPES.c.at < bindparam("before"))
    .order_by(_ENVELOPES.c.id).limit(bindparam("batch")).scalar_subquery()))


class SqlLogs:
    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    def add_command(self, values: dict[str, Any]) -> int:
        row = {c: None for c in _LOG_COLUMNS} | values
        return int(self.cursor.first(self.fast.statement(_INSERT_COMMAND_LOG), row)[0])

    def add_envelope(self, values: dict[str, Any]) -> int:
        row = {c: None for c in _ENVELOPE_COLUMNS} | values
        return int(self.cursor.first(self.fast.statement(_INSERT_ENVELOPE), row)[0])

    def prune_envelopes(self, before: datetime, batch: int) -> int:
        return self.cursor.execute(self.fast.statement(_PRUNE_ENVELOPES),
                                   {"before": before, "batch": batch})


_INSERT_OUTBOX_EVENT = _inserting(OutboxEvent.__table__, (
    "at", "kind", "charge_box_id", "data", "box_event_id")).returning(OutboxEvent.__table__.c.id)
_INSERT_DELIVERY = _inserting(WebhookDelivery.__table__, (
    "event_id", "webhook", "charge_box_id", "kind", "state", "attempts", "created_at",
    "next_attempt_at"))


class SqlOutbox:
    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    def add(self, event: Any, webhooks: Sequence[str], now: datetime) -> int:
        (event_id,) = self.cursor.first(self.fast.statement(_INSERT_OUTBOX_EVENT), {
            "at": event.at, "kind": event.kind, "charge_box_id": event.charge_box_id,
            "data": event.data, "box_event_id": None})
        self.cursor.executemany(self.fast.statement(_INSERT_DELIVERY), [
            {"event_id": event_id, "webhook": name, "charge_box_id": event.charge_box_id,
             "kind": event.kind, "state": PENDING, "attempts": 0, "created_at": now,
             "next_attempt_at": now} for name in webhooks])
        return int(event_id)


class SqlRepositories:
    """One unit of work on one cursor (``central.repositories.Repositories``); each
    repository is made when the unit first asks it (most messages need one or two)."""

    def __init__(self, fast: FastSQL, cursor: Cursor):
        self.fast, self.cursor = fast, cursor

    @cached_property
    def boxes(self) -> SqlBoxes:
        return SqlBoxes(self.fast, self.cursor)

    @cached_property
    def tags(self) -> SqlTags:
        return SqlTags(self.fast, self.cursor)

    @cached_property
    def locked_tags(self) -> SqlTags:
        return SqlTags(self.fast, self.cursor, lock=True)

    @cached_property
    def transactions(self) -> SqlTransactions:
        return SqlTransactions(self.fast, self.cursor)

    @cached_property
    def meter_values(self) -> SqlMeterValues:
        return SqlMeterValues(self.fast, self.cursor)

    @cached_property
    def commands(self) -> SqlCommands:
        return SqlCommands(self.fast, self.cursor)

    @cached_property
    def logs(self) -> SqlLogs:
        return SqlLogs(self.fast, self.cursor)

    @cached_property
    def outbox(self) -> SqlOutbox:
        return SqlOutbox(self.fast, self.cursor)


class SqlUnits:
    """``central.repositories.Units`` on a store's ``FastSQL``: one write transaction (or one
    read) per unit, with its retry rules."""

    def __init__(self, fast: FastSQL):
        self.fast = fast

    def write(self, work: Callable[[SqlRepositories], T]) -> T:
        return self.fast.write(lambda cursor: work(SqlRepositories(self.fast, cursor)))

    def read(self, work: Callable[[SqlRepositories], T]) -> T:
        return self.fast.read(lambda cursor: work(SqlRepositories(self.fast, cursor)))

    def end_thread(self) -> None:
        self.fast.close_thread_connection()
