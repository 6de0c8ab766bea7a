"""No WSDL or schema is parsed per call: zeep clients and schemas are built once and reused.

A counter wraps every place a WSDL or a schema can be built: zeep's ``Client`` and WSDL
``Document``, zeep's XSD ``Schema``, lxml's ``XMLSchema``, our WSDL renderer and our schema
loaders. After one warm-up pass over every operation of both services and versions (the Central
System's over HTTP into the real application with its SQLite file, the charge point's over HTTP
into an endpoint), three more passes must build none of them.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest
import zeep
import zeep.wsdl.wsdl
import zeep.xsd.schema
from lxml import etree

from ocpp_soap.central.wsgi import create_app
from ocpp_soap.messages import service_schema
from ocpp_soap.messages.examples import example
from ocpp_soap.soap import client as client_mod
from ocpp_soap.soap import wsdlgen, xsd
from ocpp_soap.soap.client import OcppClient, RemoteFault
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint

VERSIONS = ("1.5", "1.6")


class Counter:
    """Wraps callables in place and counts their calls by name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.calls: collections.Counter[str] = collections.Counter()
        self.mp = monkeypatch

    def wrap(self, owner: object, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        calls = self.calls

        def counted(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        self.mp.setattr(owner, attr, counted)

    def wrap_init(self, cls: type, name: str) -> None:
        original = cls.__init__
        calls = self.calls

        def counted(self_, *args, **kwargs):
            calls[name] += 1
            return original(self_, *args, **kwargs)

        self.mp.setattr(cls, "__init__", counted)


def _example_handler(version: str, operation: str):
    def handler(call, payload):
        return example(version, "ChargePointService", operation)[1]
    return handler


@pytest.fixture(scope="module")
def peers(tmp_path_factory) -> Iterator[dict]:
    db = tmp_path_factory.mktemp("noreparse") / "cs.db"
    cs = create_app(db_url=f"sqlite:///{db}", unknown_chargebox="accept")
    for n in range(40):
        cs.central.admin.add_tag(f"TAG{n}", max_active_transactions=10**6)
    cs_server = BackgroundServer(cs).start()
    cp_servers = {}
    for v in VERSIONS:
        handlers = {op.name: _example_handler(v, op.name)
                    for op in service_schema(v, "ChargePointService").operations}
        cp_servers[v] = BackgroundServer(OcppEndpoint("ChargePointService", handlers,
                                                      versions=(v,))).start()
    yield {"cs": cs_server, "cp": cp_servers}
    cs_server.stop()
    for s in cp_servers.values():
        s.stop()
    cs.close()


def one_pass(peers: dict) -> int:
    """Every operation of both services and versions once; returns the calls answered."""
    answered = 0
    for v in VERSIONS:
        targets = {
            "CentralSystemService": f"{peers['cs'].url}/ocpp/{v}/CentralSystemService",
            "ChargePointService": f"{peers['cp'][v].url}/ocpp/ChargePointService",
        }
        for service, url in targets.items():
            client = OcppClient(v, service, f"NOREPARSE-{v}", url,
                                from_address="http://127.0.0.1:9/ocpp/ChargePointService")
            for op in service_schema(v, service).operations:
                try:
                    client.call(op.name, example(v, service, op.name)[0])
                except RemoteFault:  # the CS may refuse an example (say, an unknown tx)
                    pass
                answered += 1
    return answered


def test_no_wsdl_or_schema_parsed_per_call(peers, monkeypatch):
    one_pass(peers)  # warm-up: whatever is built once is built here
    counter = Counter(monkeypatch)
    counter.wrap_init(zeep.Client, "zeep.Client")
    counter.wrap_init(zeep.wsdl.wsdl.Document, "zeep WSDL Document")
    counter.wrap_init(zeep.xsd.schema.Schema, "zeep XSD Schema")
    counter.wrap(etree, "XMLSchema", "lxml XMLSchema")
    counter.wrap(client_mod, "zeep_client", "ocpp_soap zeep_client")
    counter.wrap(wsdlgen, "render", "ocpp_soap WSDL render")
    counter.wrap(xsd, "schema_from_wsdl", "ocpp_soap schema_from_wsdl")
    answered = sum(one_pass(peers) for _ in range(3))
    operations = sum(len(service_schema(v, s).operations) for v in VERSIONS
                     for s in ("CentralSystemService", "ChargePointService"))
    assert answered == 3 * operations
    # Lookups of the cached client are fine; building anything is not.
    built = {k: n for k, n in counter.calls.items() if k != "ocpp_soap zeep_client"}
    assert built == {}, built
    # The counters were in the path: each pass's four new OcppClients asked for their cached
    # zeep client (and got it without building one).
    assert counter.calls["ocpp_soap zeep_client"] == 3 * 2 * len(VERSIONS)


def test_counter_sees_a_cold_build(monkeypatch):
    """The counters would notice: a client built cold passes through each of them."""
    counter = Counter(monkeypatch)
    counter.wrap_init(zeep.Client, "zeep.Client")
    counter.wrap_init(zeep.wsdl.wsdl.Document, "zeep WSDL Document")
    counter.wrap_init(zeep.xsd.schema.Schema, "zeep XSD Schema")
    # A private cache and count for this test: the process's own stay as they were.
    monkeypatch.setattr(client_mod, "_clients", {})
    monkeypatch.setattr(client_mod, "clients_built", client_mod.clients_built)
    client_mod.zeep_client("1.6", "ChargePointService")
    assert counter.calls["zeep.Client"] == 1
    assert counter.calls["zeep WSDL Document"] == 1
    assert counter.calls["zeep XSD Schema"] >= 1
