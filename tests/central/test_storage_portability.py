"""The schema and the dialect-specific statements compile for PostgreSQL (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from ocpp_soap.central.storage.models import Base, ConnectorStatus


def test_tables_compile_for_postgresql():
    dialect = postgresql.dialect()
    for table in Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert "CREATE TABLE" in ddl
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
    meter = str(CreateTable(Base.metadata.tables["meter_samples"]).compile(dialect=dialect))
    assert "BIGSERIAL" in meter or "BIGINT" in meter


def test_upsert_compiles_for_postgresql():
    stmt = postgresql.insert(ConnectorStatus).values(
        charge_box_id="CB", connector_id=1, status="Available", received_at=datetime.now(UTC)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["charge_box_id", "connector_id"], set_={"status": stmt.excluded.status}
    )
    assert "ON CONFLICT" in str(stmt.compile(dialect=postgresql.dialect()))


def test_postgresql_url_accepted_by_engine_factory():
    from ocpp_soap.central.storage import make_engine

    engine = make_engine("postgresql+psycopg://user@localhost:1/none")
    assert engine.dialect.name == "postgresql"
