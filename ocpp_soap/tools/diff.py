"""Compare two SOAP envelopes by meaning, and find the sample an envelope should look like.

When a charger and a Central System do not understand each other, a byte diff of their envelopes is
useless: every stack picks its own prefixes, indentation, header order and attribute order, and
MessageIDs and timestamps differ in every message. This compares what the receiver actually acts
on: the SOAP and OCPP versions, the header set, and the body's element tree in order (the schema
types are sequences, so order is meaning there).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from ocpp_soap import paths
from ocpp_soap.messages import service_schema
from ocpp_soap.soap.versions import CENTRAL, NAMESPACES, SERVICES, SOAP11_NS, SOAP12_NS
from ocpp_soap.tools.envelope import (
    REQUEST,
    RESPONSE,
    Envelope,
    EnvelopeError,
    Source,
    element_children,
    header_children,
    qname,
    read_envelope,
)

CHANGED = "changed value"
MISSING = "missing element"
EXTRA = "extra element"
NAMESPACE = "wrong namespace"
VERSION = "wrong version"
ORDER = "order"
KINDS = (CHANGED, MISSING, EXTRA, NAMESPACE, VERSION, ORDER)

#: Elements whose value differs from one message to the next by design. Their presence is still
#: compared; only their text is ignored (unless ``strict_values``).
VOLATILE_NAMES = frozenset(
    {
        "MessageID",
        "RelatesTo",
        "transactionId",
        "reservationId",
        "timestamp",
        "currentTime",
        "expiryDate",
        "retrieveDate",
        "startDate",
        "stopDate",
        "startTime",
        "stopTime",
        "scheduleStart",
        "startSchedule",
        "validFrom",
        "validTo",
    }
)

#: Header values a sample cannot know: which charge box speaks, and where the two sides live (the
#: request's From address and To). Comparing with a sample (``--sample``) ignores them as well; their
#: presence is still compared. Entries with a ``/`` are paths, matched case-insensitively.
DEPLOYMENT_VALUES = frozenset({"Header/chargeBoxIdentity", "Header/From/Address"})
_REQUEST_DEPLOYMENT_VALUES = DEPLOYMENT_VALUES | {"Header/To"}

_DATETIME = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
)
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


@dataclass(frozen=True)
class Difference:
    """One difference: where (``Body/startTransactionRequest/meterStart``), what kind, and a line
    a person can read. ``a``/``b`` are the two sides' values where that makes sense."""

    path: str
    kind: str
    message: str
    a: str | None = None
    b: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class _Context:
    strict_values: bool
    volatile: frozenset[str]
    volatile_paths: frozenset[str]
    # Namespace pairs (a_ns, b_ns) already explained by one difference (a version or namespace
    # mismatch higher up); repeating them for every descendant would bury the real finding.
    explained: set[tuple[str | None, str | None]] = field(default_factory=set)
    out: list[Difference] = field(default_factory=list)

    def add(self, path: str, kind: str, detail: str, a: str | None = None, b: str | None = None):
        self.out.append(Difference(path, kind, f"{path}: {detail}", a, b))


def diff_envelopes(
    a: Source | Envelope,
    b: Source | Envelope,
    strict_values: bool = False,
    volatile: Iterable[str] = VOLATILE_NAMES,
) -> list[Difference]:
    """Differences between envelope ``a`` (the expected one, e.g. a sample) and ``b``.

    ``volatile`` names the elements whose text is not compared: local names (``MessageID``) or
    paths (``Header/From/Address``, as in the differences' paths).

    Raises EnvelopeError when either side is unreadable, malformed or not an envelope.
    """
    env_a, env_b = read_envelope(a), read_envelope(b)
    volatile = frozenset(volatile)
    paths_ = frozenset(v.lower() for v in volatile if "/" in v)
    ctx = _Context(strict_values, volatile, paths_)
    _compare_versions(env_a, env_b, ctx)
    body = _Context(ctx.strict_values, ctx.volatile, ctx.volatile_paths, ctx.explained)
    _compare_body(env_a, env_b, body)
    _compare_headers(env_a, env_b, ctx)
    return ctx.out + body.out


def _compare_versions(a: Envelope, b: Envelope, ctx: _Context) -> None:
    if a.soap_version != b.soap_version:
        ctx.add("Envelope", VERSION, f"SOAP {a.soap_version} != SOAP {b.soap_version}",
                a.soap_version, b.soap_version)
        ctx.explained.add((SOAP12_NS, SOAP11_NS) if a.soap_version == "1.2" else (SOAP11_NS, SOAP12_NS))
    if a.ocpp_version and b.ocpp_version and a.ocpp_version != b.ocpp_version:
        where = "Body/" + qname(a.payload).localname if a.payload is not None else "Body"
        ctx.add(where, VERSION, f"OCPP {a.ocpp_version} != OCPP {b.ocpp_version}",
                a.ocpp_version, b.ocpp_version)
        for service in SERVICES:
            ns_a = NAMESPACES.get((a.ocpp_version, service))
            ns_b = NAMESPACES.get((b.ocpp_version, service))
            ctx.explained.add((ns_a, ns_b))


def _compare_body(a: Envelope, b: Envelope, ctx: _Context) -> None:
    if _canonical(a.body) == _canonical(b.body):
        return
    _compare_children(element_children(a.body), element_children(b.body), "Body", ctx, ordered=True)


def _compare_headers(a: Envelope, b: Envelope, ctx: _Context) -> None:
    # Headers are a set: receivers look them up by name, so their order carries no meaning.
    # chargeBoxIdentity is matched case-insensitively, as OCPP-S section 3.3 requires.
    _compare_children(header_children(a), header_children(b), "Header", ctx, ordered=False)


def _canonical(element: etree._Element) -> str:
    """C14N 2.0 form with prefixes rewritten and inter-element whitespace stripped: equal strings
    mean equal meaning for everything but volatile values, so most equal parts end here."""
    return ET.canonicalize(etree.tostring(element), strip_text=True, rewrite_prefixes=True)


def _match_key(element: etree._Element) -> str:
    name = qname(element).localname
    return name.lower() if name.lower() == "chargeboxidentity" else name


def _keyed(children: list[etree._Element]) -> dict[tuple[str, int], etree._Element]:
    seen: dict[str, int] = {}
    keyed = {}
    for child in children:
        key = _match_key(child)
        index = seen.get(key, 0)
        seen[key] = index + 1
        keyed[(key, index)] = child
    return keyed


def _step(key: tuple[str, int], element: etree._Element, counts: dict[str, int]) -> str:
    name = qname(element).localname
    return f"{name}[{key[1] + 1}]" if counts.get(key[0], 0) > 1 else name


def _compare_children(
    ca: list[etree._Element], cb: list[etree._Element], path: str, ctx: _Context, ordered: bool
) -> None:
    ka, kb = _keyed(ca), _keyed(cb)
    counts: dict[str, int] = {}
    for name, index in list(ka) + list(kb):
        counts[name] = max(counts.get(name, 0), index + 1)
    for key, child in ka.items():
        sub = f"{path}/{_step(key, child, counts)}"
        if key not in kb:
            ctx.add(sub, MISSING, "missing (only in A)")
            continue
        _compare_element(child, kb[key], sub, ctx)
    for key, child in kb.items():
        if key not in ka:
            ctx.add(f"{path}/{_step(key, child, counts)}", EXTRA, "extra (only in B)")
    if ordered:
        order_a = [key for key in ka if key in kb]
        order_b = [key for key in kb if key in ka]
        if order_a != order_b:
            names_a = ", ".join(k[0] for k in order_a)
            names_b = ", ".join(k[0] for k in order_b)
            ctx.add(path, ORDER, f"order {names_a} != {names_b}", names_a, names_b)


def _compare_element(a: etree._Element, b: etree._Element, path: str, ctx: _Context) -> None:
    ns_a, ns_b = qname(a).namespace, qname(b).namespace
    if ns_a != ns_b and (ns_a, ns_b) not in ctx.explained:
        ctx.add(path, NAMESPACE, f"namespace {ns_a or '(none)'} != {ns_b or '(none)'}", ns_a, ns_b)
        ctx.explained.add((ns_a, ns_b))
    _compare_attributes(a, b, path, ctx)
    ca, cb = element_children(a), element_children(b)
    text_a, text_b = (a.text or "").strip(), (b.text or "").strip()
    if (not ca and not cb) or text_a or text_b:
        if text_a != text_b and not _ignorable(a, path, text_a, text_b, ctx):
            ctx.add(path, CHANGED, f"{text_a or '(empty)'} != {text_b or '(empty)'}", text_a, text_b)
    if ca or cb:
        # Inside a header (From, ReplyTo) children are as ordered as in the body.
        _compare_children(ca, cb, path, ctx, ordered=True)


def _ignorable(a: etree._Element, path: str, text_a: str, text_b: str, ctx: _Context) -> bool:
    if ctx.strict_values:
        return False
    if qname(a).localname in ctx.volatile or path.lower() in ctx.volatile_paths:
        return True
    # Any two timestamps are "the same" unless strict: one side not being a dateTime is a real
    # finding (a format problem), so both must look like one.
    return bool(_DATETIME.match(text_a) and _DATETIME.match(text_b))


def _attr_value(name: str, value: str) -> str:
    if etree.QName(name).localname == "mustUnderstand":
        if value.strip() in _TRUE:
            return "true"
        if value.strip() in _FALSE:
            return "false"
    return value.strip()


def _renamed(name: str, renames: dict[str | None, str | None]) -> str:
    q = etree.QName(name)
    if q.namespace in renames:
        return etree.QName(renames[q.namespace], q.localname).text
    return name


def _compare_attributes(a: etree._Element, b: etree._Element, path: str, ctx: _Context) -> None:
    # An attribute in a namespace already explained (s:mustUnderstand across SOAP 1.1 and 1.2)
    # is the same attribute on both sides.
    renames = dict(ctx.explained)
    attrs_a = {_renamed(k, renames): _attr_value(k, v) for k, v in a.attrib.items()}
    attrs_b = {k: _attr_value(k, v) for k, v in b.attrib.items()}
    for name in sorted(set(attrs_a) | set(attrs_b)):
        va, vb = attrs_a.get(name), attrs_b.get(name)
        if va != vb:
            where = f"{path}/@{etree.QName(name).localname}"
            ctx.add(where, CHANGED, f"{va if va is not None else '(absent)'} != "
                    f"{vb if vb is not None else '(absent)'}", va, vb)


@cache
def _in_both_services(version: str) -> frozenset[str]:
    """Operations both services of ``version`` have (DataTransfer): their names need the service."""
    central, chargepoint = (
        {op.name for op in service_schema(version, service).operations} for service in SERVICES
    )
    return frozenset(central & chargepoint)


def sample_name(envelope: Envelope) -> str:
    """``ocpp16/BootNotification.req.xml``: where the sample for this envelope lives.

    An operation of both services (DataTransfer) names its service by the samples' body prefix:
    ``ocpp16/DataTransfer.cs.req.xml`` (to the Central System), ``DataTransfer.cp.req.xml``.
    """
    if envelope.ocpp_version not in ("1.5", "1.6") or envelope.operation is None:
        raise EnvelopeError(f"{envelope.name}: no OCPP 1.5/1.6 operation in the body, no sample")
    if envelope.direction not in (REQUEST, RESPONSE):
        raise EnvelopeError(f"{envelope.name}: a fault has no sample")
    suffix = "req" if envelope.direction == REQUEST else "conf"
    folder = "ocpp" + envelope.ocpp_version.replace(".", "")
    stem = envelope.operation
    if stem in _in_both_services(envelope.ocpp_version) and envelope.service in SERVICES:
        stem += ".cs" if envelope.service == CENTRAL else ".cp"
    return f"{folder}/{stem}.{suffix}.xml"


def sample_volatile(envelope: Source | Envelope) -> frozenset[str]:
    """What a comparison of ``envelope`` with its sample ignores: the per-message values
    (VOLATILE_NAMES) and the deployment's (DEPLOYMENT_VALUES; To only on requests, since a reply's
    To is always the anonymous address)."""
    env = read_envelope(envelope)
    deployment = _REQUEST_DEPLOYMENT_VALUES if env.direction == REQUEST else DEPLOYMENT_VALUES
    return VOLATILE_NAMES | deployment


def find_sample(envelope: Source | Envelope, samples_dir: str | Path | None = None) -> Path:
    """The sample of the same OCPP version, operation and direction as ``envelope``."""
    env = read_envelope(envelope)
    name = sample_name(env)
    if samples_dir is None:
        try:
            samples_dir = paths.data_dir("samples")
        except FileNotFoundError as exc:
            raise EnvelopeError(str(exc)) from None
    path = Path(samples_dir) / name
    if not path.is_file():
        raise EnvelopeError(
            f"no sample for OCPP {env.ocpp_version} {env.operation} {env.direction}: {path} not found"
        )
    return path


__all__ = [
    "CHANGED",
    "DEPLOYMENT_VALUES",
    "EXTRA",
    "KINDS",
    "MISSING",
    "NAMESPACE",
    "ORDER",
    "VERSION",
    "VOLATILE_NAMES",
    "Difference",
    "diff_envelopes",
    "find_sample",
    "sample_name",
    "sample_volatile",
]
