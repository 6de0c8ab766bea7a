"""Connector status (issue 14, item 3) over real HTTP, both versions, SQLite and PostgreSQL.

The most recently received StatusNotification wins; a timestamp more than ``clock_skew`` ahead of
receipt is stored as received, and the reported time is kept beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocpp_soap.central.timeutil import parse_time
from tests.central.behaviour_support import BACKENDS, db_url, send
from tests.central.test_e2e_support import InProcessCS

BUSY = {"1.5": "Occupied", "1.6": "Charging"}
AFTER = {"1.5": "Available", "1.6": "Finishing"}


@pytest.fixture(params=BACKENDS)
def cs(request, tmp_path):
    with InProcessCS(tmp_path / "x.db", db_url=db_url(request, tmp_path),
                     clock_skew=300) as central:
        central.admin.add_chargebox("CB1")
        yield central


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_future_timestamp_does_not_freeze_the_connector(cs, version):
    url = cs.soap_url(version)
    future = datetime(2030, 1, 1, tzinfo=UTC)
    before = datetime.now(UTC) - timedelta(seconds=5)
    r = send(url, version, "CB1", "StatusNotification",
             {"connectorId": 1, "status": BUSY[version], "errorCode": "NoError",
              "timestamp": future})
    assert r.status == 200, r.text
    (row,) = cs.admin.connector_status("CB1")
    assert row["status"] == BUSY[version]
    assert parse_time(row["reported_timestamp"]) == future
    stored = parse_time(row["timestamp"])
    assert before <= stored <= datetime.now(UTC) + timedelta(seconds=5)
    assert stored == parse_time(row["received_at"])

    for status in (AFTER[version], "Available"):
        r = send(url, version, "CB1", "StatusNotification",
                 {"connectorId": 1, "status": status, "errorCode": "NoError"})
        assert r.status == 200, r.text
        assert cs.admin.connector_status("CB1")[0]["status"] == status


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_older_timestamp_received_later_wins(cs, version):
    url = cs.soap_url(version)
    now = datetime.now(UTC).replace(microsecond=0)
    send(url, version, "CB1", "StatusNotification",
         {"connectorId": 1, "status": BUSY[version], "errorCode": "NoError", "timestamp": now})
    r = send(url, version, "CB1", "StatusNotification",
             {"connectorId": 1, "status": "Available", "errorCode": "NoError",
              "timestamp": now - timedelta(hours=3)})
    assert r.status == 200
    (row,) = cs.admin.connector_status("CB1")
    assert row["status"] == "Available"
    # within the skew, the box's own time is kept as its time
    assert parse_time(row["timestamp"]) == now - timedelta(hours=3)
    assert parse_time(row["reported_timestamp"]) == now - timedelta(hours=3)


def test_clock_skew_is_a_setting(tmp_path):
    from ocpp_soap.central.settings import CentralSettings

    assert CentralSettings().clock_skew == 300
    assert CentralSettings.from_env({"OCPP_SOAP_CLOCK_SKEW": "60"}).clock_skew == 60
    with pytest.raises(ValueError):
        CentralSettings(clock_skew=-1)
