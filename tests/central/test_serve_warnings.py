"""``serve`` warns at start when it faces the network with what the README warns about:
sync workers without a buffering proxy, boxes that prove nothing, Basic auth over plain HTTP."""

from __future__ import annotations

from ocpp_soap.central.domain import CentralSystem
from ocpp_soap.central.serve import ServePlan, startup_warnings
from ocpp_soap.central.settings import CentralSettings
from tests.central.test_e2e_support import GunicornCS, sqlite_url


def test_exposed_serve_warns(tmp_path):
    db = tmp_path / "cs.db"
    admin = CentralSystem.open(CentralSettings(db_url=sqlite_url(db))).admin
    admin.add_chargebox("BARE")
    admin.add_chargebox("PINNED", allow_from="10.0.0.0/8")
    admin.add_chargebox("SECRET", auth_secret="pw")
    with GunicornCS(db, "--host", "0.0.0.0", "--api-token", "t", workers=1) as cs:
        cs.stop()
        log = cs.log()
    assert "sync workers" in log and "Behind nginx" in log
    assert "1 charge box(es) have no password, certificate or allow_from" in log
    assert "1 charge box(es) authenticate with HTTP Basic" in log


def test_loopback_and_hardened_serve_stay_quiet(tmp_path):
    db = tmp_path / "cs.db"
    settings = CentralSettings(db_url=sqlite_url(db))
    CentralSystem.open(settings).admin.add_chargebox("BARE")
    assert startup_warnings(ServePlan(host="127.0.0.1"), settings) == []
    hardened = CentralSettings(db_url=sqlite_url(db), require_auth="any")
    assert startup_warnings(ServePlan(host="0.0.0.0", threads=8), hardened) == []
