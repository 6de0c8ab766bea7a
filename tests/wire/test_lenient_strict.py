"""The deviations of real chargers that carry an unambiguous meaning: lenient accepts them with one
warning each, strict refuses them with a ProtocolError naming the problem."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from werkzeug.test import Client

from ocpp_soap.soap.server import EndpointOptions, OcppEndpoint

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"


def make(strict: bool, versions=("1.6",)):
    seen = []

    def heartbeat(ctx, payload):
        seen.append(ctx)
        return {"currentTime": datetime.now(UTC)}

    ep = OcppEndpoint("CentralSystemService", {"Heartbeat": heartbeat}, versions=versions,
                      options=EndpointOptions(strict=strict))
    return Client(ep), seen


def env(ns="urn://Ocpp/Cs/2015/10/", ident="<cs:chargeBoxIdentity>CB7</cs:chargeBoxIdentity>",
        message_id=True, action="/Heartbeat", mu=False):
    mu_attr = ' s:mustUnderstand="true"' if mu else ""
    parts = [ident]
    if action:
        parts.append(f"<wsa:Action{mu_attr}>{action}</wsa:Action>")
    if message_id:
        parts.append("<wsa:MessageID>urn:uuid:abc</wsa:MessageID>")
    parts.append(f"<wsa:To{mu_attr}>http://cs/ocpp</wsa:To>")
    parts.append(f"<wsa:ReplyTo{mu_attr}><wsa:Address>{WSA}/anonymous</wsa:Address></wsa:ReplyTo>")
    return (f'<s:Envelope xmlns:s="{SOAP}" xmlns:wsa="{WSA}" xmlns:cs="{ns}"><s:Header>'
            + "".join(parts) + "</s:Header><s:Body><cs:heartbeatRequest/></s:Body></s:Envelope>"
            ).encode()


def post(client, data, **headers):
    return client.post("/ocpp", data=data,
                       headers={"Content-Type": "application/soap+xml", **headers})


CASES = {
    "missing MessageID": (env(message_id=False), "MessageID"),
    "missing Action": (env(action=None), "Action"),
    "Action not matching the body": (env(action="/Authorize"), "does not match"),
    "identity in the other role's namespace": (
        env(ident='<cp:chargeBoxIdentity xmlns:cp="urn://Ocpp/Cp/2015/10/">CB7</cp:chargeBoxIdentity>'),
        "namespace"),
    "1.5 namespace in a 1.6 conversation": (env(ns="urn://Ocpp/Cs/2012/06/"), "OCPP 1.5 message"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_strict_refuses(case):
    data, words = CASES[case]
    client, seen = make(strict=True)
    r = post(client, data)
    assert r.status_code == 400
    assert b"ProtocolError" in r.data and words.encode() in r.data
    assert not seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_lenient_accepts_with_one_warning(case, caplog):
    data, words = CASES[case]
    client, seen = make(strict=False)
    with caplog.at_level(logging.WARNING, logger="ocpp_soap.wire"):
        r = post(client, data)
    assert r.status_code == 200, r.data
    assert seen[0].charge_box_id == "CB7"
    warnings = [rec.getMessage() for rec in caplog.records if words in rec.getMessage()]
    assert len(warnings) == 1, caplog.records


def test_lenient_answers_a_15_body_in_15():
    client, seen = make(strict=False)
    r = post(client, env(ns="urn://Ocpp/Cs/2012/06/"))
    assert b"urn://Ocpp/Cs/2012/06/" in r.data and seen[0].version == "1.5"


@pytest.mark.parametrize("name", ["chargeBoxIdentity", "ChargeBoxIdentity", "CHARGEBOXIDENTITY"])
def test_identity_header_name_is_case_insensitive(name):
    client, seen = make(strict=True)
    r = post(client, env(ident=f"<cs:{name}>CB7</cs:{name}>"))
    assert r.status_code == 200 and seen[0].charge_box_id == "CB7"


def test_gsoap_must_understand_and_soapaction_header_accepted():
    client, seen = make(strict=True)
    data = env(ident='<cs:chargeBoxIdentity s:mustUnderstand="true">CB7</cs:chargeBoxIdentity>',
               mu=True)
    r = post(client, data, SOAPAction='"/Heartbeat"')
    assert r.status_code == 200


def test_combined_endpoint_picks_version_by_namespace():
    client, seen = make(strict=True, versions=("1.5", "1.6"))
    assert post(client, env(ns="urn://Ocpp/Cs/2012/06/")).status_code == 200
    assert post(client, env()).status_code == 200
    assert [c.version for c in seen] == ["1.5", "1.6"]
