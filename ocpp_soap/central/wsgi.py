"""WSGI entry point for production servers: ``gunicorn -w 4 'ocpp_soap.central.wsgi:create_app()'``.

Configuration comes from a file (``OCPP_SOAP_CONFIG``), then ``OCPP_SOAP_*`` environment variables
(``OCPP_SOAP_DB``, ``OCPP_SOAP_HEARTBEAT_INTERVAL``, …), then the keyword arguments given here.
"""

from __future__ import annotations

import gc
from typing import Any

from .app import CentralApp
from .serveenv import SERVE_KEYS, serve_options_from_env
from .settings import CentralSettings


def create_app(config_file: str | None = None, **overrides: Any) -> CentralApp:
    """Build the Central System application (the app factory for gunicorn and tests)."""
    serve = {k: overrides.pop(k) for k in list(overrides) if k in SERVE_KEYS}
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
