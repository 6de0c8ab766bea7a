"""The wire: SOAP 1.2 envelopes, WS-Addressing, faults, versions, Spyne and zeep glue.

Public names (``__all__``), for speaking OCPP-S without either role on top:

- ``OcppClient`` sends one service's requests (zeep underneath, the OCPP-S headers added) and
  returns the reply as a dict; ``RemoteFault``, ``CallTimeout``, ``Unreachable`` (and its
  ``CertificateProblem``) and ``BadReply`` are how a call fails; ``OutgoingExchange`` is what its
  ``on_exchange`` hook sees.
- ``OcppEndpoint`` is the WSGI application of one service in both versions (guards, version
  routing, Spyne), configured by ``EndpointOptions``; a handler gets a ``CallContext`` and
  ``on_exchange`` an ``Exchange``.
- The faults a handler raises (``OcppFault`` and its ``ProtocolError``, ``IdentityMismatch``,
  ``SecurityError``, ``NotSupported``, ``InternalError``), and the names of what exists:
  ``VERSIONS``, ``CENTRAL``, ``CHARGEPOINT``.

The modules themselves serve the two roles and the tools, and may change. The names load on
first use: ``ocpp_soap`` imports this package before it patches Spyne, so nothing here may pull
in Spyne or zeep at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocpp_soap._lazy import lazy_exports

_EXPORTS = {
    "BadReply": "client",
    "CallTimeout": "client",
    "CertificateProblem": "client",
    "OcppClient": "client",
    "OutgoingExchange": "client",
    "RemoteFault": "client",
    "Unreachable": "client",
    "EndpointOptions": "server",
    "Exchange": "server",
    "OcppEndpoint": "server",
    "CallContext": "context",
    "IdentityMismatch": "faults",
    "InternalError": "faults",
    "NotSupported": "faults",
    "OcppFault": "faults",
    "ProtocolError": "faults",
    "SecurityError": "faults",
    "CENTRAL": "versions",
    "CHARGEPOINT": "versions",
    "VERSIONS": "versions",
}

__all__ = [
    "BadReply",
    "CENTRAL",
    "CHARGEPOINT",
    "CallContext",
    "CallTimeout",
    "CertificateProblem",
    "EndpointOptions",
    "Exchange",
    "IdentityMismatch",
    "InternalError",
    "NotSupported",
    "OcppClient",
    "OcppEndpoint",
    "OcppFault",
    "OutgoingExchange",
    "ProtocolError",
    "RemoteFault",
    "SecurityError",
    "Unreachable",
    "VERSIONS",
]

if TYPE_CHECKING:
    from .client import (
        BadReply,
        CallTimeout,
        CertificateProblem,
        OcppClient,
        OutgoingExchange,
        RemoteFault,
        Unreachable,
    )
    from .context import CallContext
    from .faults import (
        IdentityMismatch,
        InternalError,
        NotSupported,
        OcppFault,
        ProtocolError,
        SecurityError,
    )
    from .server import EndpointOptions, Exchange, OcppEndpoint
    from .versions import CENTRAL, CHARGEPOINT, VERSIONS

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
