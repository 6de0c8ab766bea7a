"""Read one SOAP envelope from a file, bytes or stdin, and say what it is.

``diff`` and ``validate`` look at envelopes that users bring from the field (captures, logs, vendor
samples), so reading must be safe against hostile XML and must describe the envelope by meaning:
SOAP version, OCPP version and service (from the body namespace), operation and direction (from the
body element's name), chargeBoxIdentity and the WS-Addressing headers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ocpp_soap.soap.versions import (
    LEGACY_NAMESPACES,
    NAMESPACES,
    SOAP11_NS,
    SOAP12_NS,
    WSA_NS,
    flavour_of,
)

#: Bigger inputs are refused: no real envelope comes near, and the tools must not stall on junk.
MAX_BYTES = 16 * 1024 * 1024

REQUEST = "request"
RESPONSE = "response"
FAULT = "fault"

_OCPP_NAMESPACES = frozenset(NAMESPACES.values()) | {ns.rstrip("/") for ns in NAMESPACES.values()}

Source = str | Path | bytes


class EnvelopeError(Exception):
    """The input cannot be read as an envelope. The message is one line, fit for stderr."""


def _parser() -> etree.XMLParser:
    # No DTD loading, no entity expansion, no network: a capture is untrusted input.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def read_source(source: Source) -> tuple[bytes, str]:
    """Return (bytes, display name) for a path, raw bytes, or ``-`` (stdin)."""
    if isinstance(source, bytes):
        return source, "<bytes>"
    name = str(source)
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
            name = "<stdin>"
        else:
            with open(source, "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise EnvelopeError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise EnvelopeError(f"{name}: larger than {MAX_BYTES} bytes, refused")
    return data, name


def _has_doctype(data: bytes) -> bool:
    """Whether the prolog (before the root element) declares a DOCTYPE.

    Checked before parsing so that an entity bomb is refused by name rather than reported as
    whatever limit libxml2 hits first. (The parser is safe without this; the message is clearer.)
    """
    rest = data.removeprefix(b"\xef\xbb\xbf")
    while True:
        rest = rest.lstrip()
        if rest.startswith(b"<?"):
            closing = b"?>"
        elif rest.startswith(b"<!--"):
            closing = b"-->"
        else:
            return rest.startswith(b"<!DOCTYPE")
        end = rest.find(closing)
        if end < 0:
            return False
        rest = rest[end + len(closing) :]


def parse_xml(data: bytes, name: str = "<bytes>") -> etree._Element:
    """Parse ``data`` safely; refuse empty input and any DOCTYPE (entities, XXE, billion laughs)."""
    if not data.strip():
        raise EnvelopeError(f"{name}: empty input")
    if _has_doctype(data):
        raise EnvelopeError(f"{name}: DOCTYPE refused (no DTDs or entities in SOAP messages)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise EnvelopeError(f"{name}: malformed XML: {exc.msg}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise EnvelopeError(f"{name}: DOCTYPE refused (no DTDs or entities in SOAP messages)")
    return root


def qname(element: etree._Element) -> etree.QName:
    return etree.QName(element)


def is_ocpp_namespace(ns: str | None) -> bool:
    return ns in _OCPP_NAMESPACES


def split_operation(local_name: str) -> tuple[str | None, str | None]:
    """``bootNotificationRequest`` -> (``BootNotification``, ``request``); unknown -> (None, None)."""
    for suffix, direction in (("Request", REQUEST), ("Response", RESPONSE)):
        if local_name.endswith(suffix) and len(local_name) > len(suffix):
            stem = local_name[: -len(suffix)]
            return stem[0].upper() + stem[1:], direction
    return None, None


@dataclass
class Envelope:
    """What an envelope says about itself. ``None`` means "absent" (or "not recognised")."""

    name: str
    root: etree._Element
    soap_version: str  # "1.2" or "1.1"
    header: etree._Element | None
    body: etree._Element
    payload: etree._Element | None  # the Body's first child
    body_namespace: str | None
    ocpp_version: str | None  # "1.5", "1.6", "1.2" (legacy) or None
    service: str | None
    operation: str | None  # "BootNotification"
    direction: str | None  # REQUEST, RESPONSE or FAULT
    charge_box_identity: str | None
    action: str | None
    message_id: str | None
    from_address: str | None
    reply_to: str | None
    to: str | None
    relates_to: str | None

    def header_element(self, local_name: str, namespace: str | None = None) -> etree._Element | None:
        """First header element with this local name (and namespace, if given)."""
        for child in header_children(self):
            q = qname(child)
            if q.localname == local_name and (namespace is None or q.namespace == namespace):
                return child
        return None

    @property
    def charge_box_identity_element(self) -> etree._Element | None:
        for child in header_children(self):
            if qname(child).localname.lower() == "chargeboxidentity":
                return child
        return None


def header_children(envelope: Envelope) -> list[etree._Element]:
    if envelope.header is None:
        return []
    return [child for child in envelope.header if isinstance(child.tag, str)]


def element_children(element: etree._Element) -> list[etree._Element]:
    """Child elements only: comments and processing instructions carry no meaning here."""
    return [child for child in element if isinstance(child.tag, str)]


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip()


def _address(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return _text(element.find(f"{{{WSA_NS}}}Address"))


def envelope_from_root(root: etree._Element, name: str = "<bytes>") -> Envelope:
    """Describe a parsed document; raise EnvelopeError if it is not a SOAP envelope."""
    root_q = qname(root)
    soap_ns = root_q.namespace
    if root_q.localname != "Envelope" or soap_ns not in (SOAP12_NS, SOAP11_NS):
        raise EnvelopeError(f"{name}: not a SOAP envelope (root element is {root_q.text})")
    soap_version = "1.2" if soap_ns == SOAP12_NS else "1.1"
    header = root.find(f"{{{soap_ns}}}Header")
    body = root.find(f"{{{soap_ns}}}Body")
    if body is None:
        raise EnvelopeError(f"{name}: not a SOAP envelope (no Body)")
    children = element_children(body)
    payload = children[0] if children else None

    body_ns = version = service = operation = direction = None
    if payload is not None:
        payload_q = qname(payload)
        body_ns = payload_q.namespace
        flavour = flavour_of(body_ns)
        if flavour is not None:
            version, service = flavour.version, flavour.service
        elif body_ns in LEGACY_NAMESPACES:
            version = LEGACY_NAMESPACES[body_ns]
        if payload_q.namespace == soap_ns and payload_q.localname == "Fault":
            direction = FAULT
        else:
            operation, direction = split_operation(payload_q.localname)

    env = Envelope(
        name=name,
        root=root,
        soap_version=soap_version,
        header=header,
        body=body,
        payload=payload,
        body_namespace=body_ns,
        ocpp_version=version,
        service=service,
        operation=operation,
        direction=direction,
        charge_box_identity=None,
        action=None,
        message_id=None,
        from_address=None,
        reply_to=None,
        to=None,
        relates_to=None,
    )
    cbi = env.charge_box_identity_element
    if cbi is not None and is_ocpp_namespace(qname(cbi).namespace):
        env.charge_box_identity = _text(cbi)
    env.action = _text(env.header_element("Action", WSA_NS))
    env.message_id = _text(env.header_element("MessageID", WSA_NS))
    env.from_address = _address(env.header_element("From", WSA_NS))
    env.reply_to = _address(env.header_element("ReplyTo", WSA_NS))
    env.to = _text(env.header_element("To", WSA_NS))
    env.relates_to = _text(env.header_element("RelatesTo", WSA_NS))
    return env


def read_envelope(source: Source | Envelope) -> Envelope:
    """Read and describe an envelope from a path, bytes, ``-`` (stdin), or pass one through."""
    if isinstance(source, Envelope):
        return source
    data, name = read_source(source)
    return envelope_from_root(parse_xml(data, name), name)
