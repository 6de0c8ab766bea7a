"""OCPP 1.5 and 1.6 message models: the schema of every message, declared once as data.

``schema`` holds the vocabulary (simple types, complex types, fields, operations, services);
``types`` the parts shared by both versions; ``ocpp15`` and ``ocpp16`` the rest of each version.
Everything else (Spyne classes, the WSDL files, strict and lenient readers) is derived from these
declarations, so a fact about a message is written in exactly one place.

Public names (``__all__``): ``service_schema(version, service)`` and what it is made of
(``ServiceSchema``, ``Operation``, ``Complex``, ``Field``, ``Restricted``, ``Builtin``,
``TextWithAttributes``, ``Attribute``), ``example(version, service, operation)`` (a realistic
request and reply for every operation) and ``parse_xsd_datetime``. The modules serve the rest
of the package and may change. The names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocpp_soap._lazy import lazy_exports

_EXPORTS = {
    "Attribute": "schema",
    "Builtin": "schema",
    "Complex": "schema",
    "Field": "schema",
    "Operation": "schema",
    "Restricted": "schema",
    "ServiceSchema": "schema",
    "TextWithAttributes": "schema",
    "service_schema": "catalog",
    "example": "examples",
    "parse_xsd_datetime": "xsdtime",
}

__all__ = [
    "Attribute",
    "Builtin",
    "Complex",
    "Field",
    "Operation",
    "Restricted",
    "ServiceSchema",
    "TextWithAttributes",
    "example",
    "parse_xsd_datetime",
    "service_schema",
]

if TYPE_CHECKING:
    from .catalog import service_schema
    from .examples import example
    from .schema import (
        Attribute,
        Builtin,
        Complex,
        Field,
        Operation,
        Restricted,
        ServiceSchema,
        TextWithAttributes,
    )
    from .xsdtime import parse_xsd_datetime

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
