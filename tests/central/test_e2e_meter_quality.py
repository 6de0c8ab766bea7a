"""Meter data the domain makes sense of (issue 14, items 10-12), over real HTTP in both versions,
on SQLite and PostgreSQL.

10. MeterValues without transactionId, on a connector with exactly one open transaction, are
    linked to it and marked as linked by connector.
11. Units are stored in the 1.6 spelling, the reported one kept.
12. Implausible values get a ``warnings`` list on the transaction or sample (API and CLI show
    it); the reply is unchanged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ocpp_soap.central.cli import main
from tests.central.behaviour_support import BACKENDS, db_url, send
from tests.central.test_e2e_support import InProcessCS

AMPS = {"1.5": "Amp", "1.6": "A"}


@pytest.fixture(params=BACKENDS)
def cs(request, tmp_path):
    with InProcessCS(tmp_path / "x.db", db_url=db_url(request, tmp_path)) as central:
        central.admin.add_chargebox("CB1")
        central.admin.add_tag("TAG1", max_active_transactions=None)
        yield central


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _start(cs, version, connector=1, meter=1000, at=None):
    r = send(cs.soap_url(version), version, "CB1", "StartTransaction",
             {"connectorId": connector, "idTag": "TAG1", "timestamp": at or _now(),
              "meterStart": meter})
    assert r.status == 200 and r.values["status"] == "Accepted", r.text
    return int(r.values["transactionId"])


def _meter(cs, version, connector, samples, tx=None, at=None):
    payload = {"connectorId": connector,
               "meterValue": [{"timestamp": at or _now(), "sampledValue": samples}]}
    if tx is not None:
        payload["transactionId"] = tx
    r = send(cs.soap_url(version), version, "CB1", "MeterValues", payload)
    assert r.status == 200, r.text


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_meter_values_without_transaction_id_are_linked_by_connector(cs, version):
    tx = _start(cs, version, connector=1)
    _meter(cs, version, 1, [{"value": "1500", "unit": "Wh"}])
    _meter(cs, version, 2, [{"value": "7", "unit": "Wh"}])  # nothing open there
    _meter(cs, version, 0, [{"value": "9", "unit": "Wh"}])  # the box itself
    linked = cs.admin.list_meter_values(transaction_id=tx)
    assert [(s["value"], s["linked_by"], s["reported_transaction_id"]) for s in linked] == [
        ("1500", "connector", None)]
    others = [s for s in cs.admin.list_meter_values(charge_box_id="CB1") if s["value"] in "79"]
    assert all(s["transaction_id"] is None and s["linked_by"] is None for s in others)
    # with a transactionId, it is not "linked by connector"
    _meter(cs, version, 1, [{"value": "1600", "unit": "Wh"}], tx=tx)
    by_id = [s for s in cs.admin.list_meter_values(transaction_id=tx) if s["value"] == "1600"]
    assert by_id[0]["linked_by"] is None and by_id[0]["transaction_id"] == tx


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_units_are_normalised_with_the_reported_one_kept(cs, version):
    _meter(cs, version, 1, [{"value": "16", "unit": AMPS[version],
                             "measurand": "Current.Import"}])
    (sample,) = cs.admin.list_meter_values(charge_box_id="CB1")
    assert sample["unit"] == "A"
    assert sample["reported_unit"] == ("Amp" if version == "1.5" else None)


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_implausible_values_get_warnings_and_the_reply_is_unchanged(cs, version, capsys):
    future = _now() + timedelta(days=2)
    tx = _start(cs, version, connector=0, meter=5000, at=future)
    stop = {"transactionId": tx, "meterStop": 4000, "timestamp": future, "idTag": "TAG1"}
    r = send(cs.soap_url(version), version, "CB1", "StopTransaction", stop)
    assert r.status == 200 and r.values["status"] == "Accepted"
    r = requests.get(f"{cs.url}/api/v1/transactions/{tx}", timeout=10)
    warnings = r.json()["warnings"]
    assert any("connector 0" in w for w in warnings)
    assert any("meterStop 4000 is less than meterStart 5000" in w for w in warnings)
    assert any(w.startswith("start timestamp") and "ahead" in w for w in warnings)
    assert any(w.startswith("stop timestamp") and "ahead" in w for w in warnings)
    # plausible ones carry none
    ok = _start(cs, version, connector=1)
    assert cs.admin.get_transaction(ok)["warnings"] is None

    _meter(cs, version, 1, [{"value": "-12", "unit": "Wh"}], tx=ok, at=future)
    (sample,) = [s for s in cs.admin.list_meter_values(transaction_id=ok) if s["value"] == "-12"]
    assert any("negative value -12" in w for w in sample["warnings"])
    assert any("ahead" in w for w in sample["warnings"])
    r = requests.get(f"{cs.url}/api/v1/metervalues", params={"transaction": ok}, timeout=10)
    assert r.json()["items"][0]["warnings"] == sample["warnings"]

    assert main(["transactions", "--db", cs.db_url]) == 0
    out = capsys.readouterr().out
    assert "WARNINGS" in out.splitlines()[0] and "meterStop 4000 is less than" in out
    assert main(["transactions", "--json", "--db", cs.db_url]) == 0
    rows = {t["id"]: t for t in json.loads(capsys.readouterr().out)}
    assert rows[tx]["warnings"] == warnings
