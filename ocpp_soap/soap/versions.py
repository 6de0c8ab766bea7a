"""OCPP-S versions and their namespaces (OCPP-S 1.6, section 8).

The body's namespace is the only reliable sign of the version a charger speaks, so routing and
parsing start here.
"""

from __future__ import annotations

from dataclasses import dataclass

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"

CENTRAL = "CentralSystemService"
CHARGEPOINT = "ChargePointService"
SERVICES = (CENTRAL, CHARGEPOINT)
VERSIONS = ("1.5", "1.6")

NAMESPACES: dict[tuple[str, str], str] = {
    ("1.5", CENTRAL): "urn://Ocpp/Cs/2012/06/",
    ("1.5", CHARGEPOINT): "urn://Ocpp/Cp/2012/06/",
    ("1.6", CENTRAL): "urn://Ocpp/Cs/2015/10/",
    ("1.6", CHARGEPOINT): "urn://Ocpp/Cp/2015/10/",
}

#: OCPP 1.2 namespaces: recognised only to give a clear "unsupported version" fault.
LEGACY_NAMESPACES = {"urn://Ocpp/Cs/2010/08/": "1.2", "urn://Ocpp/Cp/2010/08/": "1.2"}


@dataclass(frozen=True)
class Flavour:
    """One (version, service) pair: what a body namespace tells us."""

    version: str
    service: str

    @property
    def namespace(self) -> str:
        return NAMESPACES[(self.version, self.service)]


_BY_NAMESPACE: dict[str, Flavour] = {}
for (_v, _s), _ns in NAMESPACES.items():
    _BY_NAMESPACE[_ns] = Flavour(_v, _s)
    # The OCPP-S table prints the 1.6 URNs without the trailing slash; accept both spellings.
    _BY_NAMESPACE[_ns.rstrip("/")] = Flavour(_v, _s)


def flavour_of(namespace: str | None) -> Flavour | None:
    """The (version, service) a body namespace belongs to, or None if it is not OCPP 1.5/1.6."""
    if namespace is None:
        return None
    return _BY_NAMESPACE.get(namespace)


def namespace(version: str, service: str) -> str:
    return NAMESPACES[(version, service)]
