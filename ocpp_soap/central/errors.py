"""Domain rejections that the wire layer turns into SOAP faults.

The domain must not import the wire layer, so it raises these plain exceptions and the glue maps
them: ``SecurityError`` → Sender/SecurityError, ``ProtocolViolation`` → Sender/ProtocolError
(``NotImplementedError`` → Receiver/NotSupported is Python's own), and the storage layer's
``StorageUnavailable`` → Receiver/InternalError naming a storage outage (API: 503).
"""

from .storage.outage import StorageUnavailable

__all__ = ["Conflict", "NotFound", "ProtocolViolation", "SecurityError", "StorageUnavailable"]


class SecurityError(Exception):
    """The sender may not do this: unknown or not-Accepted box, identity/credentials mismatch."""


class ProtocolViolation(Exception):
    """The message is well-formed XML but breaks an OCPP rule the domain can see."""


class NotFound(LookupError):
    """An admin call named a charge box, tag or record that does not exist (API → 404)."""


class Conflict(Exception):
    """An admin call clashes with what is stored, e.g. adding a box twice (API → 409)."""


class NoEndpoint(Conflict):
    """A command for a box whose address we do not know yet (it may be queued)."""
