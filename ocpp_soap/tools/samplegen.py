"""Write ``samples/``: one request and one reply envelope per operation, as the project sends them.

Nothing here writes XML by hand. Each request comes from ``OcppClient.build`` (the zeep client the
roles use) with the example payload of ``messages/examples.py``; each reply comes from running that
request through an in-process ``OcppEndpoint`` whose handler answers the example reply. Then the
two are pretty-printed for people: fixed prefixes (``soap``, ``wsa``, ``cs``/``cp``), indentation,
the headers in the order OCPP-S section 3 lists them, an XML declaration. That changes nothing a
receiver acts on, and the generator proves it for every file by diffing the pretty form against
the raw one with ``strict_values``.

MessageIDs are uuid5 values derived from version, operation and direction, and the examples use
fixed times, so running the generator twice writes identical bytes (a test fails on stale files).

    python -m ocpp_soap.tools.samplegen samples          # write (``make samples``)
    python -m ocpp_soap.tools.samplegen samples --check  # exit 1 if anything is stale
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from werkzeug.test import Client

from ocpp_soap.messages import service_schema
from ocpp_soap.messages.examples import example
from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.server import OcppEndpoint
from ocpp_soap.soap.versions import (
    CENTRAL,
    CHARGEPOINT,
    SERVICES,
    SOAP12_NS,
    VERSIONS,
    WSA_NS,
    namespace,
)
from ocpp_soap.tools.diff import diff_envelopes, sample_name
from ocpp_soap.tools.envelope import read_envelope

CHARGE_BOX = "CB-1001"
#: Where the sample Central System and charge point say they live (192.0.2.0/24 is TEST-NET-1).
CHARGE_POINT_URL = "http://192.0.2.10:8280/ocpp/ChargePointService"
_CENTRAL_URL = "http://cs.example.com:8180/ocpp/{version}/CentralSystemService"

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_PREFIXES = {CENTRAL: "cs", CHARGEPOINT: "cp"}
#: Header order in the samples: the order OCPP-S section 3 describes them in.
_HEADER_ORDER = ["chargeboxidentity", "Action", "MessageID", "RelatesTo", "From", "ReplyTo", "To"]
#: uuid5 namespace of the samples' MessageIDs (any fixed UUID would do; this one is uuid5 of the
#: project's name in the URL namespace).
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/ocpp-soap/samples")


def central_url(version: str) -> str:
    return _CENTRAL_URL.format(version=version)


def operations() -> Iterator[tuple[str, str, str]]:
    """(version, service, operation) for every operation of both services and versions."""
    for version in VERSIONS:
        for service in SERVICES:
            for op in service_schema(version, service).operations:
                yield version, service, op.name


def sample_message_id(version: str, operation: str, direction: str) -> str:
    """The fixed MessageID of a sample: ``direction`` is ``"req"`` or ``"conf"``."""
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'{version}/{operation}/{direction}')}"


def addresses(version: str, service: str) -> tuple[str, str]:
    """(To, From) of a request to ``service``: the callee's URL and the caller's own."""
    if service == CENTRAL:
        return central_url(version), CHARGE_POINT_URL
    return CHARGE_POINT_URL, central_url(version)


@dataclass
class Written:
    """One operation's envelopes, byte for byte as the project wrote them."""

    version: str
    service: str
    operation: str
    request: bytes
    reply: bytes


class Writer:
    """Produces raw exchanges with the project's own client and endpoint, no network involved.

    One endpoint per service serves both versions; its handlers answer the reply given to
    ``exchange`` (the example reply by default).
    """

    def __init__(self) -> None:
        self._replies: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._endpoints = {
            service: OcppEndpoint(service, self._handlers(service), versions=VERSIONS)
            for service in SERVICES
        }
        self._clients: dict[tuple[str, str], OcppClient] = {}

    def _handlers(self, service: str) -> dict[str, Callable]:
        def make(operation: str) -> Callable:
            def handler(call, payload):
                return self._replies[(call.version, service, operation)]
            return handler
        names = {op for version in VERSIONS for op in
                 (o.name for o in service_schema(version, service).operations)}
        return {name: make(name) for name in names}

    def _client(self, version: str, service: str) -> OcppClient:
        key = (version, service)
        if key not in self._clients:
            to, sender = addresses(version, service)
            self._clients[key] = OcppClient(version, service, CHARGE_BOX, to, from_address=sender)
        return self._clients[key]

    def exchange(
        self,
        version: str,
        service: str,
        operation: str,
        request: dict[str, Any] | None = None,
        reply: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> Written:
        """Build the request, post it to the in-process endpoint, return both envelopes.

        ``request``/``reply`` default to the examples; ``message_id`` replaces the request's
        fresh MessageID (the endpoint then relates its reply to it).
        """
        ex_request, ex_reply = example(version, service, operation)
        request = ex_request if request is None else request
        self._replies[(version, service, operation)] = ex_reply if reply is None else reply
        body, _, headers = self._client(version, service).build(operation, request)
        if message_id is not None:
            body = _replace_message_id(body, message_id)
        to, _ = addresses(version, service)
        path = "/" + to.split("/", 3)[3]
        response = Client(self._endpoints[service]).post(path, data=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"OCPP {version} {operation}: endpoint answered "
                               f"{response.status}: {response.get_data(as_text=True)[:500]}")
        return Written(version, service, operation, body, response.get_data())


def _replace_message_id(envelope: bytes, message_id: str) -> bytes:
    root = etree.fromstring(envelope)
    element = root.find(f"{{{SOAP12_NS}}}Header/{{{WSA_NS}}}MessageID")
    if element is None:
        raise RuntimeError("the client wrote no MessageID")
    element.text = message_id
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


# -- pretty printing -----------------------------------------------------------------------------

def _header_rank(element: etree._Element) -> int:
    name = etree.QName(element).localname
    for index, wanted in enumerate(_HEADER_ORDER):
        if name == wanted or name.lower() == wanted:
            return index
    return len(_HEADER_ORDER)


def _copy(source: etree._Element, parent: etree._Element) -> etree._Element:
    """Copy ``source`` under ``parent`` with the same names, so lxml uses the root's prefixes."""
    element = etree.SubElement(parent, source.tag)
    for name, value in source.attrib.items():
        element.set(name, value)
    children = [child for child in source if isinstance(child.tag, str)]
    if children:
        for child in children:
            _copy(child, element)
    elif source.text is not None:
        element.text = source.text
    return element


def pretty(envelope: bytes, version: str, service: str) -> bytes:
    """``envelope`` re-serialised for reading: prefixes ``soap``/``wsa``/``cs``/``cp`` declared
    once on the root, two-space indentation, headers in OCPP-S order, an XML declaration."""
    source = etree.fromstring(envelope)
    nsmap = {"soap": SOAP12_NS, "wsa": WSA_NS, _PREFIXES[service]: namespace(version, service)}
    root = etree.Element(source.tag, nsmap=nsmap)
    for part in source:
        if not isinstance(part.tag, str):
            continue
        copy = etree.SubElement(root, part.tag)
        children = [child for child in part if isinstance(child.tag, str)]
        if part.tag == f"{{{SOAP12_NS}}}Header":
            children.sort(key=_header_rank)  # stable: unknown headers keep their order
        for child in children:
            _copy(child, copy)
    etree.indent(root, space="  ")
    return DECLARATION + etree.tostring(root, encoding="utf-8") + b"\n"


# -- the samples folder --------------------------------------------------------------------------

def render_samples() -> dict[str, bytes]:
    """Every sample: ``{"ocpp16/BootNotification.req.xml": bytes, ...}``."""
    writer = Writer()
    out: dict[str, bytes] = {}
    for version, service, operation in operations():
        written = writer.exchange(version, service, operation,
                                  message_id=sample_message_id(version, operation, "req"))
        reply = _replace_message_id(written.reply, sample_message_id(version, operation, "conf"))
        for raw in (written.request, reply):
            text = pretty(raw, version, service)
            differences = diff_envelopes(raw, text, strict_values=True)
            if differences:  # pretty printing must never change meaning
                raise RuntimeError(f"{operation}: pretty form differs: {differences[0]}")
            out[sample_name(read_envelope(text))] = text
    return out


def stale_samples(directory: str | Path, samples: dict[str, bytes] | None = None) -> list[str]:
    """Sample names (and stray ``.xml`` files) that differ from what the generator writes."""
    directory = Path(directory)
    samples = render_samples() if samples is None else samples
    stale = [name for name, data in sorted(samples.items())
             if not (directory / name).is_file() or (directory / name).read_bytes() != data]
    present = {p.relative_to(directory).as_posix() for p in directory.glob("ocpp1*/*.xml")}
    return stale + sorted(present - set(samples))


def write_samples(directory: str | Path) -> list[Path]:
    """Write every sample under ``directory``; remove stray ``.xml`` files; return what changed."""
    directory = Path(directory)
    samples = render_samples()
    changed = []
    for name in stale_samples(directory, samples):
        path = directory / name
        if name in samples:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(samples[name])
        else:
            path.unlink()
        changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocpp_soap.tools.samplegen",
                                     description="Write the envelope samples (make samples).")
    parser.add_argument("directory", help="the samples folder, e.g. samples")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any sample is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_samples(args.directory)
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        return 1 if stale else 0
    changed = write_samples(args.directory)
    print(f"{len(changed)} sample file(s) written or removed in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
