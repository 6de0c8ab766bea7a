"""Envelopes for people: indented, with tags, attributes and values in colour, and what the diff
and validate tools say about them.

The log holds envelopes as they crossed the wire, possibly hostile; they are parsed with the tools'
safe parser (no DTD, no entities, no network). Highlighting wraps escaped pieces in ``<span>``s,
so nothing from the envelope is ever markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from lxml import etree

from ocpp_soap.tools import diff as diffmod
from ocpp_soap.tools.envelope import EnvelopeError, parse_xml, read_envelope
from ocpp_soap.tools.validate import SchemaSourceError, Violation, validate_envelope

_TAG = re.compile(r"(<[^>]*>)")
_ATTR = re.compile(r'([\w:.-]+)(\s*=\s*)("[^"]*"|\'[^\']*\')')


def pretty(text: str) -> str:
    """The envelope indented; unparsable text is returned as it is."""
    try:
        root = parse_xml(text.encode("utf-8"))
    except EnvelopeError:
        return text
    for element in root.iter():
        if isinstance(element.tag, str) and len(element):
            if element.text is not None and not element.text.strip():
                element.text = None
            for child in element:
                if child.tail is not None and not child.tail.strip():
                    child.tail = None
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")


def _tag(token: str) -> str:
    if token.startswith(("<!--", "<?")):
        return f'<span class="x-comment">{escape(token)}</span>'
    match = re.match(r"(</?)([^\s/>]+)(.*?)(/?>)$", token, re.S)
    if not match:
        return escape(token)
    opening, name, rest, closing = match.groups()
    out = [f'<span class="x-punct">{escape(opening)}</span>',
           f'<span class="x-tag">{escape(name)}</span>']
    position = 0
    for attr in _ATTR.finditer(rest):
        out.append(escape(rest[position:attr.start()]))
        out.append(f'<span class="x-attr">{escape(attr.group(1))}</span>'
                   f'{escape(attr.group(2))}<span class="x-value">{escape(attr.group(3))}</span>')
        position = attr.end()
    out.append(escape(rest[position:]))
    out.append(f'<span class="x-punct">{escape(closing)}</span>')
    return "".join(out)


def highlight(text: str) -> str:
    """HTML (escaped, with spans) for an XML text."""
    out = []
    for piece in _TAG.split(text):
        if not piece:
            continue
        if piece.startswith("<"):
            out.append(_tag(piece))
        else:
            out.append(f'<span class="x-text">{escape(piece)}</span>' if piece.strip()
                       else escape(piece))
    return "".join(out)


@dataclass
class Comparison:
    """The diff against the specification's sample: which sample, and the differences, or why
    there is nothing to compare."""

    sample: str | None
    differences: list[diffmod.Difference]
    error: str | None = None


def compare_with_sample(text: str) -> Comparison:
    try:
        envelope = read_envelope(text.encode("utf-8"))
        path = diffmod.find_sample(envelope)
        sample = read_envelope(path)
        found = diffmod.diff_envelopes(sample, envelope,
                                       volatile=diffmod.sample_volatile(envelope))
    except EnvelopeError as exc:
        return Comparison(None, [], str(exc).replace("<bytes>", "this envelope"))
    return Comparison(diffmod.sample_name(envelope), found)


def validate(text: str) -> tuple[list[Violation], str | None]:
    """Schema and OCPP-S header findings (lenient labels: which ones lenient reading accepts),
    or why the envelope could not be checked."""
    try:
        return validate_envelope(text.encode("utf-8"), lenient=True), None
    except (EnvelopeError, SchemaSourceError) as exc:
        return [], str(exc).replace("<bytes>", "this envelope")
