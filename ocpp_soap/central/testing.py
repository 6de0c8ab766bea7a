"""Helpers for tests of the Central System (here and in later API/CLI tests).

``Ctx`` stands in for the wire layer's ``CallContext`` where a test drives the domain directly.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .domain import CentralSystem
from .settings import CentralSettings


@dataclass
class Ctx:
    """Minimal ``CallContext`` look-alike (same attribute names)."""

    charge_box_id: str = "CB1"
    version: str = "1.6"
    action: str = "Heartbeat"
    message_id: str | None = "urn:uuid:test"
    from_address: str | None = None
    reply_to: str | None = None
    to: str | None = None
    peer: str | None = "192.0.2.10"
    http_headers: dict[str, str] = field(default_factory=dict)
    basic_auth_user: str | None = None
    basic_auth_password: str | None = None
    client_cert: dict | None = None


def central_on_file(tmp_path: Path, **settings: Any) -> CentralSystem:
    """A Central System on a fresh SQLite file in ``tmp_path``.

    With ``OCPP_SOAP_TEST_DOMAIN_ON_PG=1`` and ``OCPP_SOAP_TEST_PG_URL`` set (``make test`` does
    this when ``.ci/run`` has started PostgreSQL), it gets a fresh PostgreSQL database instead, so
    the same domain tests prove both backends.
    """
    if os.environ.get("OCPP_SOAP_TEST_DOMAIN_ON_PG") and os.environ.get("OCPP_SOAP_TEST_PG_URL"):
        url = fresh_postgres_database(os.environ["OCPP_SOAP_TEST_PG_URL"])
        return CentralSystem.open(CentralSettings(db_url=url, **settings))
    db = tmp_path / "central.db"
    return CentralSystem.open(CentralSettings(db_url=f"sqlite:///{db}", **settings))


def fresh_postgres_database(admin_url: str) -> str:
    """Create an empty database on the server of ``admin_url``; return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = "ocpp_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop the database of ``url`` (made by :func:`fresh_postgres_database`), ending its sessions."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
