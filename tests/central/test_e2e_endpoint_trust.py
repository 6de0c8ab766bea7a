"""Who may move a box's address, over real HTTP.

A forged Heartbeat with a new From used to replace the address (the operator's next Reset went to
the attacker) and had the box's queued commands delivered there. Now a box without an address
takes its first one from any message; after that only a message that passed the box's
authentication moves it, or for a box without credentials what ``endpoint_change`` allows
(default ``boot``). Every change is a box event with old and new address, source IP and message.
"""

from __future__ import annotations

import time

import pytest

from ocpp_soap.central.cli import main
from tests.central.test_e2e_support import InProcessCS
from tests.central.trust_support import Recorder, send

REAL = "http://10.20.30.40:8080/ocpp/ChargePointService"
ATTACKER = "http://10.66.66.66:8080/evil"


def address(cs, box="CB1"):
    return cs.admin.get_chargebox(box)["endpoint_address"]


def test_spoofed_heartbeat_does_not_move_the_address_under_boot(tmp_path):
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("CB1")
        # no address yet: the first message that gives one sets it, whatever it is
        assert not send(cs.soap_url(), "CB1", "Heartbeat", from_address=REAL).fault
        assert address(cs) == REAL
        reply = send(cs.soap_url(), "CB1", "Heartbeat", from_address=ATTACKER)
        assert reply.status == 200 and not reply.fault  # answered, but ignored for the address
        assert address(cs) == REAL
        assert cs.admin.get_chargebox("CB1")["learned_address"] == REAL
        # the box reboots somewhere else: a BootNotification moves it
        moved = "http://10.20.30.41:8080/ocpp/ChargePointService"
        send(cs.soap_url(), "CB1", "BootNotification", from_address=moved)
        assert address(cs) == moved
        events = cs.admin.list_events("CB1")
        assert [(e["kind"], e["message"], e["old_address"], e["new_address"])
                for e in reversed(events)] == [
            ("endpoint_changed", "Heartbeat", None, REAL),
            ("endpoint_ignored", "Heartbeat", REAL, ATTACKER),
            ("endpoint_changed", "BootNotification", REAL, moved),
        ]
        assert all(e["source_ip"] == "127.0.0.1" for e in events)


@pytest.mark.parametrize("policy, heartbeat_moves, boot_moves", [
    ("any", True, True), ("manual", False, False)])
def test_endpoint_change_policies(tmp_path, policy, heartbeat_moves, boot_moves):
    with InProcessCS(tmp_path / "cs.db", endpoint_change=policy) as cs:
        cs.admin.add_chargebox("CB1")
        send(cs.soap_url(), "CB1", "BootNotification", from_address=REAL)
        assert address(cs) == REAL  # the first address is taken under every policy
        send(cs.soap_url(), "CB1", "Heartbeat", from_address=ATTACKER)
        assert (address(cs) == ATTACKER) is heartbeat_moves
        send(cs.soap_url(), "CB1", "BootNotification", from_address="http://10.1.1.1:1/")
        assert (address(cs) == "http://10.1.1.1:1/") is boot_moves


def test_a_box_with_credentials_is_moved_only_by_its_own_messages(tmp_path):
    with InProcessCS(tmp_path / "cs.db", endpoint_change="any") as cs:
        cs.admin.add_chargebox("CB1", auth_secret="s3cret")
        send(cs.soap_url(), "CB1", "BootNotification", from_address=REAL, auth=("CB1", "s3cret"))
        assert address(cs) == REAL
        for auth in (None, ("CB1", "guess"), ("CB2", "s3cret")):
            for action in ("Heartbeat", "BootNotification"):
                reply = send(cs.soap_url(), "CB1", action, from_address=ATTACKER, auth=auth)
                assert reply.fault and reply.subcode().endswith("SecurityError")
                assert address(cs) == REAL
        # the box itself, authenticated, may move with any message
        moved = "http://10.20.30.41:8080/"
        assert not send(cs.soap_url(), "CB1", "Heartbeat", from_address=moved,
                        auth=("CB1", "s3cret")).fault
        assert address(cs) == moved
        kinds = [e["kind"] for e in cs.admin.list_events("CB1")]
        assert kinds.count("endpoint_changed") == 2 and "auth_failed" in kinds


def test_queued_commands_go_to_the_rule_learned_address_not_the_spoofer(tmp_path):
    with InProcessCS(tmp_path / "cs.db") as cs, Recorder() as real, Recorder() as attacker:
        cs.admin.add_chargebox("CB1")
        send(cs.soap_url(), "CB1", "BootNotification", from_address=real.url)
        cs.app.central.queue_command("CB1", "SendLocalList", {
            "listVersion": 2, "updateType": "Full",
            "localAuthorizationList": [{"idTag": "SECRET-TAG"}]})
        cs.app.note_pending("CB1")
        send(cs.soap_url(), "CB1", "Heartbeat", from_address=attacker.url)
        deadline = time.monotonic() + 10
        while not real.seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(real.seen) == 1 and b"SECRET-TAG" in real.seen[0]["body"]
        assert attacker.seen == []


def test_cli_lists_events_and_updates_credentials(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("CB1")
        send(cs.soap_url(), "CB1", "BootNotification", from_address=REAL)
        send(cs.soap_url(), "CB1", "Heartbeat", from_address="http://x\n1.2.3.4 forged/")
    assert main(["chargebox", "events", "CB1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "endpoint_changed" in out and REAL in out and "\n1.2.3.4" not in out
    assert main(["chargebox", "events", "CB1", "--kind", "endpoint_changed", "--json",
                 "--db", db]) == 0
    assert '"new_address": "' + REAL in capsys.readouterr().out
    assert main(["chargebox", "update", "CB1", "--allow-from", "10.0.0.0/8,192.0.2.7",
                 "--db", db]) == 0
    assert main(["chargebox", "show", "CB1", "--json", "--db", db]) == 0
    assert '"allow_from": "10.0.0.0/8,192.0.2.7/32"' in capsys.readouterr().out
    assert main(["chargebox", "update", "CB1", "--allow-from", "10.0.0.300/8", "--db", db]) == 2
    assert "not an IP network" in capsys.readouterr().err
    assert main(["chargebox", "update", "CB1", "--allow-from", "", "--db", db]) == 0


def _settled(cs, deadline=10.0):
    end = time.monotonic() + deadline
    while cs.app.commander._wakeups and time.monotonic() < end:
        time.sleep(0.05)


@pytest.mark.parametrize("status, reachable", [("Rejected", True), ("Accepted", False)])
def test_queued_commands_stay_queued_when_they_cannot_go(tmp_path, status, reachable):
    """A Rejected box is never called; an unreachable one keeps every queued command."""
    from tests.central.test_e2e_support import dead_url

    with InProcessCS(tmp_path / "cs.db") as cs, Recorder() as cp:
        cs.admin.add_chargebox("CB1", registration_status=status,
                               endpoint=cp.url if reachable else dead_url(), ocpp_version="1.6")
        for op in ("ClearCache", "GetLocalListVersion"):
            cs.app.central.queue_command("CB1", op, {})
        cs.app.note_pending("CB1")
        assert send(cs.soap_url(), "CB1", "BootNotification").status == 200
        _settled(cs)
        assert cp.seen == []
        assert [p["operation"] for p in cs.admin.list_pending("CB1")] == [
            "ClearCache", "GetLocalListVersion"]
