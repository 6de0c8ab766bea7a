"""Helpers for the issue-14 behaviour tests (no tests here): raw OCPP requests over real HTTP,
edited on the wire where a test needs what a real box gets wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from lxml import etree

from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.versions import SOAP12_NS

BODY = f"{{{SOAP12_NS}}}Body"


class Reply:
    """What came back: HTTP status, the body element's leaf texts by local name, fault text."""

    def __init__(self, r: requests.Response):
        self.status = r.status_code
        self.text = r.text
        doc = etree.fromstring(r.content)
        self.doc = doc
        body = doc.find(BODY)
        self.values: dict[str, str] = {}
        for el in body.iter():
            if isinstance(el.tag, str) and len(el) == 0 and el.text is not None:
                self.values.setdefault(etree.QName(el).localname, el.text)
        self.fault = self.values.get("Text") if doc.find(f".//{{{SOAP12_NS}}}Fault") is not None \
            else None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.values})"


def send(url: str, version: str, box: str, operation: str, payload: dict[str, Any] | None = None,
         edit: Callable[[bytes], bytes] | None = None, **headers: str) -> Reply:
    """One CP→CS request as ``box``; ``edit`` changes the envelope bytes before sending."""
    client = OcppClient(version, "CentralSystemService", box, url)
    body, _, http_headers = client.build(operation, payload or {})
    if edit is not None:
        body = edit(body)
    r = requests.post(url, data=body, headers={**http_headers, **headers}, timeout=15)
    return Reply(r)


def replace(old: str, new: str) -> Callable[[bytes], bytes]:
    def edit(body: bytes) -> bytes:
        assert old.encode() in body, (old, body)
        return body.replace(old.encode(), new.encode())

    return edit


#: Every storage test here runs on both (PostgreSQL: the session's server, see ``pg_url``).
BACKENDS = ("sqlite", "postgresql")


def db_url(request, tmp_path) -> str:
    """A fresh database of the backend ``request.param`` names: a SQLite file in ``tmp_path``, or
    a throw-away PostgreSQL database (the ``pg_url`` fixture of ``tests/conftest.py``)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'cs.db'}"
