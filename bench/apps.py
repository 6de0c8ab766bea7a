"""The comparison applications the benchmarks measure the Central System against.

``bare_spyne()``: a plain Spyne SOAP 1.2 service answering the same messages (no WS-Addressing, no
validation, no database) — the practical floor while Spyne is part of the brief.
``lxml_floor()``: parse → dispatch → serialize with lxml alone — the physical floor.
Both are WSGI factories, so gunicorn can serve them too: ``gunicorn 'bench.apps:bare_spyne()'``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

# isort: off
import ocpp_soap  # noqa: F401 - first: it repairs Spyne for Python 3.12+ (soap/spyne_compat.py)
from spyne import Application, ServiceBase, rpc
from spyne.protocol.soap import Soap12
from spyne.server.wsgi import WsgiApplication
# isort: on

from ocpp_soap.soap.spyne_models import models

VERSION, SERVICE = "1.6", "CentralSystemService"
NS = "urn://Ocpp/Cs/2015/10/"


def bare_spyne():
    """A plain Spyne 1.2 service of the same messages: no headers, no validation, no database."""
    ms = models(VERSION, SERVICE)
    replies = {
        "Heartbeat": lambda: ms.responses["Heartbeat"](currentTime=datetime.now(UTC)),
        "BootNotification": lambda: ms.responses["BootNotification"](
            status="Accepted", currentTime=datetime.now(UTC), interval=300),
        "MeterValues": lambda: ms.responses["MeterValues"](),
        "StopTransaction": lambda: ms.responses["StopTransaction"](),
    }
    methods = {}
    for op in ms.schema.operations:
        if op.name not in replies:
            continue
        opts = dict(_body_style="bare", _returns=ms.responses[op.name],
                    _in_message_name=op.request_element, _out_message_name=op.response_element,
                    _operation_name=op.name)
        methods[op.name] = _bare_method(op.name, ms.requests[op.name], replies[op.name], opts)
    svc = type("BareCS", (ServiceBase,), methods)
    app = Application([svc], tns=ms.ns, in_protocol=Soap12(validator=None), out_protocol=Soap12())
    return WsgiApplication(app)


def _bare_method(name, request_cls, make, opts):
    if request_cls._type_info:
        def method(ctx, request):
            return make()
        method.__name__ = name
        return rpc(request_cls, **opts)(method)

    def empty(ctx):
        return make()
    empty.__name__ = name
    return rpc(**opts)(empty)


def lxml_floor():
    """parse → dispatch on the body element → serialize, with lxml alone."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    soap = "http://www.w3.org/2003/05/soap-envelope"

    def reply(tag: str, children: list[tuple[str, str]]) -> bytes:
        env = etree.Element(f"{{{soap}}}Envelope", nsmap={"s": soap, "cs": NS})
        body = etree.SubElement(env, f"{{{soap}}}Body")
        el = etree.SubElement(body, f"{{{NS}}}{tag}")
        for name, text in children:
            etree.SubElement(el, f"{{{NS}}}{name}").text = text
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")

    def app(environ_, start_response):
        data = environ_["wsgi.input"].read(int(environ_["CONTENT_LENGTH"]))
        root = etree.fromstring(data, parser)
        msg = root.find(f"{{{soap}}}Body")[0]
        name = etree.QName(msg).localname
        now = datetime.now(UTC).isoformat()
        if name == "heartbeatRequest":
            out = reply("heartbeatResponse", [("currentTime", now)])
        elif name == "bootNotificationRequest":
            out = reply("bootNotificationResponse",
                        [("status", "Accepted"), ("currentTime", now), ("interval", "300")])
        elif name == "meterValuesRequest":
            values = [sv.findtext(f"{{{NS}}}value") for sv in msg.iter(f"{{{NS}}}sampledValue")]
            assert values
            out = reply("meterValuesResponse", [])
        else:
            out = reply("stopTransactionResponse", [])
        start_response("200 OK", [("Content-Type", "application/soap+xml")])
        return [out]

    return app
