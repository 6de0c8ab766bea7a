"""Every operation of both services and versions, over real HTTP on 127.0.0.1.

Our Spyne services answer our own zeep clients and zeep clients built from the *official* WSDLs;
each reply relates to its request's MessageID, and what the handler receives and what the caller
gets back are exactly the example payloads.
"""

from __future__ import annotations

import pytest
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin

from ocpp_soap.messages import adapters, service_schema
from ocpp_soap.messages.examples import example
from ocpp_soap.soap import client as client_mod
from ocpp_soap.soap.client import OcppClient, from_zeep, to_zeep
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint
from ocpp_soap.soap.versions import WSA_NS
from ocpp_soap.soap.xsd import schema_from_wsdl
from tests.wire.test_wsdl_conformance import OFFICIAL

CASES = [(v, s, op.name) for v in ("1.5", "1.6")
         for s in ("CentralSystemService", "ChargePointService")
         for op in service_schema(v, s).operations]


class Recorder:
    """Handlers that remember what they got and answer the example reply."""

    def __init__(self, version: str, service: str):
        self.calls: list[tuple] = []
        self.handlers = {}
        for op in service_schema(version, service).operations:
            self.handlers[op.name] = self._make(version, service, op.name)

    def _make(self, version, service, name):
        def handler(ctx, payload):
            self.calls.append((ctx, payload))
            return example(version, service, name)[1]
        return handler


class HeaderSpy:
    """WSGI middleware keeping the HTTP headers of the last request."""

    def __init__(self, app):
        self.app, self.last = app, {}

    def __call__(self, environ, start_response):
        self.last = {k: v for k, v in environ.items() if k.startswith(("HTTP_", "CONTENT_"))}
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def servers():
    running = {}
    for v in ("1.5", "1.6"):
        for s in ("CentralSystemService", "ChargePointService"):
            rec = Recorder(v, s)
            rec.spy = HeaderSpy(OcppEndpoint(s, rec.handlers, versions=[v]))
            srv = BackgroundServer(rec.spy).start()
            running[(v, s)] = (srv, rec)
    yield running
    for srv, _ in running.values():
        srv.stop()


@pytest.mark.parametrize("version,service,operation", CASES)
def test_own_client(servers, version, service, operation):
    srv, rec = servers[(version, service)]
    seen = []
    cl = OcppClient(version, service, "CB-1001", srv.url + "/ocpp", from_address="http://127.0.0.1:9/me",
                    on_exchange=seen.append)
    request, reply = example(version, service, operation)
    rec.calls.clear()
    assert cl.call(operation, request) == reply
    (ctx, payload), = rec.calls
    assert payload == request
    assert ctx.charge_box_id == "CB-1001"
    assert ctx.version == version and ctx.action == operation
    assert ctx.from_address == "http://127.0.0.1:9/me"
    assert ctx.reply_to == "http://www.w3.org/2005/08/addressing/anonymous"
    assert ctx.to == srv.url + "/ocpp"
    assert ctx.message_id and ctx.message_id.startswith("urn:uuid:")
    assert ctx.peer == "127.0.0.1"
    reply_doc = etree.fromstring(seen[0].response)
    assert reply_doc.findtext(f".//{{{WSA_NS}}}RelatesTo") == ctx.message_id
    assert reply_doc.findtext(f".//{{{WSA_NS}}}Action") == f"/{operation}Response"
    assert rec.spy.last["CONTENT_TYPE"] == f'application/soap+xml; charset=utf-8; action="/{operation}"'


@pytest.mark.parametrize("version,service,operation", CASES)
def test_written_envelopes_validate_against_official_schema(reference, servers, version, service,
                                                            operation):
    """What we write, both ways, is valid under the official WSDL's schema."""
    srv, _ = servers[(version, service)]
    seen = []
    cl = OcppClient(version, service, "CB-1001", srv.url + "/ocpp", from_address="http://h/cp",
                    on_exchange=seen.append)
    cl.call(operation, example(version, service, operation)[0])
    schema = schema_from_wsdl(reference / OFFICIAL[(version, service)])
    for raw in (seen[0].request, seen[0].response):
        body = etree.fromstring(raw).find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]
        assert schema.validate(body), (operation, schema.error_log)


@pytest.mark.parametrize("version,service,operation", CASES)
def test_official_wsdl_client(reference, servers, version, service, operation):
    srv, rec = servers[(version, service)]
    history = HistoryPlugin()
    official = zeep.Client(str(reference / OFFICIAL[(version, service)]), plugins=[history])
    proxy = official.create_service(next(iter(official.wsdl.bindings)), srv.url + "/ocpp")
    schema = service_schema(version, service)
    op = schema.operation(operation)
    request, reply = example(version, service, operation)
    wire = adapters.from_neutral(version, operation, adapters.REQUEST, request)
    rec.calls.clear()
    result = getattr(proxy, operation)(**to_zeep(wire, op.request),
                                       _soapheaders={"ChargeBoxIdentity": "CB-OFFICIAL"})
    got = adapters.to_neutral(version, operation, adapters.RESPONSE, from_zeep(result, op.response))
    assert got == reply
    (ctx, payload), = rec.calls
    assert payload == request and ctx.charge_box_id == "CB-OFFICIAL"
    sent_id = history.last_sent["envelope"].findtext(f".//{{{WSA_NS}}}MessageID")
    assert history.last_received["envelope"].findtext(f".//{{{WSA_NS}}}RelatesTo") == sent_id


def test_zeep_clients_built_once_per_wsdl(servers):
    """No per-call WSDL parsing: the process keeps one zeep client per (version, service)."""
    srv, _ = servers[("1.6", "CentralSystemService")]
    before = client_mod.clients_built
    for _ in range(5):
        OcppClient("1.6", "CentralSystemService", "CB-1", srv.url).call("Heartbeat", {})
    assert client_mod.clients_built == before
    assert client_mod.clients_built <= 4
