"""The Central System role: the public API for embedding it (see the README's "Embedding").

Public names (``__all__``): ``create_app``, ``CentralSystem``, the handler ``Context``, the
``Authorizer`` protocol with ``AuthorizationRequest``/``Authorization``/``TagTableAuthorizer``,
the OCPP errors a handler may raise, and the events (``Event`` and its kinds). Also public, as the
README documents: ``ocpp_soap.central.wsgi:create_app()`` and
``ocpp_soap.central.workers.PromptSyncWorker``/``PromptThreadWorker``. Every other module is
the package's own business.

Import-light on purpose: the names load on first use (PEP 562), so ``ocpp_soap.central.wsgi``,
the CLI and gunicorn's worker classes do not pay for Spyne and SQLAlchemy through this file.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "create_app": "embedding",
    "CentralSystem": "embedding",
    "Context": "userhandlers",
    "Authorizer": "authorization",
    "Authorization": "authorization",
    "AuthorizationRequest": "authorization",
    "TagTableAuthorizer": "authorization",
    "OcppError": "ocpperrors",
    "ProtocolError": "ocpperrors",
    "SecurityError": "ocpperrors",
    "NotSupported": "ocpperrors",
    "InternalError": "ocpperrors",
    "Event": "events",
    "EVENT_KINDS": "events",
    "BOX_BOOTED": "events",
    "BOX_STATUS_CHANGED": "events",
    "CONNECTOR_STATUS_CHANGED": "events",
    "TRANSACTION_STARTED": "events",
    "TRANSACTION_STOPPED": "events",
    "METER_VALUES": "events",
    "COMMAND_RESULT": "events",
    "ENDPOINT_CHANGED": "events",
    "CentralSettings": "settings",
}

__all__ = [
    "Authorization",
    "AuthorizationRequest",
    "Authorizer",
    "BOX_BOOTED",
    "BOX_STATUS_CHANGED",
    "COMMAND_RESULT",
    "CONNECTOR_STATUS_CHANGED",
    "CentralSettings",
    "CentralSystem",
    "Context",
    "ENDPOINT_CHANGED",
    "EVENT_KINDS",
    "Event",
    "InternalError",
    "METER_VALUES",
    "NotSupported",
    "OcppError",
    "ProtocolError",
    "SecurityError",
    "TRANSACTION_STARTED",
    "TRANSACTION_STOPPED",
    "TagTableAuthorizer",
    "create_app",
]

if TYPE_CHECKING:
    from .authorization import (
        Authorization,
        AuthorizationRequest,
        Authorizer,
        TagTableAuthorizer,
    )
    from .embedding import CentralSystem, create_app
    from .events import (
        BOX_BOOTED,
        BOX_STATUS_CHANGED,
        COMMAND_RESULT,
        CONNECTOR_STATUS_CHANGED,
        ENDPOINT_CHANGED,
        EVENT_KINDS,
        METER_VALUES,
        TRANSACTION_STARTED,
        TRANSACTION_STOPPED,
        Event,
    )
    from .ocpperrors import InternalError, NotSupported, OcppError, ProtocolError, SecurityError
    from .settings import CentralSettings
    from .userhandlers import Context


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ocpp_soap.central' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
