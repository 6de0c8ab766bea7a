"""Shared test fixtures: where ../shared is, free ports, and small HTTP helpers."""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocpp_soap.central.pgcluster import PgCluster, pg_unavailable_reason
from ocpp_soap.central.testing import drop_postgres_database, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "reference"


def under_ci() -> bool:
    """CI sets ``CI=true``; there nothing the suite needs may be missing."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip for a missing tool or package, with ``reason`` visible in the summary; fail under CI.

    Locally a machine without, say, PostgreSQL still runs everything else. CI installs what the
    suite needs (``.ci/run``), so there a missing piece is a broken run, never a quiet skip.
    """
    if under_ci():
        pytest.fail(f"CI run without a required piece: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_reference() -> Path:
    """The official reference folder; under CI it must exist, elsewhere its absence skips."""
    if SHARED.is_dir():
        return SHARED
    missing(f"{SHARED} not present (the official reference files sit beside the checkout)")
    raise AssertionError("unreachable")


@pytest.fixture(autouse=True)
def root_logging_restored():
    """Commands run in-process (the demo, ``chargepoint run``) set up logging as a program does:
    a root handler on the stderr of that moment, which is the test's captured stream, and the
    root level. Put both back, so later tests do not log into a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL role that may create databases, for the whole session.

    ``OCPP_SOAP_TEST_PG_URL`` names an existing server; otherwise a private cluster is started in a
    temporary folder when the server binaries exist (``make test`` needs nothing else), and removed
    at the end. Without binaries the PostgreSQL tests skip with one reason, or fail under CI.
    """
    given = os.environ.get("OCPP_SOAP_TEST_PG_URL")
    if given:
        yield given
        return
    reason = pg_unavailable_reason()
    if reason:
        missing(f"PostgreSQL tests need a server: {reason} (or set OCPP_SOAP_TEST_PG_URL)")
    with PgCluster() as cluster:
        yield cluster.url


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = fresh_postgres_database(pg_admin_url)
    yield url
    drop_postgres_database(pg_admin_url, url)


@pytest.fixture
def private_pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of the test's own, for tests that restart or kill the server.

    Never the server of ``OCPP_SOAP_TEST_PG_URL``: taking a shared server down would break others.
    """
    reason = pg_unavailable_reason()
    if reason:
        missing(f"this test needs a private PostgreSQL cluster: {reason}")
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def reference() -> Path:
    return shared_reference()


def free_port() -> int:
    """A port nothing listens on, for a server a test starts as another process.

    Port 0 would hand out the kernel's ephemeral ports, which outgoing connections also use and
    which a just-stopped server of an earlier test may still hold: a random port below the
    ephemeral range that binds now avoids both.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Shared helpers named test_*_support.py hold no tests; collecting them would import two modules
# of the same basename from different folders.
collect_ignore_glob = ["*_support.py"]
