"""WSGI entry point for production servers: ``gunicorn -w 4 'ocpp_soap.central.wsgi:create_app()'``.

Configuration comes from a file (``OCPP_SOAP_CONFIG``), then ``OCPP_SOAP_*`` environment variables
(``OCPP_SOAP_DB``, ``OCPP_SOAP_HEARTBEAT_INTERVAL``, …), then the keyword arguments given here.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from .app import CentralApp, ServeOptions
from .settings import CentralSettings

_SERVE_ENV = {
    "strict": ("OCPP_SOAP_STRICT", lambda v: v.lower() in ("1", "true", "yes")),
    "max_body": ("OCPP_SOAP_MAX_BODY", int),
    "capture_dir": ("OCPP_SOAP_CAPTURE", str),
    "api_token": ("OCPP_SOAP_API_TOKEN", str),
    "envelope_log": ("OCPP_SOAP_ENVELOPE_LOG", lambda v: v.lower() in ("1", "true", "yes")),
    "listen_host": ("OCPP_SOAP_LISTEN_HOST", str),
}


def serve_options_from_env(env=None, **overrides: Any) -> ServeOptions:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, (var, conv) in _SERVE_ENV.items():
        if env.get(var):
            values[name] = conv(env[var])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ServeOptions(**values)


def create_app(config_file: str | None = None, **overrides: Any) -> CentralApp:
    """Build the Central System application (the app factory for gunicorn and tests)."""
    serve_keys = set(_SERVE_ENV)
    serve = {k: overrides.pop(k) for k in list(overrides) if k in serve_keys}
    settings = CentralSettings.load(config_file=config_file, overrides=overrides)
    app = CentralApp(settings, serve_options_from_env(**serve))
    # Everything built so far (schemas, Spyne and zeep models, SQLAlchemy metadata) lives as
    # long as the process: moving it out of the collector's sight keeps full collections short
    # while requests are served.
    gc.collect()
    gc.freeze()
    return app
