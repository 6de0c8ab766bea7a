"""The trust storage on PostgreSQL: migration 3 on a version-2 database, and box events
written by real messages (the same tests run on SQLite in test_storage_migrations and
test_e2e_endpoint_trust)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from ocpp_soap.central.storage import MIGRATIONS, make_engine, migrate
from ocpp_soap.central.storage.models import Base
from tests.central.test_e2e_support import InProcessCS
from tests.central.trust_support import send


def test_version_2_database_is_migrated(pg_url):
    engine = make_engine(pg_url)
    migrate(engine, MIGRATIONS[:2])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE charge_boxes DROP COLUMN allow_from"))
        conn.execute(text("ALTER TABLE charge_boxes DROP COLUMN cert_fingerprint"))
        conn.execute(text("DROP TABLE box_events"))
        conn.execute(text("INSERT INTO charge_boxes (charge_box_id, registration_status,"
                          " endpoint_override, created_at, updated_at) VALUES ('OLD',"
                          " 'Accepted', false, now(), now())"))
    assert migrate(engine, MIGRATIONS[:3]) == 3
    for name, table in Base.metadata.tables.items():
        assert {c["name"] for c in inspect(engine).get_columns(name)} == \
            {c.name for c in table.columns}, name
    engine.dispose()


def test_events_from_messages(tmp_path, pg_url):
    with InProcessCS(tmp_path / "unused.db", db_url=pg_url, listen_host="192.0.2.1",
                     api_token="t") as cs:
        cs.admin.add_chargebox("CB1", auth_secret="pw")
        good = "http://10.20.30.40:8080/"
        assert not send(cs.soap_url(), "CB1", "BootNotification", from_address=good,
                        auth=("CB1", "pw")).fault
        send(cs.soap_url(), "CB1", "BootNotification", from_address="http://127.1/",
             auth=("CB1", "pw"))
        assert send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB1", "bad")).fault
        kinds = [e["kind"] for e in cs.admin.list_events("CB1")]
        assert kinds == ["auth_failed", "endpoint_refused", "endpoint_changed"]
        assert cs.admin.get_chargebox("CB1")["endpoint_address"] == good
