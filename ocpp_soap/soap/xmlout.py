"""Write a reply body straight from the handler's dict into lxml, driven by the declarations.

Spyne turns a reply into XML by first building model instances (``convert.from_dict``) and then
walking them with its object mapping: for a Heartbeat that is most of the Central System's own
cost per message, for work that is a handful of elements. This writer walks the same declaration
the Spyne models come from and produces the same elements, prefixes and value texts, so the bytes
on the wire are identical (``tests/wire/test_xmlout.py`` compares both for every reply of both
versions and services). Spyne keeps the dispatch, the faults and every reply this writer declines.

Value texts follow what Spyne writes for the same model: ``convert.simple_out`` decides the value
(UTC without microseconds, Decimal, int, bool), then ``isoformat()``, ``str()`` or
``true``/``false`` make the text, as Spyne's protocol does for these types.
"""

from __future__ import annotations

import decimal
from datetime import datetime
from typing import Any

from lxml import etree

from ocpp_soap.messages.schema import Builtin, Complex, Restricted, TextWithAttributes
from ocpp_soap.soap.convert import simple_out


class Unsupported(Exception):
    """This reply holds something the lean writer does not write; Spyne writes it instead."""


class LeanReply:
    """What a method hands to the protocol: the reply in the declaration's shape, not yet XML."""

    __slots__ = ("data", "type")

    def __init__(self, data: dict[str, Any], type_: Complex):
        self.data = data
        self.type = type_


def text_of(t: Builtin | Restricted, value: Any) -> str:
    """The element text Spyne would write for ``value`` of simple type ``t``."""
    value = simple_out(t, value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | int):
        return str(value)
    return value


def write_complex(parent: etree._Element, tag: str, ns: str, data: dict[str, Any] | None,
                  t: Complex) -> etree._Element:
    """Append ``<tag>`` of complex type ``t`` holding ``data`` (unknown keys ignored)."""
    el = etree.SubElement(parent, tag)
    data = data or {}
    for f in t.fields:
        value = data.get(f.name)
        if value is None:
            continue
        child_tag = f"{{{ns}}}{f.name}"
        ft = f.type
        values = (value if isinstance(value, list | tuple) else [value]) if f.repeated else [value]
        if isinstance(ft, Complex):
            for v in values:
                write_complex(el, child_tag, ns, v, ft)
        elif isinstance(ft, TextWithAttributes):
            raise Unsupported(f"{t.name}.{f.name}: text with attributes")
        else:
            for v in values:
                etree.SubElement(el, child_tag).text = text_of(ft, v)
    return el
