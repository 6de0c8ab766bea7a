"""OCPP 1.5 and 1.6 message models: the schema of every message, declared once as data.

``schema`` holds the vocabulary (simple types, complex types, fields, operations, services);
``types`` the parts shared by both versions; ``ocpp15`` and ``ocpp16`` the rest of each version.
Everything else (Spyne classes, the WSDL files, strict and lenient readers) is derived from these
declarations, so a fact about a message is written in exactly one place.
"""

from ocpp_soap.messages.schema import ServiceSchema, service_schema

__all__ = ["ServiceSchema", "service_schema"]
