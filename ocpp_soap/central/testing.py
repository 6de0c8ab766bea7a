"""Helpers for tests of the Central System (here and in later API/CLI tests).

``Ctx`` makes the wire layer's ``CallContext`` for a test that drives the domain directly.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.versions import CENTRAL

from .domain import CentralSystem
from .settings import CentralSettings


def Ctx(charge_box_id: str = "CB1", version: str = "1.6", action: str = "Heartbeat", *,  # noqa: N802
        message_id: str | None = "urn:uuid:test", peer: str | None = "192.0.2.10",
        **fields: Any) -> CallContext:
    """The wire layer's own ``CallContext`` for a test that drives the domain directly, with
    the defaults such a test wants (a 1.6 box ``CB1`` from a documentation address)."""
    return CallContext(charge_box_id=charge_box_id, version=version, service=CENTRAL,
                       action=action, message_id=message_id, peer=peer, **fields)


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
