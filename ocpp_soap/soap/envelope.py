"""Reading an incoming SOAP 1.2 envelope: safe parsing, header extraction, version detection.

Everything a charger can get wrong is caught here, before Spyne runs, and turned into a fault that
names the problem. The parser never loads a DTD, never expands an entity and never touches the
network; a document with a DOCTYPE is refused outright, since no OCPP-S message needs one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lxml import etree

from ocpp_soap.messages.catalog import service_schema
from ocpp_soap.messages.schema import Operation
from ocpp_soap.soap.faults import ProtocolError
from ocpp_soap.soap.versions import (
    LEGACY_NAMESPACES,
    SOAP11_NS,
    SOAP12_NS,
    WSA_ANONYMOUS,
    WSA_NS,
    Flavour,
    flavour_of,
)

log = logging.getLogger("ocpp_soap.wire")

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    collect_ids=False,
    remove_blank_text=False,
)
# For reading the MessageID out of a request that was refused: recovers from broken markup,
# but is as closed to the outside as the real parser.
_SALVAGE_PARSER = etree.XMLParser(
    recover=True,
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    collect_ids=False,
)
_MAX_MESSAGE_ID = 1024
MAX_DEPTH = 64
_TOO_DEEP = etree.XPath("boolean(/" + "*/" * MAX_DEPTH + "*)")

HEADER_TAG = f"{{{SOAP12_NS}}}Header"
BODY_TAG = f"{{{SOAP12_NS}}}Body"
ENVELOPE_TAG = f"{{{SOAP12_NS}}}Envelope"


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` safely or raise ProtocolError saying why not."""
    if not data or not data.strip():
        raise ProtocolError("empty request body: expected a SOAP 1.2 envelope")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(f"malformed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ProtocolError("DOCTYPE declarations are not accepted in SOAP messages")
    # Deeply nested documents cost the deserializer; OCPP bodies are at most ~8 levels deep.
    # One compiled XPath asks libxml2 (in C) whether any element sits below MAX_DEPTH.
    if _TOO_DEEP(root):
        raise ProtocolError(f"document nested deeper than {MAX_DEPTH} levels")
    return root


def salvage_message_id(data: bytes) -> str | None:
    """The WS-A MessageID of a request that could not be read whole, when it can be read at all.

    A fault is a reply, and WS-Addressing lets a strict client drop a reply without RelatesTo
    (its user would then never see why we refused): so even a malformed, wrongly typed or
    unknown request gets its MessageID related when one is legible. A value too long or with
    characters XML cannot carry is not echoed.
    """
    if not data or not data.strip():
        return None
    try:
        root = etree.fromstring(data, _SALVAGE_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    for el in root.iter(f"{{{WSA_NS}}}MessageID"):
        text = _text(el)
        # Recovery may have dropped characters; only a value found verbatim is echoed.
        if (text and len(text) <= _MAX_MESSAGE_ID and text.isprintable()
                and text.encode() in data):
            return text
        return None
    return None


@dataclass
class IncomingEnvelope:
    """An envelope whose structure is sound: what it is, who sent it, and its parts."""

    root: etree._Element
    header: etree._Element | None
    body: etree._Element
    flavour: Flavour
    operation: Operation
    direction: str
    charge_box_id: str | None = None
    charge_box_id_namespace: str | None = None
    action: str | None = None
    message_id: str | None = None
    from_address: str | None = None
    reply_to: str | None = None
    to: str | None = None
    relates_to: str | None = None
    warnings: list[str] = field(default_factory=list)


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    # WS-A values come with whitespace and line breaks from some stacks (izivia StopTransaction).
    if len(el) == 0:  # the usual case: one text node, no children or comments
        return (el.text or "").strip() or None
    return "".join(el.itertext()).strip() or None


def _address(el: etree._Element) -> str | None:
    for child in el:
        if isinstance(child.tag, str) and etree.QName(child).localname == "Address":
            return _text(child)
    return _text(el)


def decompose(root: etree._Element) -> IncomingEnvelope:
    """Check the envelope's structure and read its headers and body element."""
    if root.tag == f"{{{SOAP11_NS}}}Envelope":
        raise ProtocolError("SOAP 1.1 envelope received: OCPP-S requires SOAP 1.2 "
                            f"(namespace {SOAP12_NS})")
    if root.tag != ENVELOPE_TAG:
        raise ProtocolError(f"not a SOAP 1.2 envelope: root element is {root.tag}")
    header = body = None
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == HEADER_TAG and header is None and body is None:
            header = child
        elif child.tag == BODY_TAG and body is None:
            body = child
        else:
            raise ProtocolError(f"unexpected element {child.tag} in the envelope")
    if body is None:
        raise ProtocolError("the envelope has no Body")
    parts = [c for c in body if isinstance(c.tag, str)]
    if len(parts) != 1:
        raise ProtocolError(f"the Body must hold exactly one OCPP message, found {len(parts)}")
    message = parts[0]
    qname = etree.QName(message)
    flavour = flavour_of(qname.namespace)
    if flavour is None:
        if qname.namespace in LEGACY_NAMESPACES:
            raise ProtocolError(f"OCPP {LEGACY_NAMESPACES[qname.namespace]} is not supported "
                                "(this service speaks OCPP 1.5 and 1.6)")
        raise ProtocolError(f"unknown body namespace {qname.namespace!r}: expected an OCPP 1.5 "
                            "or 1.6 namespace")
    schema = service_schema(flavour.version, flavour.service)
    found = schema.by_element(qname.localname)
    if found is None:
        raise ProtocolError(f"unknown operation: <{qname.localname}> is not an OCPP "
                            f"{flavour.version} {flavour.service} message")
    operation, direction = found
    env = IncomingEnvelope(root, header, message, flavour, operation, direction)
    if header is not None:
        _read_headers(env, header)
    return env


def _read_headers(env: IncomingEnvelope, header: etree._Element) -> None:
    for h in header:
        tag = h.tag
        if not isinstance(tag, str):
            continue
        namespace, _, local = tag[1:].rpartition("}") if tag[0] == "{" else ("", "", tag)
        namespace = namespace or None
        if local.lower() == "chargeboxidentity":
            # OCPP-S 3.3: the header name is case-insensitive; its namespace should be the
            # service's own, but real stacks put it in the Cs or Cp namespace of the other role.
            env.charge_box_id = _text(h)
            env.charge_box_id_namespace = namespace
        elif namespace == WSA_NS:
            if local == "Action":
                env.action = _text(h)
            elif local == "MessageID":
                env.message_id = _text(h)
            elif local == "From":
                env.from_address = _address(h)
            elif local == "ReplyTo":
                env.reply_to = _address(h)
            elif local == "To":
                env.to = _text(h)
            elif local == "RelatesTo":
                env.relates_to = _text(h)


def check_headers(env: IncomingEnvelope, strict: bool) -> None:
    """Apply the OCPP-S header rules (section 3) to a request; lenient mode only warns."""
    op = env.operation
    if env.direction != "request":
        raise ProtocolError(f"<{env.body.tag.split('}')[1]}> is a response; a request was expected")
    if not env.charge_box_id:
        raise ProtocolError("missing chargeBoxIdentity header (OCPP-S 3.3)")

    def deviation(text: str) -> None:
        if strict:
            raise ProtocolError(text)
        env.warnings.append(text)

    if env.charge_box_id_namespace != env.flavour.namespace:
        deviation(f"chargeBoxIdentity is in namespace {env.charge_box_id_namespace!r}, "
                  f"expected {env.flavour.namespace!r}")
    if env.action is None:
        deviation("missing WS-Addressing Action header")
    elif env.action.strip() not in (op.action, op.name):
        deviation(f"Action {env.action!r} does not match the body ({op.action})")
    if env.message_id is None:
        deviation("missing WS-Addressing MessageID header")
    if env.reply_to not in (None, WSA_ANONYMOUS):
        env.warnings.append(f"ReplyTo {env.reply_to!r} is not anonymous; answering on the "
                            "HTTP response as OCPP-S 3.8 requires")


def warn(env: IncomingEnvelope) -> None:
    for w in env.warnings:
        log.warning("%s %s: %s", env.charge_box_id or "-", env.operation.name, w)
