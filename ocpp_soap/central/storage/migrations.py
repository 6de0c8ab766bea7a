"""A small versioned migration runner, run at every start, safe when workers start together.

Why not hand steps: operators upgrade by installing a new version and restarting; the program
must bring the schema along. Why not Alembic: ten tables and a handful of future steps do not
justify a second configuration tree to ship and keep in sync.

Rules:
- ``schema_version`` holds one row per applied step; the schema's version is the largest.
- A fresh database gets the current models' schema in one go and is stamped with the latest
  version (steps only ever run against databases that already exist).
- Each later step turns version N-1's schema into N's and must leave the models' schema behind
  once all steps ran (a test compares the two).
- The whole run happens in one transaction that holds the database's write lock (SQLite
  ``BEGIN IMMEDIATE``, PostgreSQL advisory lock); DDL is transactional on both, so a second
  process waits, then sees the new version and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, MetaData, inspect, text

from ..timeutil import utc_now
from . import eventtables  # noqa: F401  (its tables belong to Base.metadata)
from .engine import writer
from .models import Base

log = logging.getLogger(__name__)

#: Arbitrary constant naming this program's migration lock on PostgreSQL.
PG_LOCK_KEY = 0x0CC9_50A9


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _initial_schema(conn: Connection) -> None:
    Base.metadata.create_all(conn, checkfirst=True)


def add_missing_columns(conn: Connection, columns: Sequence[tuple[str, str]]) -> None:
    """ALTER TABLE … ADD COLUMN for each (table, column) of the models not in the database yet,
    typed as the models type it on this dialect. New columns are nullable: existing rows have
    no value for them."""
    found: dict[str, set[str]] = {}
    for table, name in columns:
        if table not in found:
            found[table] = {c["name"] for c in inspect(conn).get_columns(table)}
        if name in found[table]:
            continue
        column = Base.metadata.tables[table].c[name]
        ddl_type = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{name}" {ddl_type}'))
        found[table].add(name)


#: Columns added by version 2 (operator-facing OCPP behaviour, issue 14).
V2_COLUMNS: tuple[tuple[str, str], ...] = (
    ("charge_boxes", "called_address"),
    ("transactions", "stop_reason_raw"),
    ("connector_status", "reported_timestamp"),
    ("transactions", "closed_by"),
    ("transactions", "closed_at"),
    ("transactions", "close_note"),
    ("transactions", "warnings"),
    ("meter_samples", "reported_unit"),
    ("meter_samples", "linked_by"),
    ("meter_samples", "warnings"),
)


#: Indexes added by version 2.
V2_INDEXES: tuple[tuple[str, str], ...] = (
    ("transactions", "ix_transactions_tag_folded_open"),
    ("id_tags", "ux_id_tags_folded"),
)


def add_missing_indexes(conn: Connection, indexes: Sequence[tuple[str, str]]) -> None:
    """CREATE INDEX for each (table, index) of the models not in the database yet."""
    for table, name in indexes:
        if name in {i["name"] for i in inspect(conn).get_indexes(table)}:
            continue
        (index,) = [i for i in Base.metadata.tables[table].indexes if i.name == name]
        index.create(conn)


def merge_tag_case_variants(conn: Connection) -> None:
    """IdToken is case-insensitive: of tags that differ only in case, keep the first written
    (oldest), as it was written, and drop the others (logged, one line each)."""
    rows = conn.execute(text(
        "SELECT id_tag, lower(id_tag) FROM id_tags ORDER BY created_at, id_tag")).all()
    kept: dict[str, str] = {}
    for id_tag, folded in rows:
        if folded in kept:
            log.warning("id tag %r merged into %r (idTags are case-insensitive)", id_tag,
                        kept[folded])
            conn.execute(text("DELETE FROM id_tags WHERE id_tag = :t"), {"t": id_tag})
        else:
            kept[folded] = id_tag


def _v2(conn: Connection) -> None:
    add_missing_columns(conn, V2_COLUMNS)
    merge_tag_case_variants(conn)
    add_missing_indexes(conn, V2_INDEXES)


#: Columns added by version 3 (charge box trust, issue 13).
V3_COLUMNS: tuple[tuple[str, str], ...] = (
    ("charge_boxes", "allow_from"),
    ("charge_boxes", "cert_fingerprint"),
)


def _v3(conn: Connection) -> None:
    """Box credentials beyond Basic auth, and the box events table."""
    add_missing_columns(conn, V3_COLUMNS)
    Base.metadata.tables["box_events"].create(conn, checkfirst=True)


def _console_accounts(conn: Connection) -> None:
    """The web console's accounts, login-failure counts and signing key (issue 16)."""
    from .models import ConsoleSecret, ConsoleUser, LoginFailure

    for model in (ConsoleUser, LoginFailure, ConsoleSecret):
        model.__table__.create(conn, checkfirst=True)


#: Columns added by version 5 (queued commands with leases, issue 12).
V5_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pending_commands", "state"),
    ("pending_commands", "lease_until"),
    ("pending_commands", "finished_at"),
    ("pending_commands", "attempts"),
)


def _pending_leases(conn: Connection) -> None:
    """Queued commands get states and leases; those handed out before count as sent."""
    add_missing_columns(conn, V5_COLUMNS)
    conn.execute(text("UPDATE pending_commands SET attempts = 0 WHERE attempts IS NULL"))
    conn.execute(text("UPDATE pending_commands SET state = 'sent', finished_at = taken_at"
                      " WHERE state IS NULL AND taken_at IS NOT NULL"))
    conn.execute(text("UPDATE pending_commands SET state = 'queued' WHERE state IS NULL"))
    add_missing_indexes(conn, (("pending_commands", "ix_pending_box_state"),))


def _v6(conn: Connection) -> None:
    """The event outbox (issue 15): events, webhook deliveries, the box-events relay mark."""
    for table in ("events", "webhook_deliveries", "event_relay"):
        Base.metadata.tables[table].create(conn, checkfirst=True)


#: Ordered steps. Append, never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial_schema),
    Migration(2, "reply address, tolerant values, closed transactions, case-folded tags", _v2),
    Migration(3, "charge box trust: allow_from, cert_fingerprint, box_events", _v3),
    Migration(4, "console accounts", _console_accounts),
    Migration(5, "queued commands: states, leases, expiry", _pending_leases),
    Migration(6, "event outbox: events, webhook_deliveries, event_relay", _v6),
)


def current_version(conn: Connection) -> int:
    """Schema version recorded in ``conn``'s database (0 when none)."""
    return int(conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0)


def migrate(
    engine: Engine,
    migrations: Sequence[Migration] = MIGRATIONS,
    metadata: MetaData = Base.metadata,
) -> int:
    """Bring the database to the latest version; return that version."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or not versions:
        raise ValueError("migrations must have strictly increasing versions")
    latest = versions[-1]
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Wait for another process's migration however long it takes (the connection's
            # lock_timeout bounds a request's waits, not this one).
            conn.execute(text("SET LOCAL lock_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY,"
                " description VARCHAR(255) NOT NULL,"
                " applied_at VARCHAR(40) NOT NULL)"
            )
        )
        current = current_version(conn)
        if current > latest:
            raise RuntimeError(
                f"database schema version {current} is newer than this program's {latest};"
                " upgrade ocpp-soap"
            )
        if current == 0:
            metadata.create_all(conn, checkfirst=True)
            _stamp(conn, latest, "fresh database at latest schema")
            log.info("created database schema version %d", latest)
            return latest
        for step in migrations:
            if step.version > current:
                log.info("migrating database to version %d: %s", step.version, step.description)
                step.apply(conn)
                _stamp(conn, step.version, step.description)
        return latest


def _stamp(conn: Connection, version: int, description: str) -> None:
    conn.execute(
        text("INSERT INTO schema_version (version, description, applied_at) VALUES (:v, :d, :t)"),
        {"v": version, "d": description, "t": utc_now().isoformat()},
    )
