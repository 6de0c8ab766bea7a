"""Check one envelope the way a strict OCPP-S receiver would, and say what lenient reading forgives.

Three layers, each with line numbers so a user can find the spot in a capture: the SOAP 1.2
envelope, the headers OCPP-S section 3 requires, and the body against the schema of its version and
service. Every violation also says whether lenient reading accepts it: real chargers break the
schema in a handful of known, unambiguous ways (issue 2, "Strict and lenient reading"), and an
operator wants to know whether a capture fails for one of those or for a real fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ocpp_soap import paths
from ocpp_soap.soap.versions import WSA_ANONYMOUS, WSA_NS, flavour_of
from ocpp_soap.soap.xsd import schema_from_wsdl
from ocpp_soap.tools.envelope import (
    FAULT,
    REQUEST,
    RESPONSE,
    Envelope,
    Source,
    is_ocpp_namespace,
    qname,
    read_envelope,
)
from ocpp_soap.tools.schema_order import reorder_copy, schema_order, sequences_from_wsdl


class SchemaSourceError(Exception):
    """No WSDL to validate against: a setup problem (exit 2), not a violation."""


@dataclass(frozen=True)
class Violation:
    """One broken rule at ``line``. ``lenient_ok``: lenient reading accepts it. ``warning``: a
    recommendation (never fails). ``lenient``: whether the check ran in lenient mode."""

    line: int | None
    code: str
    message: str
    lenient_ok: bool = False
    warning: bool = False
    lenient: bool = False

    @property
    def fatal(self) -> bool:
        return not self.warning and not (self.lenient and self.lenient_ok)

    @property
    def label(self) -> str:
        if self.warning:
            return "warning"
        if self.lenient:
            return "accepted" if self.lenient_ok else "fatal"
        return "error"

    def __str__(self) -> str:
        return f"{self.line or '?'}: {self.label}: {self.message}"


# Codes, so tests and callers need not match on wording.
SOAP_VERSION = "soap-version"
BODY = "body"
HEADER_MISSING = "header-missing"
HEADER_VALUE = "header-value"
HEADER_NAMESPACE = "header-namespace"
ACTION = "action"
MESSAGE_ID = "message-id"
SCHEMA = "schema"
MAX_LENGTH = SERIAL_LENGTH = "max-length"
EMPTY_TRANSACTION_ID = "empty-transaction-id"
ORDER = "order"
SAMPLED_VALUE_ORDER = "sampledvalue-alphabetical"
NAMESPACE_VERSION = "namespace-version"

LENIENT_CODES = frozenset(
    {SERIAL_LENGTH, EMPTY_TRANSACTION_ID, ORDER, SAMPLED_VALUE_ORDER, MESSAGE_ID, NAMESPACE_VERSION}
)


def wsdl_file(version: str, service: str, wsdl_dir: str | Path | None = None) -> Path:
    """The WSDL for (version, service): the project's ``wsdl/`` by default, or any folder with
    ``ocpp15/`` and ``ocpp16/`` subfolders whose file names contain the service name (that
    matches both the project's names and the official ``ocpp_centralsystemservice_1.5_final``)."""
    if wsdl_dir is None:
        try:
            path = paths.wsdl_path(version, service)
        except FileNotFoundError as exc:
            raise SchemaSourceError(str(exc)) from None
        if path.is_file():
            return path
        raise SchemaSourceError(f"no WSDL for OCPP {version} {service}: {path} not found")
    folder = Path(wsdl_dir) / f"ocpp{version.replace('.', '')}"
    matches = sorted(p for p in folder.glob("*.wsdl") if service.lower() in p.name.lower())
    if not matches:
        raise SchemaSourceError(f"no WSDL for OCPP {version} {service} in {folder}")
    return matches[0]


def validate_envelope(
    data: Source | Envelope, lenient: bool = False, wsdl_dir: str | Path | None = None
) -> list[Violation]:
    """Violations of ``data`` (path, bytes, ``-`` or an Envelope), in document order.

    Raises EnvelopeError for input that is not an envelope at all, SchemaSourceError when the WSDL
    for the body's version and service cannot be found.
    """
    env = read_envelope(data)
    found: list[Violation] = []

    def add(element: etree._Element | None, code: str, message: str, line: int | None = None,
            **kw: bool) -> None:
        if line is None:
            line = (element if element is not None else env.root).sourceline
        kw.setdefault("lenient_ok", code in LENIENT_CODES)
        found.append(Violation(line, code, message, lenient=lenient, **kw))

    if env.soap_version != "1.2":
        add(env.root, SOAP_VERSION, "SOAP 1.1 envelope; OCPP-S requires SOAP 1.2 "
            "(http://www.w3.org/2003/05/soap-envelope)")
    if env.payload is None:
        add(env.body, BODY, "empty Body")
        return found
    if env.direction == FAULT:
        _check_reply_headers(env, add)
        return found
    if env.ocpp_version not in ("1.5", "1.6"):
        what = f"OCPP {env.ocpp_version}, not supported" if env.ocpp_version else "not OCPP 1.5/1.6"
        add(env.payload, BODY, f"body element {qname(env.payload).text}: {what}")
        return found
    if env.operation is None:
        add(env.payload, BODY, f"body element {qname(env.payload).localname} names no request "
            "or response")
        return found
    if env.direction == REQUEST:
        _check_request_headers(env, add)
    else:
        _check_reply_headers(env, add)
    _check_body(env, add, wsdl_file(env.ocpp_version, env.service, wsdl_dir))
    return sorted(found, key=lambda v: v.line or 0)


# --- headers -------------------------------------------------------------------------------------


def _check_action(env: Envelope, add) -> None:
    element = env.header_element("Action", WSA_NS)
    if element is None:
        add(env.header, HEADER_MISSING, "missing wsa:Action header (OCPP-S 3.4)")
        return
    expected = "/" + env.operation + ("Response" if env.direction == RESPONSE else "")
    action = env.action or ""
    if not action.startswith("/"):
        add(element, ACTION, f"Action {action!r} must start with '/' (expected {expected!r})")
    elif action != expected:
        add(element, ACTION, f"Action {action!r} does not match the body ({expected!r})")


def _check_identity(env: Envelope, add) -> None:
    element = env.charge_box_identity_element
    if element is None:
        add(env.header, HEADER_MISSING, "missing chargeBoxIdentity header (OCPP-S 3.3)")
        return
    ns = qname(element).namespace
    if not (element.text or "").strip():
        add(element, HEADER_VALUE, "empty chargeBoxIdentity")
    if ns == env.body_namespace:
        return
    header_flavour, body_flavour = flavour_of(ns), flavour_of(env.body_namespace)
    if header_flavour is None:
        add(element, HEADER_NAMESPACE, f"chargeBoxIdentity in namespace {ns}, not an OCPP one")
    elif header_flavour.service == body_flavour.service:
        add(element, NAMESPACE_VERSION, f"chargeBoxIdentity in the OCPP {header_flavour.version} "
            f"namespace, body in OCPP {body_flavour.version}")
    else:
        add(element, HEADER_NAMESPACE, f"chargeBoxIdentity in the {header_flavour.service} "
            f"namespace, body in {body_flavour.service}")


def _check_request_headers(env: Envelope, add) -> None:
    _check_identity(env, add)
    _check_action(env, add)
    if env.header_element("MessageID", WSA_NS) is None:
        add(env.header, MESSAGE_ID, "missing wsa:MessageID header (OCPP-S 3.5)")
    if env.service == "CentralSystemService":
        # From is how a Central System learns where to reach the charge point (OCPP-S 3.7).
        if env.header_element("From", WSA_NS) is None:
            add(env.header, HEADER_MISSING, "missing wsa:From header (OCPP-S 3.7)")
        elif not env.from_address:
            add(env.header_element("From", WSA_NS), HEADER_VALUE, "wsa:From without an Address")
    reply_to = env.header_element("ReplyTo", WSA_NS)
    if reply_to is None:
        # WS-A defaults an absent ReplyTo to anonymous, the only value OCPP allows: nothing lost.
        add(env.header, HEADER_MISSING, "missing wsa:ReplyTo header (OCPP-S 3.8; defaults to "
            "anonymous)", warning=True)
    elif env.reply_to != WSA_ANONYMOUS:
        add(reply_to, HEADER_VALUE, f"ReplyTo {env.reply_to!r} is not the anonymous address")
    to = env.header_element("To", WSA_NS)
    if to is None:
        add(env.header, HEADER_MISSING, "missing wsa:To header (OCPP-S 3.9)")
    elif not env.to:
        add(to, HEADER_VALUE, "empty wsa:To")
    relates = env.header_element("RelatesTo", WSA_NS)
    if relates is not None:
        add(relates, HEADER_VALUE, "RelatesTo in a request (OCPP-S 3.6: responses only)",
            warning=True)


def _check_reply_headers(env: Envelope, add) -> None:
    if env.direction != FAULT:
        _check_action(env, add)
    if env.header_element("RelatesTo", WSA_NS) is None:
        add(env.header, HEADER_MISSING, "missing wsa:RelatesTo header (OCPP-S 3.6)")
    if env.header_element("MessageID", WSA_NS) is None:
        add(env.header, MESSAGE_ID, "no wsa:MessageID header (recommended on responses)",
            warning=True)


# --- body ----------------------------------------------------------------------------------------

_LENGTH = re.compile(r"\[facet 'maxLength'\] The value has a length of '(\d+)'.*'(\d+)'")
_ELEMENT = re.compile(r"^Element '\{([^}]*)\}([^']+)'(?:, attribute '[^']*')?: ")


def _error_key(error) -> tuple[int, str]:
    match = _ELEMENT.match(error.message)
    return error.line, (f"{{{match.group(1)}}}{match.group(2)}" if match else "")


def _readable(message: str) -> str:
    """lxml's message with ``{urn://...}name`` shortened to ``name``."""
    return re.sub(r"\{[^}]*\}", "", message)


def _locate(payload: etree._Element, error) -> etree._Element | None:
    """The element an lxml schema error is about: by its XPath (exact even when a one-line
    capture has many same-named elements on line 1), else by line and tag."""
    line, tag = _error_key(error)
    steps = (error.path or "").split("/")
    if len(steps) >= 2 and steps[0] == "":
        prefixes: dict[str, str] = {}
        for element in payload.iter():
            if isinstance(element.tag, str):
                for prefix, ns in element.nsmap.items():
                    if prefix:
                        prefixes.setdefault(prefix, ns)
        try:
            found = payload.xpath("/".join(["."] + steps[2:]), namespaces=prefixes)
        except etree.XPathError:
            found = []
        if len(found) == 1 and isinstance(found[0], etree._Element):
            if not tag or found[0].tag == tag or found[0].sourceline == line:
                return found[0]
    if not tag:
        return None
    for element in payload.iter(tag):
        if element.sourceline == line:
            return element
    return None


def _unify_namespaces(payload: etree._Element) -> etree._Element:
    """Rename elements in another version's OCPP namespace to the body's (same service)."""
    body_ns = qname(payload).namespace
    flavour = flavour_of(body_ns)
    for element in payload.iter():
        if not isinstance(element.tag, str):
            continue
        ns = qname(element).namespace
        other = flavour_of(ns)
        if ns != body_ns and other is not None and other.service == flavour.service:
            element.tag = f"{{{body_ns}}}{qname(element).localname}"
    return payload


def _check_body(env: Envelope, add, wsdl: Path) -> None:
    schema = schema_from_wsdl(wsdl)
    payload = env.payload
    if schema.validate(payload):
        return
    errors = list(schema.error_log)
    fixed = _unify_namespaces(reorder_copy(payload, sequences_from_wsdl(str(wsdl))))
    schema.validate(fixed)
    left = list(schema.error_log)
    left_keys = {_error_key(e) for e in left}
    seen: set[tuple[int, str, str]] = set()
    for error in errors:
        line, tag = _error_key(error)
        element = _locate(payload, error)
        code, message = _classify(error, element, payload, env, (line, tag) in left_keys, wsdl)
        if (line, tag, code) in seen:
            continue
        seen.add((line, tag, code))
        add(element if element is not None else payload, code, message)
    original_keys = {_error_key(e) for e in errors}
    for error in left:
        if _error_key(error) not in original_keys:
            # Hidden in the original by an earlier out-of-order error: still a real violation.
            add(None, SCHEMA, _readable(error.message), line=error.line)


def _classify(error, element, payload, env, still_fails, wsdl) -> tuple[str, str]:
    text = _readable(error.message)
    if element is None:
        return SCHEMA, text
    name = qname(element).localname
    if element is payload and "No matching global declaration" in error.message:
        return SCHEMA, f"{name} is not an operation of OCPP {env.ocpp_version} {env.service}"
    length = _LENGTH.search(error.message)
    if length:
        # Lenient reading (soap/bodycheck.py) keeps any over-long string as it is; the serial
        # numbers of real chargers are the case seen in the field.
        return SERIAL_LENGTH, (f"{name} is {length.group(1)} characters, over the schema's "
                               f"maxLength {length.group(2)}")
    if name == "transactionId" and not (element.text or "").strip():
        return EMPTY_TRANSACTION_ID, "empty <transactionId/> (xs:int)"
    if still_fails or "not expected" not in error.message:
        return SCHEMA, text
    if qname(element).namespace != env.body_namespace and is_ocpp_namespace(qname(element).namespace):
        other = flavour_of(qname(element).namespace)
        return NAMESPACE_VERSION, (f"{name} in the OCPP {other.version} namespace inside an "
                                   f"OCPP {env.ocpp_version} body")
    parent = element.getparent()
    got = [qname(c).localname for c in parent if isinstance(c.tag, str)]
    expected = [n for n in schema_order(parent, payload, sequences_from_wsdl(str(wsdl))) if n in got]
    parent_name = qname(parent).localname
    if parent_name == "sampledValue" and got == sorted(got):
        return SAMPLED_VALUE_ORDER, (f"sampledValue children in alphabetical order "
                                     f"({', '.join(got)}); schema order is {', '.join(expected)}")
    return ORDER, (f"children of {parent_name} out of sequence order: {', '.join(got)}; "
                   f"schema order is {', '.join(expected)}")


__all__ = [
    "LENIENT_CODES",
    "SchemaSourceError",
    "Violation",
    "validate_envelope",
    "wsdl_file",
]
