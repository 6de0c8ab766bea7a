"""idTags are case-insensitive everywhere (issue 14, item 5), over real HTTP in both versions,
through the CLI and the API, on SQLite and PostgreSQL, and the migration that merges variants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import text

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage import MIGRATIONS, make_engine, migrate
from ocpp_soap.central.storage.migrations import V2_COLUMNS, V2_INDEXES
from ocpp_soap.central.storage.store import Store
from tests.central.behaviour_support import BACKENDS, db_url, send
from tests.central.test_e2e_support import InProcessCS

T = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return db_url(request, tmp_path)


@pytest.fixture
def cs(url, tmp_path):
    with InProcessCS(tmp_path / "x.db", db_url=url) as central:
        central.admin.add_chargebox("CB1")
        yield central


def test_a_case_variant_is_exists_in_cli_and_api(cs, url, capsys):
    assert main(["tag", "add", "TAGOK", "--db", url]) == 0
    assert main(["tag", "add", "tagok", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "exists" in err and "'TAGOK'" in err
    r = requests.post(cs.url + "/api/v1/idtags", json={"id_tag": "TagOk"}, timeout=10)
    assert r.status_code == 409 and "exists" in r.json()["error"]
    # shown as first written, found under any case
    assert [t["id_tag"] for t in cs.admin.list_tags()] == ["TAGOK"]
    r = requests.get(cs.url + "/api/v1/idtags/tagok", timeout=10)
    assert r.status_code == 200 and r.json()["id_tag"] == "TAGOK"
    assert main(["tag", "block", "tAgOk", "--db", url]) == 0
    assert cs.admin.get_tag("TAGOK")["status"] == "Blocked"


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_authorize_and_counts_ignore_case(cs, version):
    u = cs.soap_url(version)
    cs.admin.add_tag("CASE1", max_active_transactions=1)
    r = send(u, version, "CB1", "Authorize", {"idTag": "case1"})
    assert r.values["status"] == "Accepted"
    first = send(u, version, "CB1", "StartTransaction",
                 {"connectorId": 1, "idTag": "case1", "timestamp": T, "meterStart": 0})
    assert first.values["status"] == "Accepted"
    second = send(u, version, "CB1", "StartTransaction",
                  {"connectorId": 2, "idTag": "CASE1", "timestamp": T, "meterStart": 0})
    assert second.values["status"] == "ConcurrentTx"
    # the transactions of a tag are found under any case
    assert len(cs.admin.list_transactions(id_tag="Case1")) == 2
    # a parent written in another case still governs its children
    cs.admin.add_tag("FLEET", status="Blocked")
    cs.admin.add_tag("CHILD", parent_id_tag="fleet")
    assert send(u, version, "CB1", "Authorize", {"idTag": "child"}).values["status"] == "Blocked"


def _as_version_1(url: str) -> None:
    """Turn a fresh database back into schema version 1 (what a deployed CS has)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for _table, name in V2_INDEXES:
            conn.execute(text(f"DROP INDEX {name}"))
        for table, name in V2_COLUMNS:
            conn.execute(text(f'ALTER TABLE {table} DROP COLUMN "{name}"'))
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version VALUES (1, 'initial schema', 'x')"))
    engine.dispose()


def test_migration_merges_case_variants_keeping_the_first(url):
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    _as_version_1(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for tag, created in (("abc", "2024-01-02"), ("ABC", "2024-01-01"), ("Abc", "2024-01-03"),
                             ("other", "2024-01-01")):
            conn.execute(text("INSERT INTO id_tags (id_tag, status, created_at, updated_at)"
                              " VALUES (:t, 'Accepted', :c, :c)"), {"t": tag, "c": created})
    assert migrate(engine) == MIGRATIONS[-1].version
    with engine.connect() as conn:
        tags = sorted(r[0] for r in conn.execute(text("SELECT id_tag FROM id_tags")))
        columns = {c for t, c in V2_COLUMNS}
    assert tags == ["ABC", "other"]
    from sqlalchemy import inspect

    found = set()
    for table in {t for t, _ in V2_COLUMNS}:
        found |= {c["name"] for c in inspect(engine).get_columns(table)}
    assert columns <= found
    engine.dispose()
    store = Store.open(url)
    from ocpp_soap.central.admin import CentralAdmin
    from ocpp_soap.central.errors import Conflict

    with pytest.raises(Conflict):
        CentralAdmin(store).add_tag("aBc")
    store.dispose()
