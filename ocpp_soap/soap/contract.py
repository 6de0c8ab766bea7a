"""Reduce a WSDL to its wire contract, so two WSDLs can be compared by what goes on the wire.

Comments, documentation, prefixes, unused namespace declarations, whitespace and the order of
top-level declarations do not reach the wire and are left out. What stays: services, ports, bindings,
operations, soapActions, WS-Addressing actions, header parts, the input/output element names and
namespaces, and for every message the full element tree (names, order, types, occurrences, enum
values, facets). The conformance test compares the project's ``wsdl/`` with the official files here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XS = "http://www.w3.org/2001/XMLSchema"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_comments=True)


def _qname(el: etree._Element, value: str | None) -> str | None:
    """Resolve a prefixed QName attribute value to Clark notation."""
    if value is None:
        return None
    prefix, _, local = value.rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else local


class _Schema:
    def __init__(self, schema: etree._Element):
        self.tns = schema.get("targetNamespace")
        self.simple = {e.get("name"): e for e in schema.findall(f"{{{XS}}}simpleType")}
        self.complex = {e.get("name"): e for e in schema.findall(f"{{{XS}}}complexType")}
        self.elements = {e.get("name"): e for e in schema.findall(f"{{{XS}}}element")}

    def type_info(self, ctx: etree._Element, qname: str | None) -> Any:
        q = _qname(ctx, qname)
        if q is None:
            return None
        if q.startswith(f"{{{XS}}}"):
            return ("builtin", q.split("}")[1])
        local = q.split("}")[1]
        if local in self.simple:
            return self.simple_info(self.simple[local], local)
        if local in self.complex:
            return ("complex", local, self.complex_info(self.complex[local]))
        raise KeyError(f"unknown type {q}")

    def simple_info(self, st: etree._Element, name: str | None) -> Any:
        r = st.find(f"{{{XS}}}restriction")
        facets = []
        for f in r:
            if not isinstance(f.tag, str):
                continue
            facets.append((f.tag.split("}")[1], f.get("value")))
        enum = tuple(v for k, v in facets if k == "enumeration")
        others = tuple(sorted((k, v) for k, v in facets if k != "enumeration"))
        return ("simple", name, self.type_info(r, r.get("base")), enum, others)

    def element_info(self, el: etree._Element) -> Any:
        occurs = (el.get("minOccurs", "1"), el.get("maxOccurs", "1"), el.get("nillable", "false"))
        if el.get("type") is not None:
            return (el.get("name"), occurs, self.type_info(el, el.get("type")))
        inner = el.find(f"{{{XS}}}complexType")
        return (el.get("name"), occurs, ("anonymous", self.complex_info(inner)))

    def complex_info(self, ct: etree._Element) -> Any:
        seq = ct.find(f"{{{XS}}}sequence")
        if seq is not None:
            return ("sequence", tuple(self.element_info(e) for e in seq
                                      if isinstance(e.tag, str) and e.tag == f"{{{XS}}}element"))
        sc = ct.find(f"{{{XS}}}simpleContent/{{{XS}}}extension")
        if sc is not None:
            attrs = tuple(
                (a.get("name"), a.get("use", "optional"), self.type_info(a, a.get("type")))
                for a in sc.findall(f"{{{XS}}}attribute")
            )
            return ("simpleContent", self.type_info(sc, sc.get("base")), attrs)
        unexpected = [c.tag for c in ct if isinstance(c.tag, str)
                      and c.tag != f"{{{XS}}}annotation"]
        if unexpected:
            raise ValueError(f"unsupported complexType content {unexpected}")
        return ("empty",)

    def element_tree(self, qname: str) -> Any:
        ns, local = qname[1:].split("}")
        if ns != self.tns:
            raise KeyError(f"element {qname} outside the schema namespace {self.tns}")
        return self.element_info(self.elements[local])


def contract(wsdl: str | Path | bytes) -> dict[str, Any]:
    """The wire contract of a WSDL file (path) or document (bytes)."""
    if isinstance(wsdl, bytes):
        root = etree.fromstring(wsdl, _PARSER)
    else:
        root = etree.parse(str(wsdl), _PARSER).getroot()
    tns = root.get("targetNamespace")
    schema = _Schema(root.find(f"{{{WSDL}}}types/{{{XS}}}schema"))
    messages = {}
    for m in root.findall(f"{{{WSDL}}}message"):
        messages[m.get("name")] = {
            p.get("name"): _qname(p, p.get("element")) for p in m.findall(f"{{{WSDL}}}part")
        }

    def message_contract(ctx: etree._Element, ref: str) -> Any:
        name = _qname(ctx, ref).split("}")[1]
        return tuple(sorted(
            (part, element, repr(schema.element_tree(element)))
            for part, element in messages[name].items()
        ))

    port_types = {}
    for pt in root.findall(f"{{{WSDL}}}portType"):
        ops = {}
        for op in pt.findall(f"{{{WSDL}}}operation"):
            i, o = op.find(f"{{{WSDL}}}input"), op.find(f"{{{WSDL}}}output")
            ops[op.get("name")] = {
                "input": message_contract(i, i.get("message")),
                "input_action": i.get(f"{{{WSAW}}}Action"),
                "output": message_contract(o, o.get("message")),
                "output_action": o.get(f"{{{WSAW}}}Action"),
            }
        port_types[pt.get("name")] = ops

    bindings = {}
    for b in root.findall(f"{{{WSDL}}}binding"):
        sb = b.find(f"{{{SOAP12}}}binding")
        ops = {}
        for op in b.findall(f"{{{WSDL}}}operation"):
            so = op.find(f"{{{SOAP12}}}operation")
            entry: dict[str, Any] = {"soapAction": so.get("soapAction"), "style": so.get("style")}
            for direction in ("input", "output"):
                d = op.find(f"{{{WSDL}}}{direction}")
                entry[direction] = {
                    "headers": sorted(
                        (message_contract(h, h.get("message")), h.get("part"), h.get("use"))
                        for h in d.findall(f"{{{SOAP12}}}header")
                    ),
                    "body": [bd.get("use") for bd in d.findall(f"{{{SOAP12}}}body")],
                }
            ops[op.get("name")] = entry
        bindings[b.get("name")] = {
            "type": _qname(b, b.get("type")),
            "transport": sb.get("transport") if sb is not None else None,
            "style": sb.get("style", "document") if sb is not None else None,
            "policy": [p.get("URI") for p in b.findall(f"{{{WSP}}}PolicyReference")],
            "operations": ops,
        }

    services = {}
    for s in root.findall(f"{{{WSDL}}}service"):
        services[s.get("name")] = {
            p.get("name"): _qname(p, p.get("binding")) for p in s.findall(f"{{{WSDL}}}port")
        }
    using_addressing = root.find(f".//{{{WSP}}}Policy//{{{WSAW}}}UsingAddressing") is not None
    return {
        "targetNamespace": tns,
        "services": services,
        "bindings": bindings,
        "portTypes": port_types,
        "usingAddressing": using_addressing,
    }


def differences(a: dict[str, Any], b: dict[str, Any], path: str = "") -> list[str]:
    """Human-readable differences between two contracts (empty when wire-equivalent)."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}/{key}"
            if key not in a:
                out.append(f"{sub}: only in second")
            elif key not in b:
                out.append(f"{sub}: only in first")
            else:
                out.extend(differences(a[key], b[key], sub))
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")
    return out
