"""The OCPP errors a user's handler may raise; each leaves as the SOAP fault OCPP-S names.

Plain exceptions (no Spyne import), so that code registering handlers stays light; the handler
adapter (``userhandlers``) turns them into the wire layer's faults.
"""

from __future__ import annotations

__all__ = ["InternalError", "NotSupported", "OcppError", "ProtocolError", "SecurityError"]


class OcppError(Exception):
    """Base of the errors a handler may raise; the message becomes the fault's reason."""


class ProtocolError(OcppError):
    """The request breaks an OCPP rule (Sender/ProtocolError)."""


class SecurityError(OcppError):
    """The sender may not do this (Sender/SecurityError)."""


class NotSupported(OcppError):
    """This Central System does not support the operation (Receiver/NotSupported)."""


class InternalError(OcppError):
    """The request was fine but could not be served now (Receiver/InternalError)."""


def as_fault(exc: OcppError):
    """The wire layer's fault for ``exc`` (imports Spyne: only called when a handler raised)."""
    from ocpp_soap.soap import faults

    kind = faults.InternalError
    for cls, fault in ((ProtocolError, faults.ProtocolError), (SecurityError, faults.SecurityError),
                       (NotSupported, faults.NotSupported)):
        if isinstance(exc, cls):
            kind = fault
            break
    return kind(str(exc) or type(exc).__name__)
