"""WS-Addressing 2005/08 headers as OCPP-S section 3 wants them.

Requests carry Action, MessageID, From (the sender's own SOAP endpoint), ReplyTo (anonymous) and To;
replies carry Action (``/OpResponse``), MessageID, RelatesTo (the request's MessageID) and To
(anonymous). Both roles build their headers here.
"""

from __future__ import annotations

import copy
import uuid

from lxml import etree

from ocpp_soap.soap.versions import SOAP12_NS, WSA_ANONYMOUS, WSA_NS

FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
_MU = f"{{{SOAP12_NS}}}mustUnderstand"


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _wsa(parent: etree._Element, name: str, text: str | None = None,
         must_understand: bool = False) -> etree._Element:
    el = etree.SubElement(parent, f"{{{WSA_NS}}}{name}", nsmap={"wsa": WSA_NS})
    if text is not None:
        el.text = text
    if must_understand:
        el.set(_MU, "true")
    return el


def _endpoint(parent: etree._Element, name: str, address: str) -> None:
    _wsa(_wsa(parent, name), "Address", address)


def add_identity(header: etree._Element, ocpp_ns: str, charge_box_id: str) -> None:
    el = etree.SubElement(header, f"{{{ocpp_ns}}}chargeBoxIdentity", nsmap={"ocpp": ocpp_ns})
    el.text = charge_box_id


def add_request_headers(header: etree._Element, action: str, to: str, from_address: str | None,
                        message_id: str | None = None) -> str:
    """Append the request set; return the MessageID used."""
    message_id = message_id or new_message_id()
    _wsa(header, "Action", action, must_understand=True)
    _wsa(header, "MessageID", message_id)
    if from_address:
        _endpoint(header, "From", from_address)
    _endpoint(header, "ReplyTo", WSA_ANONYMOUS)
    _wsa(header, "To", to, must_understand=True)
    return message_id


def _build_reply_headers(header: etree._Element, action: str, message_id: str,
                         relates_to: str | None, from_address: str | None) -> None:
    _wsa(header, "Action", action, must_understand=True)
    _wsa(header, "MessageID", message_id)
    if relates_to:
        _wsa(header, "RelatesTo", relates_to)
    if from_address:
        _endpoint(header, "From", from_address)
    _wsa(header, "To", WSA_ANONYMOUS, must_understand=True)


# Every reply carries the same few header elements; copying a built set (in C) and filling in
# its texts costs a third of building each element with its namespace map again.
_REPLY_TEMPLATES: dict[tuple[bool, bool], list[etree._Element]] = {}


def add_reply_headers(header: etree._Element, action: str, relates_to: str | None,
                      from_address: str | None = None) -> str:
    """Append the reply set; return the reply's MessageID."""
    message_id = new_message_id()
    key = (bool(relates_to), bool(from_address))
    template = _REPLY_TEMPLATES.get(key)
    if template is None:
        scratch = etree.Element(header.tag)
        _build_reply_headers(scratch, "-", "-", "-" if relates_to else None,
                             "-" if from_address else None)
        template = _REPLY_TEMPLATES.setdefault(key, list(scratch))
    elements = [copy.copy(t) for t in template]
    elements[0].text = action
    elements[1].text = message_id
    i = 2
    if relates_to:
        elements[i].text = relates_to
        i += 1
    if from_address:
        elements[i][0].text = from_address
    header.extend(elements)
    return message_id
