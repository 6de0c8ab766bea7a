"""Serve options (``ServeOptions``) from ``OCPP_SOAP_*`` variables and an API token file.

Both application factories read them the same way: ``wsgi.create_app`` (what gunicorn and
``serve`` run) and ``embedding.create_app`` (the public one). They live here, apart from both
factories, so neither factory imports the other for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .app import ServeOptions

_SERVE_ENV = {
    "strict": ("OCPP_SOAP_STRICT", lambda v: v.lower() in ("1", "true", "yes")),
    "max_body": ("OCPP_SOAP_MAX_BODY", int),
    "capture_dir": ("OCPP_SOAP_CAPTURE", str),
    "api_token": ("OCPP_SOAP_API_TOKEN", str),
    "envelope_log": ("OCPP_SOAP_ENVELOPE_LOG", lambda v: v.lower() in ("1", "true", "yes")),
    "listen_host": ("OCPP_SOAP_LISTEN_HOST", str),
}

#: The keyword arguments of a factory that are serve options, not settings.
SERVE_KEYS = frozenset(_SERVE_ENV) | {"api_token_file", "listen_port", "api_hosts"}


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


def serve_options_from_env(env: Mapping[str, str] | None = None,
                           **overrides: Any) -> ServeOptions:
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
