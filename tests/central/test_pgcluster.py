"""The private PostgreSQL cluster the suite, ``bench/`` and the restart tests start themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from ocpp_soap.central import pgcluster
from tests.conftest import missing


def _answer(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select 41 + 1")).scalar_one()
    finally:
        engine.dispose()


def test_a_private_cluster_serves_stops_and_comes_back_on_its_port(private_pg_cluster):
    cluster = private_pg_cluster
    assert _answer(cluster.url) == 42
    port = cluster.port
    cluster.stop()
    with pytest.raises(Exception, match="(?i)connect"):
        _answer(cluster.url)
    cluster.start()
    assert cluster.port == port and _answer(cluster.url) == 42


def test_debians_versioned_folder_is_found_off_path(monkeypatch, tmp_path):
    for version in ("9.6", "15", "13"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        for tool in ("initdb", "pg_ctl"):
            (folder / tool).write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pgcluster, "DEBIAN_PG_BINS", str(tmp_path / "*" / "bin"))
    assert pgcluster.find_pg_bin() == tmp_path / "15" / "bin"


def test_no_binaries_is_a_reason_not_a_crash(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pgcluster, "DEBIAN_PG_BINS", str(tmp_path / "*" / "bin"))
    reason = pgcluster.pg_unavailable_reason()
    assert reason and "initdb" in reason
    with pytest.raises(RuntimeError, match="cannot start a PostgreSQL cluster"):
        pgcluster.PgCluster()


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_missing_piece_skips_locally_and_fails_under_ci(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="no server here"):
        missing("no server here")
