"""The schema is created and migrated by the program, safely from several processes at once."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, inspect, text

from ocpp_soap.central.storage import MIGRATIONS, Migration, Store, make_engine, migrate
from ocpp_soap.central.storage.models import Base, ChargeBox


def _url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'm.db'}"


def _versions(engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT version FROM schema_version ORDER BY 1"))]


def test_fresh_database_gets_models_schema_and_latest_version(tmp_path):
    engine = make_engine(_url(tmp_path))
    assert migrate(engine) == MIGRATIONS[-1].version
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, name
    assert _versions(engine) == [MIGRATIONS[-1].version]


def test_migrate_is_idempotent(tmp_path):
    engine = make_engine(_url(tmp_path))
    migrate(engine)
    migrate(engine)
    Store.open(_url(tmp_path))
    assert _versions(engine) == [MIGRATIONS[-1].version]


def test_later_steps_run_once_on_existing_database(tmp_path):
    engine = make_engine(_url(tmp_path))
    migrate(engine)
    calls = []

    def add_column(conn):
        calls.append(1)
        conn.execute(text("ALTER TABLE id_tags ADD COLUMN colour VARCHAR(20)"))

    steps = [*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "tag colour", add_column)]
    extra = MetaData()
    Table("unused", extra, Column("id", Integer, primary_key=True), Column("x", String(5)))
    assert migrate(engine, steps, extra) == steps[-1].version
    assert migrate(engine, steps, extra) == steps[-1].version
    assert calls == [1]
    assert "colour" in {c["name"] for c in inspect(engine).get_columns("id_tags")}
    assert "unused" not in inspect(engine).get_table_names()  # fresh-only path not taken
    assert _versions(engine) == [MIGRATIONS[-1].version, steps[-1].version]


def test_newer_database_is_refused(tmp_path):
    engine = make_engine(_url(tmp_path))
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (999, 'future', 'x')"))
    with pytest.raises(RuntimeError, match="newer"):
        migrate(engine)


def test_failed_step_leaves_version_unchanged(tmp_path):
    engine = make_engine(_url(tmp_path))
    migrate(engine)

    def broken(conn):
        conn.execute(text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        migrate(engine, [*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "broken", broken)])
    assert _versions(engine) == [MIGRATIONS[-1].version]
    assert "half_done" not in inspect(engine).get_table_names()


def test_threads_with_own_engines_migrate_at_once(tmp_path):
    url = _url(tmp_path)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def run():
        try:
            engine = make_engine(url)
            barrier.wait()
            migrate(engine)
            engine.dispose()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _versions(make_engine(url)) == [MIGRATIONS[-1].version]


def _migrate_in_child(url: str, barrier) -> None:
    engine = make_engine(url)
    barrier.wait()
    migrate(engine)


def test_processes_migrate_at_once(tmp_path):
    url = _url(tmp_path)
    # spawn, not fork: the test process has threads (fork there is deprecated from Python 3.12),
    # and separate interpreters are what several gunicorn instances really are.
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_migrate_in_child, args=(url, barrier)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert _versions(make_engine(url)) == [MIGRATIONS[-1].version]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_version_2_database_gets_the_trust_columns_and_events(tmp_path, request, backend):
    """A database of schema version 2 (no allow_from, cert_fingerprint, box_events) is brought
    to the models' schema by step 3, keeping its rows, on both databases."""
    url = _url(tmp_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    migrate(engine, MIGRATIONS[:2])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE charge_boxes DROP COLUMN allow_from"))
        conn.execute(text("ALTER TABLE charge_boxes DROP COLUMN cert_fingerprint"))
        conn.execute(text("DROP TABLE box_events"))
        conn.execute(text("INSERT INTO charge_boxes (charge_box_id, registration_status,"
                          " endpoint_override, created_at, updated_at) VALUES"
                          " ('OLD', 'Accepted', :manual, :at, :at)").bindparams(
                              # the models' own time type: stored as the program stores it
                              bindparam("at", type_=ChargeBox.__table__.c.created_at.type)),
                     {"manual": False, "at": datetime(2026, 1, 1, tzinfo=UTC)})
    assert migrate(engine, MIGRATIONS[:3]) == 3
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, name
    with engine.connect() as conn:
        assert conn.execute(text("SELECT charge_box_id, allow_from FROM charge_boxes")).all() \
            == [("OLD", None)]
    assert _versions(engine) == [2, 3]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_pending_leases_step_on_a_version_4_database(tmp_path, request, backend):
    """Step 5 adds states and leases; commands handed out under version 4 count as sent."""
    url = _url(tmp_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    migrate(engine, MIGRATIONS[:4])
    with engine.begin() as conn:  # version 4's pending_commands, with one queued, one taken
        conn.execute(text("DROP INDEX ix_pending_box_state"))
        for column in ("state", "lease_until", "finished_at", "attempts"):
            conn.execute(text(f"ALTER TABLE pending_commands DROP COLUMN {column}"))
        conn.execute(text("INSERT INTO charge_boxes (charge_box_id, registration_status,"
                          " endpoint_override, created_at, updated_at) VALUES"
                          " ('CB1', 'Accepted', false, '2024-01-01', '2024-01-01')"))
        conn.execute(text("INSERT INTO pending_commands (charge_box_id, operation, created_at,"
                          " taken_at) VALUES ('CB1', 'Reset', '2024-01-01', NULL),"
                          " ('CB1', 'ClearCache', '2024-01-01', '2024-01-02')"))
    assert migrate(engine) == MIGRATIONS[-1].version
    with engine.connect() as conn:
        states = conn.execute(text("SELECT operation, state, attempts FROM pending_commands"
                                   " ORDER BY id")).all()
    assert [tuple(r) for r in states] == [("Reset", "queued", 0), ("ClearCache", "sent", 0)]
    assert "ix_pending_box_state" in {i["name"] for i in inspect(engine).get_indexes(
        "pending_commands")}
    engine.dispose()


OUTBOX_TABLES = ("events", "webhook_deliveries", "event_relay")


def test_version_5_database_gets_the_event_outbox(tmp_path):
    """Step 6 adds the outbox tables (issue 15) to a version-5 database, keeping its rows."""
    engine = make_engine(_url(tmp_path))
    migrate(engine, MIGRATIONS[:5])
    with engine.begin() as conn:
        for table in reversed(OUTBOX_TABLES):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("INSERT INTO charge_boxes (charge_box_id, registration_status,"
                          " endpoint_override, created_at, updated_at) VALUES"
                          " ('OLD', 'Accepted', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    assert migrate(engine, MIGRATIONS[:6]) == 6
    for name in OUTBOX_TABLES:
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert columns == {c.name for c in Base.metadata.tables[name].columns}, name
    with engine.connect() as conn:
        assert conn.execute(text("SELECT charge_box_id FROM charge_boxes")).all() == [("OLD",)]
    assert _versions(engine) == [5, 6]
