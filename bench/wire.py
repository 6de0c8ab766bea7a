"""In-process cost per message: the project's Central System against bare Spyne and a raw lxml floor.

For Heartbeat, BootNotification, MeterValues (10 samples) and StopTransaction (with transactionData),
each request is pushed through a WSGI call (no HTTP) three ways:

- ``project``: the whole Central System (guards, lenient reading, WS-Addressing, the domain and its
  SQLite write, the envelope log);
- ``spyne``: a bare Spyne SOAP 1.2 service of the same message built in this script (no
  validation, no headers, no database) — the practical floor while Spyne is part of the brief;
- ``lxml``: parse → dispatch → serialize written here with lxml alone — the physical floor.

It also times the zeep client: building a request, parsing a reply, and building a client from
``wsdl/`` cold. Run: ``python bench/wire.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import etree  # noqa: E402
from spyne import Application, ServiceBase, rpc  # noqa: E402
from spyne.protocol.soap import Soap12  # noqa: E402
from spyne.server.wsgi import WsgiApplication  # noqa: E402

from bench._common import machine, median_us, table, write_json  # noqa: E402
from ocpp_soap.messages.examples import example  # noqa: E402
from ocpp_soap.soap import client as client_mod  # noqa: E402
from ocpp_soap.soap.client import OcppClient  # noqa: E402
from ocpp_soap.soap.spyne_models import models  # noqa: E402

VERSION, SERVICE = "1.6", "CentralSystemService"
NS = "urn://Ocpp/Cs/2015/10/"


def requests_for(box: str) -> dict[str, bytes]:
    """Request envelopes as our client writes them (the CS sees the same bytes from a charger)."""
    c = OcppClient(VERSION, SERVICE, box, "http://127.0.0.1/ocpp/1.6/CentralSystemService",
                   from_address="http://127.0.0.1:8280/ocpp/ChargePointService")
    out = {}
    out["Heartbeat"] = c.build("Heartbeat", {})[0]
    out["BootNotification"] = c.build("BootNotification",
                                      example(VERSION, SERVICE, "BootNotification")[0])[0]
    mv = example(VERSION, SERVICE, "MeterValues")[0]
    sample = mv["meterValue"][0]["sampledValue"][0]
    mv["meterValue"][0]["sampledValue"] = [dict(sample, value=str(1000 + i)) for i in range(10)]
    mv["transactionId"] = 1
    out["MeterValues"] = c.build("MeterValues", mv)[0]
    stop = example(VERSION, SERVICE, "StopTransaction")[0]
    stop["transactionId"] = 1
    stop["transactionData"] = [{"timestamp": datetime.now(UTC), "sampledValue": [sample]}
                               for _ in range(5)]
    out["StopTransaction"] = c.build("StopTransaction", stop)[0]
    return out


def environ(body: bytes, path: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "CONTENT_TYPE": "application/soap+xml; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8180",
            "HTTP_HOST": "127.0.0.1:8180", "REMOTE_ADDR": "127.0.0.1", "SCRIPT_NAME": ""}


def call(app, body: bytes, path: str = "/ocpp/1.6/CentralSystemService") -> bytes:
    status = []
    out = b"".join(app(environ(body, path), lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{status[0]}: {out[:300]!r}")
    return out


def bare_spyne():
    """A plain Spyne 1.2 service of the same messages: no headers, no validation, no database."""
    ms = models(VERSION, SERVICE)
    now = datetime.now(UTC)
    replies = {
        "Heartbeat": lambda: ms.responses["Heartbeat"](currentTime=now),
        "BootNotification": lambda: ms.responses["BootNotification"](
            status="Accepted", currentTime=now, interval=300),
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--number", type=int, default=200)
    args = ap.parse_args(argv)

    from ocpp_soap.central.wsgi import create_app

    tmp = tempfile.mkdtemp(prefix="ocpp-bench-")
    app = create_app(db_url=f"sqlite:///{tmp}/cs.db", unknown_chargebox="accept")
    reqs = requests_for("BENCH-1")
    call(app, reqs["BootNotification"])
    start = OcppClient(VERSION, SERVICE, "BENCH-1", "http://x").build(
        "StartTransaction", dict(example(VERSION, SERVICE, "StartTransaction")[0],
                                 idTag="BENCHTAG", reservationId=None))[0]
    app.central.admin.add_tag("BENCHTAG", max_active_transactions=10**9)
    call(app, start)
    spyne_app, floor = bare_spyne(), lxml_floor()

    rows = []
    for name, body in reqs.items():
        project = median_us(lambda body=body: call(app, body), number=args.number)
        spyne = median_us(lambda body=body: call(spyne_app, body, "/"), number=args.number)
        lx = median_us(lambda body=body: call(floor, body, "/"), number=args.number)
        rows.append({"message": name, "project_us": project, "spyne_us": spyne, "lxml_us": lx,
                     "project/spyne": project / spyne, "project/lxml": project / lx})

    # zeep: build a request, parse a reply, build a client cold
    c = OcppClient(VERSION, SERVICE, "BENCH-1", "http://127.0.0.1/x")
    boot = example(VERSION, SERVICE, "BootNotification")[0]
    build_us = median_us(lambda: c.build("BootNotification", boot), number=args.number)

    class Reply:
        status_code = 200
        headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
        encoding = "utf-8"

        def __init__(self, content):
            self.content = content

    boot_reply = Reply(call(app, reqs["BootNotification"]))
    parse_us = median_us(lambda: c._read_reply("BootNotification", "x", boot_reply),
                         number=args.number)
    cold = []
    for service in ("CentralSystemService", "ChargePointService"):
        client_mod._clients.clear()
        t0 = time.perf_counter()
        client_mod.zeep_client(VERSION, service)
        cold.append({"client": f"zeep {VERSION} {service}",
                     "cold_build_ms": (time.perf_counter() - t0) * 1000})

    print(f"In-process cost per message, OCPP {VERSION}, medians (µs)\n")
    print(table(rows, ["message", "project_us", "spyne_us", "lxml_us", "project/spyne",
                       "project/lxml"]))
    print(f"\nzeep client: build a BootNotification request {build_us:.0f} µs, "
          f"read its reply {parse_us:.0f} µs")
    for row in cold:
        print(f"{row['client']}: cold build {row['cold_build_ms']:.0f} ms (once per process)")
    app.close()
    write_json(args.json, {"machine": machine(), "messages": rows,
                           "zeep": {"build_request_us": build_us, "parse_reply_us": parse_us,
                                    "cold": cold}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
