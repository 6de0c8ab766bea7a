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

A role whose domain stores values as given (the Central System: ``tolerate_values``) also
accepts, leniently, what a box gets wrong in fields it does not need to act on, so that a
transaction message is never lost for their sake (OCPP 1.6 4.8/4.10: sanity checks must not stop
the reply):

- a value outside its enumeration (a StopTransaction ``reason``, a ``unit`` attribute) is read
  as given, with a warning;
- an optional field whose text is not of its type and that the domain does not need (a
  ``reservationId`` of ``"x"``) is dropped, with a warning.

Whatever remains invalid after that is still a ProtocolError: a missing mandatory field or an
unreadable id, meter value or timestamp has no unambiguous meaning.
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
_ENUM = "SCHEMAV_CVC_ENUMERATION_VALID"
_DATATYPE = "SCHEMAV_CVC_DATATYPE_VALID_1_2_1"
#: Fields a message cannot do without even when optional: ids, meter values and timestamps of
#: the transaction messages.
ESSENTIAL = frozenset({"connectorId", "transactionId", "meterStart", "meterStop", "idTag"})
_TRANSACTION_MESSAGES = frozenset({"startTransactionRequest", "stopTransactionRequest",
                                   "meterValuesRequest"})


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


def _drop_unreadable(body: etree._Element, t: Complex, errors: list, warnings: list[str]) -> bool:
    """Drop optional top-level fields the domain does not need whose text is not of their type
    (see the module docstring); True when something was dropped."""
    essential = set(ESSENTIAL)
    if etree.QName(body).localname in _TRANSACTION_MESSAGES:
        essential.add("timestamp")
    optional = {f.name for f in t.fields if not f.required and not isinstance(f.type, Complex)}
    names = set()
    for e in errors:
        if e.type_name != _DATATYPE or not e.path:
            continue
        steps = e.path.strip("/").split("/")
        if len(steps) != 2:
            continue
        name = steps[1].split(":")[-1].split("[")[0]
        if name in optional and name not in essential:
            names.add(name)
    dropped = False
    for child in list(body):
        if isinstance(child.tag, str) and etree.QName(child).localname in names:
            warnings.append(f"<{etree.QName(child).localname}> {child.text!r} is not a valid "
                            f"value of its type; ignored")
            body.remove(child)
            dropped = True
    return dropped


def check_body(body: etree._Element, version: str, service: str, t: Complex, strict: bool,
               warnings: list[str], tolerate_values: bool = False) -> None:
    """Validate ``body`` (the element inside soap:Body); repair it first unless ``strict``;
    with ``tolerate_values`` (lenient only) accept the value deviations of the docstring."""
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
    if fatal and tolerate_values:
        if _drop_unreadable(body, t, fatal, warnings):
            if schema.validate(body):
                return
            errors = schema.error_log
        fatal = []
        for e in errors:
            if e.type_name == _ENUM:
                warnings.append(f"line {e.line}: {e.message.strip()} (stored as given)")
            elif e.type_name not in _TOLERATED:
                fatal.append(e)
    if fatal:
        raise ProtocolError(f"schema violation: {_describe(fatal)}")
    for e in errors:
        if e.type_name == "SCHEMAV_CVC_MAXLENGTH_VALID":
            warnings.append(f"line {e.line}: {e.message.strip()} (accepted)")

