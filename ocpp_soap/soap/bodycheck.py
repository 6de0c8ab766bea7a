"""Check an OCPP body against its schema, strictly or leniently.

Strict: the body must validate against the XML Schema of the project's WSDL; the first violations
are named in a ProtocolError. Lenient (the default for reading): the deviations real chargers are
known to make, and whose meaning is unambiguous, are repaired in place and reported as warnings:

- children out of schema order (izivia StartTransaction; 1.6 ``sampledValue`` children in
  alphabetical order) are put back in order;
- an empty element of a non-string optional type (``<transactionId/>``) is dropped;
- an element in another OCPP namespace than the body's (the 1.5 namespace inside a 1.6 message)
  is moved to the body's namespace;
- strings over their ``maxLength`` (26- and 33-character serial numbers) are accepted as they are.

Whatever remains invalid after that is still a ProtocolError: an unknown enum value or a missing
mandatory field has no unambiguous meaning.
"""

from __future__ import annotations

from lxml import etree

from ocpp_soap.messages.schema import Builtin, Complex, Restricted
from ocpp_soap.soap.faults import ProtocolError
from ocpp_soap.soap.versions import NAMESPACES
from ocpp_soap.soap.xsd import body_schema

_OCPP_NAMESPACES = set(NAMESPACES.values())
_TOLERATED = {"SCHEMAV_CVC_MAXLENGTH_VALID", "SCHEMAV_CVC_TYPE_3_1_2"}
_NON_STRING = {"int", "dateTime", "boolean", "decimal", "anyURI"}


def _base(t: object) -> str | None:
    if isinstance(t, Builtin):
        return t.name
    if isinstance(t, Restricted):
        return t.base.name
    return None


def normalize(element: etree._Element, t: Complex, ns: str, warnings: list[str]) -> None:
    """Repair the lenient-mode deviations under ``element`` (of complex type ``t``) in place."""
    children = [c for c in element if isinstance(c.tag, str)]
    order = {f.name: i for i, f in enumerate(t.fields)}
    fields = {f.name: f for f in t.fields}
    where = etree.QName(element).localname
    for child in children:
        q = etree.QName(child)
        if q.namespace != ns and q.namespace in _OCPP_NAMESPACES and q.localname in fields:
            warnings.append(f"<{q.localname}> in {where} uses namespace {q.namespace}, "
                            f"read as {ns}")
            child.tag = f"{{{ns}}}{q.localname}"
    for child in children:
        q = etree.QName(child)
        f = fields.get(q.localname)
        if f is None or q.namespace != ns:
            continue
        if (_base(f.type) in _NON_STRING and not f.required and len(child) == 0
                and not (child.text or "").strip()):
            warnings.append(f"empty <{q.localname}/> in {where} ignored")
            element.remove(child)
            continue
        if isinstance(f.type, Complex):
            normalize(child, f.type, ns, warnings)
    children = [c for c in element if isinstance(c.tag, str)]
    known = [c for c in children if etree.QName(c).localname in order]
    ranks = [order[etree.QName(c).localname] for c in known]
    if ranks != sorted(ranks):
        warnings.append(f"children of {where} out of schema order, reordered")
        ranked = sorted(known, key=lambda c: order[etree.QName(c).localname])
        tail = [c for c in children if c not in known]
        for c in children:
            element.remove(c)
        for c in ranked + tail:
            element.append(c)


def _describe(errors) -> str:
    errors = list(errors)
    parts = [f"line {e.line}: {e.message}" for e in errors[:3]]
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def check_body(body: etree._Element, version: str, service: str, t: Complex, strict: bool,
               warnings: list[str]) -> None:
    """Validate ``body`` (the element inside soap:Body); repair it first unless ``strict``."""
    schema = body_schema(version, service)
    # Validation runs in C and costs a few tens of µs; the repair walk runs in Python and costs
    # ten to twenty times more (MeterValues: ~20 against ~440 µs). Every deviation it repairs
    # also fails validation (the only non-string type an empty element satisfies, anyURI, is
    # never optional in OCPP), so a valid body has nothing to repair and skips the walk.
    if schema.validate(body):
        return
    if not strict:
        normalize(body, t, etree.QName(body).namespace, warnings)
        if schema.validate(body):
            return
    errors = schema.error_log
    if strict:
        raise ProtocolError(f"schema violation: {_describe(errors)}")
    fatal = [e for e in errors if e.type_name not in _TOLERATED]
    if fatal:
        raise ProtocolError(f"schema violation: {_describe(fatal)}")
    for e in errors:
        if e.type_name == "SCHEMAV_CVC_MAXLENGTH_VALID":
            warnings.append(f"line {e.line}: {e.message.strip()} (accepted)")

