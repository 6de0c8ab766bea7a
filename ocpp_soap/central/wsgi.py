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


def read_token_file(path: str) -> str:
    """The API token from a file (first line, stripped), so it never shows in ``ps``."""
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.readline().strip()
    except OSError as exc:
        raise ValueError(f"cannot read the API token file {path}: {exc.strerror}") from None
    if not token:
        raise ValueError(f"the API token file {path} is empty")
    return token


def serve_options_from_env(env=None, **overrides: Any) -> ServeOptions:
    """Serve options from ``OCPP_SOAP_*`` variables, then ``overrides``; a token file
    (``api_token_file`` / ``OCPP_SOAP_API_TOKEN_FILE``) gives the token unless one is given."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, (var, conv) in _SERVE_ENV.items():
        if env.get(var):
            values[name] = conv(env[var])
    token_file = overrides.pop("api_token_file", None) or env.get("OCPP_SOAP_API_TOKEN_FILE")
    values.update({k: v for k, v in overrides.items() if v is not None})
    if token_file and not overrides.get("api_token"):
        values["api_token"] = read_token_file(token_file)
    return ServeOptions(**values)


def create_app(config_file: str | None = None, **overrides: Any) -> CentralApp:
    """Build the Central System application (the app factory for gunicorn and tests)."""
    serve_keys = set(_SERVE_ENV) | {"api_token_file", "listen_port", "api_hosts"}
    serve = {k: overrides.pop(k) for k in list(overrides) if k in serve_keys}
    settings = CentralSettings.load(config_file=config_file, overrides=overrides)
    options = serve_options_from_env(**serve)
    if settings.webhooks:
        # Webhooks need the event outbox, which the public application carries.
        from .embedding import CentralSystem

        app: CentralApp = CentralSystem(settings, options=options)
    else:
        app = CentralApp(settings, options)
    # Everything built so far (schemas, Spyne and zeep models, SQLAlchemy metadata) lives as
    # long as the process: moving it out of the collector's sight keeps full collections short
    # while requests are served.
    gc.collect()
    gc.freeze()
    return app
