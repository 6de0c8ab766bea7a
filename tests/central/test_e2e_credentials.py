"""Charge-point authentication over real HTTP: passwords, source networks, require_auth,
the verified-password cache, the growing failure delay, one fault wording, safe log lines and
the identity length limit."""

from __future__ import annotations

import pytest

from ocpp_soap.central.storage.models import ChargeBox, EnvelopeLog
from tests.central.test_e2e_support import GunicornCS, InProcessCS, rows
from tests.central.trust_support import send

NOT_AUTHORIZED = "charge box not authorized (unknown identity or failed authentication)"


def test_a_verified_password_costs_scrypt_once(tmp_path):
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("CB1", auth_secret="s3cret")
        secrets = cs.app.central.secrets
        for action in ("BootNotification", *["Heartbeat"] * 20):
            assert not send(cs.soap_url(), "CB1", action, auth=("CB1", "s3cret")).fault
        assert secrets.scrypt_runs == 1
        # a secret changed elsewhere (CLI, another instance) is a cache miss at once
        cs.admin.update_chargebox("CB1", auth_secret="n3w")
        assert not send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB1", "n3w")).fault
        assert send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB1", "s3cret")).fault
        assert secrets.scrypt_runs == 3


def test_guessing_is_slowed_and_the_real_box_still_served(tmp_path):
    with InProcessCS(tmp_path / "cs.db", trusted_proxies=["127.0.0.1"]) as cs:
        cs.admin.add_chargebox("CB1", auth_secret="s3cret")
        central = cs.app.central
        assert not send(cs.soap_url(), "CB1", "BootNotification", auth=("CB1", "s3cret")).fault
        guesser = {"X-Forwarded-For": "203.0.113.9"}
        for n in range(12):
            reply = send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB1", f"guess{n}"),
                         headers=guesser)
            assert reply.fault and reply.reason() == NOT_AUTHORIZED
        assert central.secrets.scrypt_runs == 2  # the first guess only: then the door is shut
        assert central.failures.closed_for("ip:203.0.113.9") > 0
        assert central.failures.closed_for("box:CB1") > 0
        # the box itself, verified before, is answered without scrypt and without waiting
        assert not send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB1", "s3cret")).fault
        assert central.secrets.scrypt_runs == 2
        kinds = [e["kind"] for e in cs.admin.list_events("CB1")]
        assert "auth_failed" in kinds and "rate_limited" in kinds
        assert len(kinds) < 6  # throttled: not one row per guess
        failed = cs.admin.list_events("CB1", kind="auth_failed")[0]
        assert failed["source_ip"] == "203.0.113.9"  # through trusted_proxies


def test_unknown_and_unauthenticated_get_one_wording(tmp_path):
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("CB1", auth_secret="s3cret")
        replies = [send(cs.soap_url(), "NOBODY", "Heartbeat"),
                   send(cs.soap_url(), "CB1", "Heartbeat"),
                   send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB1", "wrong")),
                   send(cs.soap_url(), "CB1", "Heartbeat", auth=("CB2", "s3cret")),
                   send(cs.soap_url(), "NOBODY", "StatusNotification",
                        {"connectorId": 1, "errorCode": "NoError", "status": "Available"})]
        assert {(r.status, r.subcode(), r.reason()) for r in replies} == {
            (replies[0].status, replies[0].subcode(), NOT_AUTHORIZED)}
    assert replies[0].subcode().endswith(":SecurityError")


def test_allow_from_pins_the_source_network(tmp_path):
    with InProcessCS(tmp_path / "cs.db", trusted_proxies=["127.0.0.1"]) as cs:
        cs.admin.add_chargebox("CB1", allow_from="10.0.0.0/8")
        assert send(cs.soap_url(), "CB1", "BootNotification").fault
        assert send(cs.soap_url(), "CB1", "BootNotification",
                    headers={"X-Forwarded-For": "192.0.2.1"}).fault
        assert not send(cs.soap_url(), "CB1", "BootNotification",
                        headers={"X-Forwarded-For": "10.1.2.3"}).fault
        event = cs.admin.list_events("CB1", kind="auth_failed")[0]
        assert "allow_from" in event["detail"]


def test_require_auth_any_refuses_boxes_that_prove_nothing(tmp_path):
    with InProcessCS(tmp_path / "cs.db", require_auth="any") as cs:
        cs.admin.add_chargebox("OPEN")
        cs.admin.add_chargebox("PINNED", allow_from="127.0.0.0/8")
        cs.admin.add_chargebox("SECRET", auth_secret="pw")
        reply = send(cs.soap_url(), "OPEN", "BootNotification")
        assert reply.fault and reply.subcode().endswith(":SecurityError")
        assert not send(cs.soap_url(), "PINNED", "BootNotification").fault
        assert not send(cs.soap_url(), "PINNED", "Heartbeat").fault
        assert not send(cs.soap_url(), "SECRET", "Heartbeat", auth=("SECRET", "pw")).fault
        assert "require_auth" in cs.admin.list_events("OPEN")[0]["detail"]


def test_identity_longer_than_255_is_a_protocol_error_and_stores_nothing(tmp_path):
    with InProcessCS(tmp_path / "cs.db", unknown_chargebox="accept") as cs:
        long_id = "B" * 256
        reply = send(cs.soap_url(), long_id, "BootNotification")
        assert reply.fault and reply.subcode().endswith(":ProtocolError")
        assert "255" in reply.reason()
        assert rows(cs.db_url, ChargeBox) == []
        assert not send(cs.soap_url(), "B" * 255, "BootNotification").fault
        cs.app.envelopes.flush()
        assert {len(r.charge_box_id) for r in rows(cs.db_url, EnvelopeLog)} == {255}


@pytest.mark.parametrize("identity", ["CB1\n2026-12-03 10:00:00,000 INFO [1] forged: line",
                                      "CB1\r\nFORGED\tline"])
def test_a_forged_log_line_cannot_be_produced(tmp_path, identity):
    with GunicornCS(tmp_path / "cs.db", "--unknown-chargebox", "accept", workers=1) as cs:
        for action in ("BootNotification", "Heartbeat"):
            send(cs.soap_url(), identity, action,
                 from_address="http://10.0.0.1:1/\nFORGED from address")
        send(cs.soap_url(), "X" * 5000, "Heartbeat")
        cs.stop()
        log = cs.log()
    lines = log.splitlines()
    assert not any(line.startswith(("2026-12-03 10:00:00", "FORGED")) for line in lines), log
    assert "\r" not in log
    assert "CB1\\n2026-12-03" in log or "CB1\\r\\nFORGED" in log
    assert max(len(line) for line in lines) < 2500  # a 5000-character identity is cut
