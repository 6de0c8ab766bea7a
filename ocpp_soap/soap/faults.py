"""SOAP 1.2 faults with the OCPP-S subcodes (OCPP-S 1.6, section 4).

The subcode is a QName in the service's own namespace (``cs:ProtocolError``), the Code is
``Sender`` or ``Receiver`` in the SOAP envelope namespace, and a Sender fault travels with HTTP 400,
a Receiver fault with HTTP 500 (SOAP 1.2 part 2, 7.5.1).

``OcppFault`` derives from Spyne's ``Fault`` so a handler may raise it anywhere and Spyne carries it
out through the same hooks as a normal reply.
"""

from __future__ import annotations

from lxml import etree
from spyne.model.fault import Fault

from ocpp_soap.soap.versions import SOAP12_NS

SENDER = "Sender"
RECEIVER = "Receiver"


class OcppFault(Fault):
    """A fault an OCPP-S peer understands: Code, Subcode and a reason for a human."""

    code = SENDER
    subcode = "ProtocolError"

    def __init__(self, reason: str, subcode: str | None = None, code: str | None = None):
        self.code = code or type(self).code
        self.subcode = subcode or type(self).subcode
        self.reason = reason
        spyne_code = ("Client" if self.code == SENDER else "Server") + "." + self.subcode
        super().__init__(faultcode=spyne_code, faultstring=reason)

    @property
    def http_status(self) -> int:
        return 400 if self.code == SENDER else 500

    def __str__(self) -> str:
        return f"{self.code}/{self.subcode}: {self.reason}"


class ProtocolError(OcppFault):
    code, subcode = SENDER, "ProtocolError"


class IdentityMismatch(OcppFault):
    code, subcode = SENDER, "IdentityMismatch"


class SecurityError(OcppFault):
    code, subcode = SENDER, "SecurityError"


class NotSupported(OcppFault):
    code, subcode = RECEIVER, "NotSupported"


class InternalError(OcppFault):
    code, subcode = RECEIVER, "InternalError"


def fault_element(fault: OcppFault, ocpp_ns: str,
                  parent: etree._Element | None = None) -> etree._Element:
    """The ``<Fault>`` element for ``fault``, its subcode qualified by ``ocpp_ns``.

    Given ``parent``, the element is appended there first: the Code and Subcode values are QNames
    in text, so their prefixes must be the ones in force where the element finally sits.
    """
    f = etree.Element(f"{{{SOAP12_NS}}}Fault", nsmap={"s": SOAP12_NS, "o": ocpp_ns})
    if parent is not None:
        parent.append(f)
    code = etree.SubElement(f, f"{{{SOAP12_NS}}}Code")
    code_value = etree.SubElement(code, f"{{{SOAP12_NS}}}Value")
    sub = etree.SubElement(code, f"{{{SOAP12_NS}}}Subcode")
    sub_value = etree.SubElement(sub, f"{{{SOAP12_NS}}}Value")
    prefixes = {uri: prefix for prefix, uri in sub_value.nsmap.items() if prefix}
    code_value.text = f"{prefixes[SOAP12_NS]}:{fault.code}"
    sub_value.text = f"{prefixes[ocpp_ns]}:{fault.subcode}"
    reason = etree.SubElement(f, f"{{{SOAP12_NS}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP12_NS}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = fault.reason
    return f


def parse_fault(fault_el: etree._Element) -> OcppFault:
    """Read a received SOAP 1.2 ``<Fault>`` back into an ``OcppFault``."""
    ns = {"s": SOAP12_NS}
    code = (fault_el.findtext("s:Code/s:Value", namespaces=ns) or "").split(":")[-1] or SENDER
    sub = fault_el.findtext("s:Code/s:Subcode/s:Value", namespaces=ns)
    reason = fault_el.findtext("s:Reason/s:Text", namespaces=ns) or ""
    return OcppFault(reason.strip(), subcode=(sub or "").split(":")[-1] or None, code=code)
