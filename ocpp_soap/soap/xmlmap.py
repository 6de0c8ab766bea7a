"""Read an OCPP body element straight into the domain's dict, driven by the declarations.

By the time a request reaches Spyne, the front has parsed it, checked it against the schema (or
repaired it, leniently), so nothing is left to validate. Spyne's own object mapping would then
build model instances only for us to turn them into dicts: for a MeterValues with ten samples that
costs more than everything else in the request together (``bench/wire.py``). Reading the element
tree directly gives the same dict for a fraction of the cost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from ocpp_soap.messages.schema import Builtin, Complex, Field, Restricted, TextWithAttributes
from ocpp_soap.messages.xsdtime import parse_xsd_datetime


def parse_datetime(text: str) -> datetime:
    """xs:dateTime → aware UTC datetime (no zone means UTC; ``24:00:00`` is the next day)."""
    return parse_xsd_datetime(text)


def _simple(t: Builtin | Restricted, text: str | None) -> Any:
    base = t.base.name if isinstance(t, Restricted) else t.name
    text = text or ""
    if base == "int":
        return int(text.strip())
    if base == "dateTime":
        return parse_datetime(text)
    if base == "boolean":
        return text.strip() in ("true", "1")
    if base == "decimal":
        return float(text.strip())
    if base == "anyURI":
        return text.strip()
    return text


def element_to_dict(element: etree._Element, t: Complex) -> dict[str, Any]:
    """The fields of ``element`` (of complex type ``t``) as a dict; absent fields are absent."""
    fields = t.fields
    if not fields:
        return {}
    by_name = {f.name: f for f in fields}
    out: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        f = by_name.get(tag[tag.rfind("}") + 1:])
        if f is None:
            continue
        value = _field(f, child)
        if f.repeated:
            out.setdefault(f.name, []).append(value)
        else:
            out[f.name] = value
    return out


def _field(f: Field, child: etree._Element) -> Any:
    t = f.type
    if isinstance(t, Complex):
        return element_to_dict(child, t)
    if isinstance(t, TextWithAttributes):
        item: dict[str, Any] = {"value": child.text or ""}
        for a in t.attributes:
            v = child.get(a.name)
            if v is not None:
                item[a.name] = v
        return item
    return _simple(t, child.text)
