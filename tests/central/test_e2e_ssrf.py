"""The SSRF guard over real HTTP: every address the Central System will call passes it.

A box announcing (or an operator typing) the metadata service, loopback in any spelling, the
CS's own API, link-local, multicast or the unspecified address is refused, the refusal becomes a
box event and the old address stays. Redirects are never followed, the connected peer is checked
again (a name may resolve elsewhere by then), and unknown-box floods are bounded.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from ocpp_soap.central.addressguard import AddressGuard, AddressRefused
from ocpp_soap.central.cphttp import chargepoint_session
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.central.storage.models import BoxEvent, ChargeBox
from tests.central.test_e2e_support import InProcessCS, rows
from tests.central.trust_support import Recorder, send

TOKEN = "t0ken"
GOOD = "http://10.20.30.40:8080/ocpp/ChargePointService"
#: Loopback (every spelling of the issue), metadata, unspecified, multicast, link-local.
HOSTILE = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.1:8080/",
    "http://[::ffff:127.0.0.1]:8080/",
    "http://2130706433:8080/",
    "http://0x7f.0.0.1:8080/",
    "http://localhost.:8080/",
    "http://localhost:8080/",
    "http://[::1]:8080/",
    "http://[fe80::1]:8080/",
    "http://0.0.0.0:8080/",
    "http://224.0.0.1:8080/",
    "http://[::ffff:169.254.169.254]/",
    "http://user:pw@10.20.30.40:8080/",
    "ftp://10.20.30.40/",
]


@pytest.fixture
def exposed(tmp_path):
    """A CS that believes it listens beyond loopback (no development relaxation)."""
    with InProcessCS(tmp_path / "cs.db", listen_host="192.0.2.1", api_token=TOKEN) as cs:
        cs.admin.add_chargebox("CB1")
        yield cs


def _events(cs, box, kind=None):
    r = requests.get(f"{cs.url}/api/v1/chargeboxes/{box}/events",
                     params={"kind": kind} if kind else None,
                     headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_every_hostile_address_a_box_announces_is_refused_and_recorded(exposed):
    cs = exposed
    assert not send(cs.soap_url(), "CB1", "BootNotification", from_address=GOOD).fault
    for address in HOSTILE:
        reply = send(cs.soap_url(), "CB1", "BootNotification", from_address=address)
        assert reply.status == 200 and not reply.fault, reply.text  # the box is still served
        box = cs.admin.get_chargebox("CB1")
        assert (box["endpoint_address"], box["learned_address"]) == (GOOD, GOOD), address
    refused = {e["new_address"] for e in _events(cs, "CB1", "endpoint_refused")}
    # ftp never becomes a candidate address (the learning rules drop it); a wildcard host is
    # completed with the peer (here loopback) before the guard sees it
    expected = set(HOSTILE[:-1]) - {"http://0.0.0.0:8080/"} | {"http://127.0.0.1:8080/"}
    assert refused == expected
    event = _events(cs, "CB1", "endpoint_refused")[0]
    assert event["source_ip"] == "127.0.0.1" and event["message"] == "BootNotification"
    assert event["old_address"] == GOOD and event["detail"]


def test_hand_set_hostile_addresses_are_refused(exposed):
    cs = exposed
    for address in HOSTILE:
        r = requests.put(f"{cs.url}/api/v1/chargeboxes/CB1/endpoint", json={"address": address},
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert r.status_code == 422, (address, r.text)
    assert cs.admin.get_chargebox("CB1")["endpoint_address"] is None
    assert {e["new_address"] for e in _events(cs, "CB1", "endpoint_refused")} >= set(HOSTILE[:-1])
    with pytest.raises(ValueError, match="refused"):
        cs.admin.add_chargebox("CB2", endpoint="http://169.254.169.254/")


def test_own_api_is_refused_even_in_development(tmp_path):
    """Listening on loopback allows loopback charge points, but never our own host:port."""
    with InProcessCS(tmp_path / "cs.db") as cs, Recorder() as cp:
        cs.admin.add_chargebox("CB1")
        assert not send(cs.soap_url(), "CB1", "BootNotification", from_address=cp.url).fault
        assert cs.admin.get_chargebox("CB1")["endpoint_address"] == cp.url
        port = cs.server.port
        for own in (f"{cs.url}/api/v1/chargeboxes", f"http://127.1:{port}/api/v1/",
                    f"http://localhost.:{port}/", f"http://[::ffff:127.0.0.1]:{port}/"):
            assert not send(cs.soap_url(), "CB1", "BootNotification", from_address=own).fault
            assert cs.admin.get_chargebox("CB1")["endpoint_address"] == cp.url, own
        with pytest.raises(ValueError, match="own address"):
            cs.admin.set_endpoint("CB1", f"http://localhost:{port}/api/v1/chargeboxes")


def test_endpoint_deny_wins_over_the_loopback_relaxation(tmp_path):
    with InProcessCS(tmp_path / "cs.db", endpoint_deny=["127.0.0.0/8"]) as cs, Recorder() as cp:
        cs.admin.add_chargebox("CB1")
        send(cs.soap_url(), "CB1", "BootNotification", from_address=cp.url)
        assert cs.admin.get_chargebox("CB1")["endpoint_address"] is None
        assert [e["kind"] for e in cs.admin.list_events("CB1")] == ["endpoint_refused"]


def test_endpoint_networks_is_an_allowlist(tmp_path):
    with InProcessCS(tmp_path / "cs.db", listen_host="192.0.2.1", api_token=TOKEN,
                     endpoint_networks=["10.0.0.0/8", "127.0.0.0/8"]) as cs:
        cs.admin.add_chargebox("CB1")
        with pytest.raises(ValueError, match="outside endpoint_networks"):
            cs.admin.set_endpoint("CB1", "http://192.168.1.5/")
        # named explicitly, loopback may be called even beyond development
        cs.admin.set_endpoint("CB1", "http://127.0.0.1:9/")
        cs.admin.set_endpoint("CB1", GOOD)


def test_redirect_is_not_followed(tmp_path):
    with Recorder() as target, InProcessCS(tmp_path / "cs.db", api_token=TOKEN) as cs:
        redirector = Recorder("307 Temporary Redirect", [("Location", target.url)])
        try:
            cs.admin.add_chargebox("CB1", endpoint=redirector.url, ocpp_version="1.6")
            r = requests.post(f"{cs.url}/api/v1/chargeboxes/CB1/operations/ClearCache", json={},
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15)
            assert r.status_code == 502, r.text
            assert "redirect" in r.json()["error"] and "not followed" in r.json()["error"]
            assert len(redirector.seen) == 1 and target.seen == []
        finally:
            redirector.stop()


def test_a_stored_inside_address_is_refused_when_sending(exposed):
    """An address stored before the guard existed (or by hand in the database) is checked
    again before each call: 409 with kind "refused", the command log says why, nothing sent."""
    cs = exposed
    with Recorder() as inside:
        store = cs.app.central.store
        store.write(lambda s: setattr(s.get(ChargeBox, "CB1"), "endpoint_address", inside.url))
        r = requests.post(f"{cs.url}/api/v1/chargeboxes/CB1/operations/ClearCache", json={},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15)
        assert r.status_code == 409 and r.json()["kind"] == "refused", r.text
        assert inside.seen == []
        log = cs.admin.list_commands(charge_box_id="CB1")
        assert log[0]["outcome"] == "error" and "loopback" in log[0]["error"]


def test_connected_peer_is_checked_again(tmp_path):
    """DNS rebinding: whatever a name resolved to when it was stored, the connection's real
    peer is checked before the request is written."""
    guard = AddressGuard(listen_host="192.0.2.1")
    session = chargepoint_session(guard, CentralSettings())
    with Recorder() as inside:
        with pytest.raises(requests.ConnectionError, match="refused address"):
            session.post(inside.url.replace("127.0.0.1", "localhost"), data=b"x", timeout=5)
        assert inside.seen == []
    with pytest.raises(AddressRefused):
        guard.check_url("http://localhost/")


def test_unknown_box_flood_is_bounded(tmp_path):
    with InProcessCS(tmp_path / "cs.db", unknown_chargebox="pending",
                     registration_limit_per_ip=5, registration_limit=50,
                     listen_host="192.0.2.1", api_token=TOKEN) as cs:
        faults = 0
        for _ in range(30):
            reply = send(cs.soap_url(), "X" + uuid.uuid4().hex[:8], "BootNotification",
                         from_address="http://169.254.169.254/latest/")
            if reply.fault:
                faults += 1
                assert reply.subcode().endswith("SecurityError")
                assert "not authorized" in reply.reason()
        boxes = rows(cs.db_url, ChargeBox)
        assert len(boxes) == 5 and faults == 25
        assert all(b.endpoint_address is None for b in boxes)  # the metadata address refused
        limited = rows(cs.db_url, BoxEvent, BoxEvent.kind == "rate_limited")
        assert len(limited) == 1  # written once a minute, not once per attempt
