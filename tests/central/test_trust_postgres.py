"""The trust storage on PostgreSQL: box events written by real messages (the same test runs on
SQLite in test_e2e_endpoint_trust; migration 3 runs on both in test_storage_migrations)."""

from __future__ import annotations

from tests.central.test_e2e_support import InProcessCS
from tests.central.trust_support import send


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
