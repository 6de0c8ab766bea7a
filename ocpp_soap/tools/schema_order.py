"""The child order each OCPP element type expects, read from a WSDL's schema.

``validate --lenient`` must tell "children out of sequence order" (which lenient reading accepts)
from "unknown or missing child" (which it does not). The honest test is to put the children into
schema order and validate again; that needs the sequence of every complex type, which lxml's
XMLSchema does not expose, so it is read here from the same ``<xs:schema>``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from ocpp_soap.soap.xsd import WSDL_NS, XSD_NS

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _local(type_ref: str | None) -> str | None:
    return None if type_ref is None else type_ref.rpartition(":")[2]


@dataclass(frozen=True)
class Sequences:
    """Global element name -> type name, and complex type name -> [(child, child type)]."""

    elements: dict[str, str | None]
    types: dict[str, list[tuple[str, str | None]]]

    def child_types(self, type_name: str | None) -> list[tuple[str, str | None]]:
        return self.types.get(type_name or "", [])


@cache
def sequences_from_wsdl(wsdl_file: str) -> Sequences:
    """Read the sequences of the schema inside ``wsdl_file`` (cached per file)."""
    root = etree.parse(str(Path(wsdl_file)), _SAFE).getroot()
    schema = root.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    if schema is None:
        raise ValueError(f"{wsdl_file}: no xs:schema under wsdl:types")
    elements = {e.get("name"): _local(e.get("type")) for e in schema.findall(f"{{{XSD_NS}}}element")}
    types: dict[str, list[tuple[str, str | None]]] = {}
    for complex_type in schema.findall(f"{{{XSD_NS}}}complexType"):
        children = complex_type.findall(f"{{{XSD_NS}}}sequence/{{{XSD_NS}}}element")
        types[complex_type.get("name")] = [(c.get("name"), _local(c.get("type"))) for c in children]
    return Sequences(elements, types)


def reorder_copy(payload: etree._Element, sequences: Sequences) -> etree._Element:
    """A deep copy of ``payload`` with every element's children sorted into schema order.

    Unknown children keep their relative place at the end, so validation still reports them.
    Line numbers survive the copy, so errors left over point at the original lines.
    """
    fixed = copy.deepcopy(payload)
    _reorder(fixed, sequences.elements.get(etree.QName(fixed).localname), sequences)
    return fixed


def _reorder(element: etree._Element, type_name: str | None, sequences: Sequences) -> None:
    order = sequences.child_types(type_name)
    if not order:
        return
    rank = {name: i for i, (name, _) in enumerate(order)}
    child_type = dict(order)
    children = [c for c in element if isinstance(c.tag, str)]
    ranked = sorted(children, key=lambda c: rank.get(etree.QName(c).localname, len(rank)))
    if ranked != children:
        tail = element[-1].tail if len(element) else None
        for child in children:
            element.remove(child)
        for child in ranked:
            element.append(child)
        if len(element):
            element[-1].tail = tail
    for child in ranked:
        _reorder(child, child_type.get(etree.QName(child).localname), sequences)


def schema_order(element: etree._Element, payload: etree._Element, sequences: Sequences) -> list[str]:
    """Child names of ``element`` (inside ``payload``) in the order its schema type lists them."""
    chain = []
    node = element
    while node is not None and node is not payload:
        chain.append(etree.QName(node).localname)
        node = node.getparent()
    type_name = sequences.elements.get(etree.QName(payload).localname)
    for name in reversed(chain):
        type_name = dict(sequences.child_types(type_name)).get(name)
    return [name for name, _ in sequences.child_types(type_name)]
