"""Bad and hostile input gets a proper OCPP-S SOAP 1.2 fault, and the server keeps serving."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime

import pytest
import requests
from lxml import etree

from ocpp_soap.soap.client import OcppClient, RemoteFault
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import EndpointOptions, OcppEndpoint

SOAP = "http://www.w3.org/2003/05/soap-envelope"
CS16 = "urn://Ocpp/Cs/2015/10/"
NS = {"s": SOAP}


def heartbeat(ctx, payload):
    return {"currentTime": datetime.now(UTC)}


def boom(ctx, payload):
    raise RuntimeError("database on fire")


@pytest.fixture(scope="module")
def server():
    ep = OcppEndpoint("CentralSystemService", {"Heartbeat": heartbeat, "Authorize": boom},
                      options=EndpointOptions(max_body=64 * 1024))
    with BackgroundServer(ep) as srv:
        yield srv


def envelope(body: str, header: str | None = None, ns: str = CS16) -> bytes:
    if header is None:
        header = ('<cs:chargeBoxIdentity>CB1</cs:chargeBoxIdentity>'
                  '<wsa:Action>/Heartbeat</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:cs="{ns}" '
            f'xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Header>{header}</s:Header>'
            f'<s:Body>{body}</s:Body></s:Envelope>').encode()


def post(server, data: bytes, ctype="application/soap+xml; charset=utf-8", **headers):
    return requests.post(server.url + "/ocpp", data=data,
                         headers={"Content-Type": ctype, **headers}, timeout=10)


def fault_of(response) -> tuple[str, str, str]:
    root = etree.fromstring(response.content)
    fault = root.find("s:Body/s:Fault", NS)
    assert fault is not None, response.text
    code = fault.findtext("s:Code/s:Value", namespaces=NS)
    sub_el = fault.find("s:Code/s:Subcode/s:Value", NS)
    prefix, _, local = sub_el.text.partition(":")
    assert sub_el.nsmap[prefix].startswith("urn://Ocpp/"), "subcode must be a QName in the OCPP ns"
    code_prefix, _, code_local = code.partition(":")
    assert fault.nsmap.get(code_prefix, sub_el.nsmap.get(code_prefix)) == SOAP
    return code_local, local, fault.findtext("s:Reason/s:Text", namespaces=NS)


def still_serving(server):
    r = post(server, envelope("<cs:heartbeatRequest/>"))
    assert r.status_code == 200, r.text
    assert b"heartbeatResponse" in r.content


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol3;</s:Body></s:Envelope>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:cs="urn://Ocpp/Cs/2015/10/">
<s:Header><cs:chargeBoxIdentity>&xxe;</cs:chargeBoxIdentity></s:Header>
<s:Body><cs:heartbeatRequest/></s:Body></s:Envelope>"""

CASES = {
    "malformed XML": (b"<s:Envelope xmlns:s='x'><oops>", "ProtocolError", "malformed XML"),
    "empty body": (b"", "ProtocolError", "empty"),
    "SOAP 1.1 envelope": (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>',
        "ProtocolError", "SOAP 1.1"),
    "not an envelope": (b"<hello/>", "ProtocolError", "not a SOAP 1.2 envelope"),
    "empty Body": (envelope(""), "ProtocolError", "exactly one"),
    "wrong namespace": (envelope("<x:heartbeatRequest xmlns:x='urn:nope'/>"),
                        "ProtocolError", "unknown body namespace"),
    "OCPP 1.2": (envelope("<x:heartbeatRequest xmlns:x='urn://Ocpp/Cs/2010/08/'/>"),
                 "ProtocolError", "1.2 is not supported"),
    "unknown operation": (envelope("<cs:fooRequest/>"), "ProtocolError", "unknown operation"),
    "CP message at the CS": (envelope("<cp:resetRequest xmlns:cp='urn://Ocpp/Cp/2015/10/'>"
                                      "<cp:type>Hard</cp:type></cp:resetRequest>"),
                             "ProtocolError", "unknown operation"),
    "missing chargeBoxIdentity": (envelope("<cs:heartbeatRequest/>", header=""),
                                  "ProtocolError", "chargeBoxIdentity"),
    "schema violation": (envelope("<cs:authorizeRequest><cs:nope>1</cs:nope></cs:authorizeRequest>"),
                         "ProtocolError", "schema violation"),
    "unknown enum value": (envelope(
        "<cs:firmwareStatusNotificationRequest><cs:status>Exploded</cs:status>"
        "</cs:firmwareStatusNotificationRequest>"), "ProtocolError", "schema violation"),
    "entity expansion": (BILLION_LAUGHS, "ProtocolError", "DOCTYPE"),
    "external entity": (XXE, "ProtocolError", "DOCTYPE"),
    "deep nesting": (envelope("<a>" * 200 + "</a>" * 200), "ProtocolError", "nested deeper"),
    "a response sent as request": (envelope("<cs:heartbeatResponse><cs:currentTime>"
                                            "2020-01-01T00:00:00Z</cs:currentTime>"
                                            "</cs:heartbeatResponse>"),
                                   "ProtocolError", "response"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_faults_and_server_survives(server, case):
    data, subcode, reason = CASES[case]
    r = post(server, data)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/soap+xml")
    code, sub, text = fault_of(r)
    assert (code, sub) == ("Sender", subcode)
    assert reason.lower() in text.lower()
    assert "root:" not in text  # nothing from /etc/passwd leaks
    still_serving(server)


def test_oversized_body(server):
    big = envelope("<cs:heartbeatRequest/>" + "<!--" + "x" * 70_000 + "-->")
    r = post(server, big)
    assert r.status_code == 413
    assert fault_of(r)[1] == "ProtocolError"
    still_serving(server)


def test_gzip_bomb_is_capped(server):
    bomb = gzip.compress(envelope("<cs:heartbeatRequest/>" + " " * 5_000_000))
    assert len(bomb) < 64 * 1024
    r = post(server, bomb, **{"Content-Encoding": "gzip"})
    assert r.status_code == 413
    still_serving(server)


def test_unknown_content_encoding(server):
    r = post(server, envelope("<cs:heartbeatRequest/>"), **{"Content-Encoding": "br"})
    assert r.status_code == 415
    assert fault_of(r)[1] == "ProtocolError"


def test_wrong_content_type_strict_and_lenient(server):
    assert post(server, envelope("<cs:heartbeatRequest/>"), ctype="text/xml").status_code == 200
    r = post(server, envelope("<cs:heartbeatRequest/>"), ctype="application/json")
    assert r.status_code == 415
    strict = OcppEndpoint("CentralSystemService", {"Heartbeat": heartbeat},
                          options=EndpointOptions(strict=True))
    with BackgroundServer(strict) as srv:
        assert post(srv, envelope("<cs:heartbeatRequest/>"), ctype="text/xml").status_code == 415


def test_handler_crash_is_receiver_internal_error(server):
    r = post(server, envelope("<cs:authorizeRequest><cs:idTag>T</cs:idTag></cs:authorizeRequest>",
                              header="<cs:chargeBoxIdentity>CB1</cs:chargeBoxIdentity>"
                                     "<wsa:Action>/Authorize</wsa:Action>"
                                     "<wsa:MessageID>urn:uuid:77</wsa:MessageID>"))
    assert r.status_code == 500
    code, sub, text = fault_of(r)
    assert (code, sub) == ("Receiver", "InternalError")
    assert "database on fire" not in text  # internals stay in the log
    root = etree.fromstring(r.content)
    assert root.findtext(".//{http://www.w3.org/2005/08/addressing}RelatesTo") == "urn:uuid:77"
    still_serving(server)


def test_unsupported_operation_is_receiver_not_supported(server):
    r = post(server, envelope("<cs:dataTransferRequest><cs:vendorId>v</cs:vendorId>"
                              "</cs:dataTransferRequest>"))
    assert r.status_code == 500
    assert fault_of(r)[:2] == ("Receiver", "NotSupported")


def test_get_is_405_and_wsdl_is_served(server):
    r = requests.get(server.url + "/ocpp", timeout=5)
    assert r.status_code == 405
    r = requests.put(server.url + "/ocpp", data=b"x", timeout=5)
    assert r.status_code == 405
    r = requests.get(server.url + "/ocpp?wsdl", timeout=5)
    assert r.status_code == 200
    doc = etree.fromstring(r.content)
    loc = doc.find(".//{http://schemas.xmlsoap.org/wsdl/soap12/}address").get("location")
    assert loc == server.url + "/ocpp"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_requests_and_replies(encoding):
    """OCPP-S 6.1: gzip and deflate on requests and responses."""
    ep = OcppEndpoint("CentralSystemService", {"Heartbeat": heartbeat},
                      options=EndpointOptions(compress_min=0))
    with BackgroundServer(ep) as srv:
        body = envelope("<cs:heartbeatRequest/>" + "<!--" + "pad " * 400 + "-->")
        packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
        raw = requests.post(srv.url + "/ocpp", data=packed, stream=True, timeout=5, headers={
            "Content-Type": "application/soap+xml", "Content-Encoding": encoding,
            "Accept-Encoding": encoding})
        assert raw.status_code == 200
        assert raw.headers["Content-Encoding"] == encoding
        reply = raw.raw.read()
        reply = gzip.decompress(reply) if encoding == "gzip" else zlib.decompress(reply)
        assert b"heartbeatResponse" in reply
        # our own client compresses its request and reads the compressed reply
        client = OcppClient("1.6", "CentralSystemService", "CB1", srv.url + "/ocpp",
                            compress=encoding)
        assert "currentTime" in client.call("Heartbeat", {})


def test_client_raises_remote_fault(server):
    client = OcppClient("1.6", "CentralSystemService", "CB1", server.url + "/ocpp")
    with pytest.raises(RemoteFault) as info:
        client.call("Authorize", {"idTag": "X"})
    assert info.value.fault.subcode == "InternalError" and info.value.status == 500
