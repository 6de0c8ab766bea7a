"""The domain tests run once per storage backend: SQLite always, PostgreSQL when a server exists.

``central_on_file`` (``ocpp_soap.central.testing``) picks PostgreSQL when the environment asks for
it, so the same test body proves both backends; here each ``test_domain_*`` test is run twice,
the second time with that environment set to a server of this session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    domain_test = Path(metafunc.definition.path).name.startswith("test_domain_")
    if domain_test and "domain_backend" in metafunc.fixturenames:
        metafunc.parametrize("domain_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def domain_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backend a domain test runs on (``sqlite`` for every other test of this folder)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        url = request.getfixturevalue("pg_admin_url")
        monkeypatch.setenv("OCPP_SOAP_TEST_PG_URL", url)
        monkeypatch.setenv("OCPP_SOAP_TEST_DOMAIN_ON_PG", "1")
    else:
        monkeypatch.delenv("OCPP_SOAP_TEST_DOMAIN_ON_PG", raising=False)
    return backend
