"""Reply headers whatever stage answers (issue 14, items 14 and 15), over real HTTP.

- Every fault whose request had a legible MessageID relates to it (OCPP-S 3.6; WS-A counts a
  fault as a reply): parse errors, wrong content type, unknown operations, schema errors in
  strict mode, domain refusals, and the simulator's IdentityMismatch.
- Without ``public_url`` a command's From is the address the box used to reach us: the To of its
  last request, else the URL (Host and path) it called. Hostile values fall back.
"""

from __future__ import annotations

import threading

import pytest
import requests
from lxml import etree

from ocpp_soap.central.serve import PUBLIC_URL_ADVICE
from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint
from ocpp_soap.soap.versions import SOAP12_NS, WSA_NS
from tests.central.test_e2e_support import InProcessCS

NS = {"s": SOAP12_NS, "wsa": WSA_NS}
CT = "application/soap+xml; charset=utf-8"
MID = "urn:uuid:0b6f7c3e-1111-4222-8333-944455556666"


def _request(url: str, version: str, box: str = "CB1", operation: str = "Heartbeat",
             payload: dict | None = None, service: str = "CentralSystemService") -> bytes:
    body, _, _ = OcppClient(version, service, box, url).build(operation, payload or {})
    doc = etree.fromstring(body)
    doc.find(f".//{{{WSA_NS}}}MessageID").text = MID
    return etree.tostring(doc)


def _fault(r: requests.Response) -> etree._Element:
    assert r.status_code in (400, 413, 415, 500), (r.status_code, r.text)
    doc = etree.fromstring(r.content)
    assert doc.find(".//s:Fault", NS) is not None, r.text
    return doc


def _relates(doc: etree._Element) -> str | None:
    return doc.findtext(".//wsa:RelatesTo", namespaces=NS)


def _reply_set(doc: etree._Element) -> None:
    """The other reply headers come along: Action (fault), a MessageID of our own, To."""
    assert doc.findtext(".//wsa:Action", namespaces=NS).endswith("/fault")
    assert doc.findtext(".//wsa:MessageID", namespaces=NS).startswith("urn:uuid:")
    assert doc.findtext(".//wsa:To", namespaces=NS)


@pytest.fixture
def cs(tmp_path):
    with InProcessCS(tmp_path / "cs.db", unknown_chargebox="reject") as central:
        yield central


@pytest.fixture
def strict_cs(tmp_path):
    with InProcessCS(tmp_path / "strict.db", strict=True) as central:
        yield central


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_every_refusal_relates_to_the_request(cs, version):
    url = cs.soap_url(version)
    good = _request(url, version)

    # Broken markup after the header: the MessageID is still legible.
    broken = good[: good.rfind(b"Body>") - 10] + b"<unclosed"
    doc = _fault(requests.post(url, data=broken, headers={"Content-Type": CT}, timeout=10))
    assert _relates(doc) == MID
    _reply_set(doc)

    # Wrong content type: refused before parsing, still related.
    doc = _fault(requests.post(url, data=good, headers={"Content-Type": "text/plain"},
                               timeout=10))
    assert _relates(doc) == MID

    # An operation this service does not have.
    other = good.replace(b"heartbeatRequest", b"teleportRequest")
    doc = _fault(requests.post(url, data=other, headers={"Content-Type": CT}, timeout=10))
    assert "unknown operation" in doc.findtext(".//s:Reason/s:Text", namespaces=NS)
    assert _relates(doc) == MID

    # A response where a request belongs.
    reply = good.replace(b"heartbeatRequest", b"heartbeatResponse")
    doc = _fault(requests.post(url, data=reply, headers={"Content-Type": CT}, timeout=10))
    assert _relates(doc) == MID
    identity = [el.text for el in doc.iter() if isinstance(el.tag, str)
                and etree.QName(el).localname == "chargeBoxIdentity"]
    assert identity == ["CB1"]

    # The domain's refusal (unknown box under "reject") always related.
    doc = _fault(requests.post(url, data=good, headers={"Content-Type": CT}, timeout=10))
    assert "SecurityError" in r_text(doc) and _relates(doc) == MID


def r_text(doc: etree._Element) -> str:
    return etree.tostring(doc).decode()


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_strict_schema_error_relates_to_the_request(strict_cs, version):
    url = strict_cs.soap_url(version)
    good = _request(url, version, operation="Authorize", payload={"idTag": "T"})
    bad = good.replace(b">T</", b">" + b"X" * 30 + b"</")  # idTag is at most 20 characters
    doc = _fault(requests.post(url, data=bad, headers={"Content-Type": CT}, timeout=10))
    assert _relates(doc) == MID
    _reply_set(doc)


@pytest.mark.parametrize("hostile", ["urn:uuid:a\x01b", "urn:uuid:" + "9" * 5000])
def test_illegible_message_id_is_not_echoed(cs, hostile):
    url = cs.soap_url("1.6")
    good = _request(url, "1.6")
    data = good.replace(MID.encode(), hostile.encode()) + b"<junk"
    r = requests.post(url, data=data, headers={"Content-Type": CT}, timeout=10)
    doc = _fault(r)
    assert _relates(doc) is None
    _reply_set(doc)
    # and the server keeps serving
    r = requests.post(url, data=good, headers={"Content-Type": CT}, timeout=10)
    assert r.status_code in (200, 400, 500)


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_simulator_identity_mismatch_relates_to_the_request(tmp_path, version):
    from tests.chargepoint.test_e2e_support import TestCentral, close_cp, start_cp

    central = TestCentral().start()
    cp = start_cp(central, version, identity="SIM1")
    try:
        data = _request(cp.url, version, box="SOMEONE-ELSE", operation="ClearCache",
                        service="ChargePointService")
        doc = _fault(requests.post(cp.url, data=data, headers={"Content-Type": CT}, timeout=10))
        assert "IdentityMismatch" in r_text(doc)
        assert _relates(doc) == MID
        _reply_set(doc)
        broken = data[: data.rfind(b"Body>") - 10] + b"<unclosed"
        doc = _fault(requests.post(cp.url, data=broken, headers={"Content-Type": CT}, timeout=10))
        assert _relates(doc) == MID
    finally:
        close_cp(cp)
        central.stop()


# --------------------------------------------------------------------- From without public_url

class _RecordingChargePoint:
    """A ChargePointService that records the From of each ClearCache it gets."""

    def __init__(self):
        self.froms: list[str | None] = []
        self.arrived = threading.Event()

        def clear_cache(ctx, payload):
            self.froms.append(ctx.from_address)
            self.arrived.set()
            return {"status": "Accepted"}

        self.server = BackgroundServer(OcppEndpoint("ChargePointService",
                                                    {"ClearCache": clear_cache})).start()
        self.url = self.server.url + "/ocpp/ChargePointService"


def _heartbeat(cs_url: str, version: str, cp_url: str, to: str | None, post_to: str) -> None:
    body, _, headers = OcppClient(version, "CentralSystemService", "CB1", cs_url,
                                  from_address=cp_url).build("Heartbeat", {})
    doc = etree.fromstring(body)
    el = doc.find(f".//{{{WSA_NS}}}To")
    if to is None:
        el.getparent().remove(el)
    else:
        el.text = to
    r = requests.post(post_to, data=etree.tostring(doc), headers=headers, timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_command_from_is_the_address_the_box_used(tmp_path, version):
    cp = _RecordingChargePoint()
    try:
        with InProcessCS(tmp_path / "cs.db") as cs:
            assert cs.app.settings.public_url is None
            cs.admin.add_chargebox("CB1")
            url = cs.soap_url(version)
            said = "http://cs.example.net:8180/ocpp/" + version + "/CentralSystemService"
            _heartbeat(url, version, cp.url, said, url)
            cs.app.commander.send("CB1", "ClearCache", {})
            assert cp.froms[-1] == said

            # No To: the URL it called (Host header and path).
            _heartbeat(url, version, cp.url, None, url)
            cs.app.commander.send("CB1", "ClearCache", {})
            assert cp.froms[-1] == url

            # Hostile or useless To values fall back to the URL called.
            for hostile in ("javascript:alert(1)", "http://x/\x7f", "http://" + "a" * 3000,
                            "http://www.w3.org/2005/08/addressing/anonymous",
                            "http://user:pw@evil.example/"):
                _heartbeat(url, version, cp.url, hostile, url)
                cs.app.commander.send("CB1", "ClearCache", {})
                assert cp.froms[-1] == url, hostile
    finally:
        cp.server.stop()


def test_public_url_still_wins(tmp_path):
    cp = _RecordingChargePoint()
    try:
        with InProcessCS(tmp_path / "cs.db", public_url="https://cs.example.org") as cs:
            cs.admin.add_chargebox("CB1")
            url = cs.soap_url("1.6")
            _heartbeat(url, "1.6", cp.url, "http://elsewhere/x", url)
            cs.app.commander.send("CB1", "ClearCache", {})
            assert cp.froms[-1] == "https://cs.example.org/ocpp/1.6/CentralSystemService"
    finally:
        cp.server.stop()


def test_serve_warns_without_public_url(tmp_path):
    from tests.central.test_e2e_support import GunicornCS

    with GunicornCS(tmp_path / "g.db", workers=1) as cs:
        assert PUBLIC_URL_ADVICE in cs.log()
    with GunicornCS(tmp_path / "h.db", "--public-url", "http://cs.example:8180",
                    workers=1) as cs:
        assert PUBLIC_URL_ADVICE not in cs.log()
