"""Endpoint learning: one test per rule (unit level), then through incoming messages."""

from __future__ import annotations

import pytest

from ocpp_soap.central.endpoint import (
    WSA_ANONYMOUS,
    client_address,
    learn_endpoint,
)
from ocpp_soap.central.testing import Ctx, central_on_file

PORT, PATH = 8080, "/ocpp/ChargePointService"


def learn(from_address=None, reply_to=None, peer="192.0.2.10"):
    return learn_endpoint(from_address, reply_to, peer, PORT, PATH)


def test_from_address_is_used():
    got = learn("http://10.1.1.5:8082/ocpp", "http://10.9.9.9/other")
    assert (got.address, got.source) == ("http://10.1.1.5:8082/ocpp", "from")


def test_reply_to_used_when_no_from():
    got = learn(None, "http://10.1.1.6:8082/cp")
    assert (got.address, got.source) == ("http://10.1.1.6:8082/cp", "replyto")


def test_anonymous_reply_to_falls_back_to_peer_and_default_port_path():
    got = learn(None, WSA_ANONYMOUS)
    assert (got.address, got.source) == ("http://192.0.2.10:8080/ocpp/ChargePointService", "peer")


def test_anonymous_from_is_ignored():
    assert learn(WSA_ANONYMOUS, None).source == "peer"


def test_nothing_but_peer_uses_default():
    got = learn_endpoint(None, None, "192.0.2.10", 9000, "cp")
    assert (got.address, got.source) == ("http://192.0.2.10:9000/cp", "peer")


def test_ipv6_peer_is_bracketed():
    assert learn(None, None, peer="2001:db8::1").address == "http://[2001:db8::1]:8080" + PATH


def test_no_information_learns_nothing():
    assert learn(None, None, peer=None) is None


@pytest.mark.parametrize(
    "sent, expected",
    [
        ("http://:8082/", "http://192.0.2.10:8082/"),
        ("http://0.0.0.0:8082/", "http://192.0.2.10:8082/"),
        ("http://[::]:8082/ocpp", "http://192.0.2.10:8082/ocpp"),
        ("http://:8082", "http://192.0.2.10:8082/"),
    ],
)
def test_empty_or_wildcard_host_in_from_is_completed_with_peer(sent, expected):
    got = learn(sent)
    assert (got.address, got.source) == (expected, "from")


@pytest.mark.parametrize(
    "sent", ["http://localhost:8080/", "http://127.0.0.1:8080/", "http://[::1]:8080/"]
)
def test_loopback_host_from_remote_peer_is_completed(sent):
    assert learn(sent).address == "http://192.0.2.10:8080/"


def test_loopback_host_from_loopback_peer_is_kept():
    assert learn("http://localhost:8080/", peer="127.0.0.1").address == "http://localhost:8080/"


def test_wildcard_host_in_reply_to_is_completed_with_peer():
    got = learn(None, "http://0.0.0.0:8082/x")
    assert (got.address, got.source) == ("http://192.0.2.10:8082/x", "replyto")


def test_x_forwarded_for_ignored_from_untrusted_peer():
    headers = {"X-Forwarded-For": "203.0.113.7"}
    assert client_address("192.0.2.10", headers, []) == "192.0.2.10"
    assert client_address("192.0.2.10", headers, ["10.0.0.0/8"]) == "192.0.2.10"


def test_x_forwarded_for_used_from_trusted_proxy():
    headers = {"x-forwarded-for": "203.0.113.7, 10.0.0.3"}
    assert client_address("10.0.0.2", headers, ["10.0.0.0/8"]) == "203.0.113.7"
    assert client_address("10.0.0.2", headers, ["10.0.0.2"]) == "10.0.0.3"


# --------------------------------------------------------------- through the domain


@pytest.fixture
def central(tmp_path):
    # The learning rules themselves, with any message allowed to move the address (the trust
    # rules that narrow this are tested in test_domain_trust).
    c = central_on_file(tmp_path, trusted_proxies=["127.0.0.1"], endpoint_change="any")
    c.admin.add_chargebox("CB1")
    return c


def endpoint(central):
    box = central.admin.get_chargebox("CB1")
    return box["endpoint_address"], box["endpoint_source"]


def test_messages_learn_from_address(central):
    central.heartbeat(Ctx(from_address="http://:8082/"), {})
    assert endpoint(central) == ("http://192.0.2.10:8082/", "from")


def test_messages_learn_reply_to(central):
    central.heartbeat(Ctx(reply_to="http://10.1.1.6:8082/"), {})
    assert endpoint(central) == ("http://10.1.1.6:8082/", "replyto")


def test_messages_learn_peer_default(central):
    central.heartbeat(Ctx(reply_to=WSA_ANONYMOUS), {})
    assert endpoint(central) == ("http://192.0.2.10:8080/ocpp/ChargePointService", "peer")


def test_trusted_proxy_forwarded_client_used_for_completion(central):
    ctx = Ctx(
        from_address="http://:8082/",
        peer="127.0.0.1",
        http_headers={"X-Forwarded-For": "198.51.100.4"},
    )
    central.heartbeat(ctx, {})
    assert endpoint(central) == ("http://198.51.100.4:8082/", "from")


def test_untrusted_peer_cannot_forge_forwarded_for(central):
    ctx = Ctx(peer="192.0.2.99", http_headers={"X-Forwarded-For": "198.51.100.4"})
    central.heartbeat(ctx, {})
    assert endpoint(central)[0] == "http://192.0.2.99:8080/ocpp/ChargePointService"


def test_peer_guess_does_not_replace_stated_address(central):
    central.heartbeat(Ctx(from_address="http://10.1.1.5:8082/"), {})
    central.heartbeat(Ctx(), {})
    assert endpoint(central) == ("http://10.1.1.5:8082/", "from")
    box = central.admin.get_chargebox("CB1")
    # the stated address stays the learned one, so clearing a manual override returns to it
    assert (box["learned_address"], box["learned_source"]) == ("http://10.1.1.5:8082/", "from")


def test_clearing_override_returns_to_stated_address_not_a_guess(central):
    central.heartbeat(Ctx(from_address="http://10.1.1.5:8082/"), {})
    central.admin.set_endpoint("CB1", "http://cp.example:9000/ocpp")
    central.heartbeat(Ctx(), {})  # no From: only a guess from the peer address
    central.admin.set_endpoint("CB1", None)
    assert endpoint(central) == ("http://10.1.1.5:8082/", "from")


def test_new_stated_address_replaces_old(central):
    central.heartbeat(Ctx(from_address="http://10.1.1.5:8082/"), {})
    central.heartbeat(Ctx(reply_to="http://10.1.1.7:8082/"), {})
    assert endpoint(central) == ("http://10.1.1.7:8082/", "replyto")


def test_manual_override_wins_and_is_not_overwritten(central):
    central.admin.set_endpoint("CB1", "http://cp.example:9000/ocpp")
    central.heartbeat(Ctx(from_address="http://10.1.1.5:8082/"), {})
    box = central.admin.get_chargebox("CB1")
    assert (box["endpoint_address"], box["endpoint_source"]) == (
        "http://cp.example:9000/ocpp",
        "manual",
    )
    assert box["endpoint_override"] is True
    assert box["learned_address"] == "http://10.1.1.5:8082/"
    # Clearing the override hands the box back to learning at once.
    central.admin.set_endpoint("CB1", None)
    assert endpoint(central) == ("http://10.1.1.5:8082/", "from")


def test_manual_endpoint_at_add_time(tmp_path):
    c = central_on_file(tmp_path)
    c.admin.add_chargebox("CB2", endpoint="http://cp2:8080/x")
    c.heartbeat(Ctx(charge_box_id="CB2", from_address="http://10.0.0.1:1/"), {})
    assert c.admin.get_chargebox("CB2")["endpoint_address"] == "http://cp2:8080/x"


def test_set_endpoint_rejects_non_http(central):
    with pytest.raises(ValueError):
        central.admin.set_endpoint("CB1", "ftp://x")


def test_command_target(central):
    from ocpp_soap.central.errors import Conflict, NotFound

    with pytest.raises(NotFound):
        central.command_target("NOPE")
    with pytest.raises(Conflict):
        central.command_target("CB1")  # no endpoint yet
    central.heartbeat(Ctx(version="1.5", from_address="http://10.1.1.5:8082/"), {})
    target = central.command_target("CB1")
    assert (target.endpoint, target.version) == ("http://10.1.1.5:8082/", "1.5")
    central.admin.update_chargebox("CB1", registration_status="Pending")
    # a Pending box may be configured, not made to charge (OCPP 1.6 4.2)
    assert central.command_target("CB1", "ChangeConfiguration").endpoint == target.endpoint
    with pytest.raises(Conflict, match="Pending"):
        central.command_target("CB1", "RemoteStartTransaction")
    central.admin.update_chargebox("CB1", registration_status="Rejected")
    with pytest.raises(Conflict, match="Rejected"):
        central.command_target("CB1", "ChangeConfiguration")
