"""Helpers for the API tests: a Central System on a SQLite file served on 127.0.0.1, and a client.

(No tests here; the ``test_api_`` name keeps the API tests' files together.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openapi_schema_validator
import requests

from ocpp_soap.central.wsgi import create_app
from ocpp_soap.soap.httpserver import BackgroundServer

PUBLIC_URL = "http://cs.example.test:8180"


@dataclass
class Api:
    """A running Central System and a small JSON client for its API."""

    app: Any
    server: BackgroundServer
    token: str | None = None

    @property
    def base(self) -> str:
        return self.server.url + "/api/v1"

    @property
    def admin(self):
        return self.app.central.admin

    def request(self, method: str, path: str, *, token: str | None = None,
                **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        token = token if token is not None else self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, headers=headers, timeout=20, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)


def start_api(tmp_path, **overrides: Any) -> Api:
    """``create_app`` on ``tmp_path/cs.db`` behind a BackgroundServer on 127.0.0.1."""
    overrides.setdefault("public_url", PUBLIC_URL)
    app = create_app(db_url=f"sqlite:///{tmp_path}/cs.db", **overrides)
    server = BackgroundServer(app).start()
    return Api(app, server, overrides.get("api_token"))


def stop_api(api: Api) -> None:
    api.server.stop()
    api.app.close()


@contextmanager
def running_api(tmp_path, **overrides: Any) -> Iterator[Api]:
    """``start_api`` … ``stop_api``; without options the API is open on loopback (no token)."""
    overrides.setdefault("listen_host", "127.0.0.1")
    overrides.setdefault("api_token", "")
    running = start_api(tmp_path, **overrides)
    try:
        yield running
    finally:
        stop_api(running)


def wait_for(predicate, timeout: float = 5.0):
    """Poll ``predicate`` until it returns something truthy (the envelope log is batched)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def assert_error(response: requests.Response, status: int, *words: str) -> dict[str, Any]:
    """``response`` is a JSON error with ``status`` whose text mentions each of ``words``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    for word in words:
        assert word in body["error"], (word, body)
    return body


def fits_schema(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """``instance`` fits ``schema`` (which may ``$ref`` the components of the OpenAPI ``doc``),
    formats (date-time, int32) included."""
    validator = openapi_schema_validator.OAS30Validator(
        {**schema, "components": doc["components"]},
        format_checker=openapi_schema_validator.oas30_format_checker)
    errors = sorted(validator.iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
