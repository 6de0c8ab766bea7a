"""Tolerant values (issue 14, item 6) over real HTTP, both versions, SQLite and PostgreSQL.

A transaction message whose ids, meter values and timestamps can be read is never lost for the
sake of another field: ``24:00:00`` is 00:00 of the next day, a value outside its enumeration is
stored as given (a StopTransaction reason as ``Other`` with the raw text kept), an unreadable
optional field the domain does not need is dropped. Strict mode keeps faulting on all of it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.central.behaviour_support import BACKENDS, db_url, replace, send
from tests.central.test_e2e_support import InProcessCS

T = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def cs(request, tmp_path):
    with InProcessCS(tmp_path / "x.db", db_url=db_url(request, tmp_path)) as central:
        central.admin.add_chargebox("CB1")
        central.admin.add_tag("TAG1", max_active_transactions=None)
        yield central


@pytest.fixture
def strict_cs(tmp_path):
    with InProcessCS(tmp_path / "strict.db", strict=True) as central:
        central.admin.add_chargebox("CB1")
        central.admin.add_tag("TAG1", max_active_transactions=None)
        yield central


def _start(cs, version, **edits):
    payload = {"connectorId": 1, "idTag": "TAG1", "timestamp": T, "meterStart": 100}
    return send(cs.soap_url(version), version, "CB1", "StartTransaction", payload, **edits)


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_end_of_day_is_midnight_of_the_next_day(cs, version):
    r = _start(cs, version, edit=replace("2026-12-03T10:00:00", "2026-12-03T24:00:00"))
    assert r.status == 200, r.text
    tx = cs.admin.get_transaction(int(r.values["transactionId"]))
    assert tx["start_timestamp"] == "2026-12-04T00:00:00+00:00"
    r = send(cs.soap_url(version), version, "CB1", "StopTransaction",
             {"transactionId": int(r.values["transactionId"]), "meterStop": 200, "timestamp": T},
             edit=replace("2026-12-03T10:00:00", "2026-12-31T24:00:00.000"))
    assert r.status == 200, r.text
    tx = cs.admin.get_transaction(tx["id"])
    assert tx["stop_timestamp"] == "2027-01-01T00:00:00+00:00" and tx["meter_stop"] == 200


def test_stop_reason_outside_the_enumeration_is_other_with_raw_kept(cs):
    r = _start(cs, "1.6")
    tx_id = int(r.values["transactionId"])
    r = send(cs.soap_url("1.6"), "1.6", "CB1", "StopTransaction",
             {"transactionId": tx_id, "meterStop": 250, "timestamp": T, "reason": "Local",
              "idTag": "TAG1"}, edit=replace(">Local<", ">CableRippedOut<"))
    assert r.status == 200, r.text
    assert r.values["status"] == "Accepted"
    tx = cs.admin.get_transaction(tx_id)
    assert (tx["stop_reason"], tx["stop_reason_raw"], tx["meter_stop"]) == (
        "Other", "CableRippedOut", 250)
    assert cs.admin.list_transactions(active=True) == []


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_enum_deviations_in_stored_fields_are_stored_as_given(cs, version):
    url = cs.soap_url(version)
    r = send(url, version, "CB1", "StatusNotification",
             {"connectorId": 1, "status": "Available", "errorCode": "NoError"},
             edit=replace(">Available<", ">Napping<"))
    assert r.status == 200, r.text
    assert cs.admin.connector_status("CB1")[0]["status"] == "Napping"
    r = send(url, version, "CB1", "MeterValues", {"connectorId": 1, "meterValue": [
        {"timestamp": T, "sampledValue": [{"value": "42", "unit": "Wh"}]}]},
        edit=(lambda b: b.replace(b'"Wh"', b'"Wattstunden"').replace(b">Wh<",
                                                                     b">Wattstunden<")))
    assert r.status == 200, r.text
    (sample,) = cs.admin.list_meter_values(charge_box_id="CB1")
    assert (sample["value"], sample["unit"]) == ("42", "Wattstunden")


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_unreadable_optional_field_is_dropped_not_the_transaction(cs, version):
    r = send(cs.soap_url(version), version, "CB1", "StartTransaction",
             {"connectorId": 1, "idTag": "TAG1", "timestamp": T, "meterStart": 100,
              "reservationId": 7}, edit=replace(">7<", ">seven<"))
    assert r.status == 200, r.text
    tx = cs.admin.get_transaction(int(r.values["transactionId"]))
    assert tx["meter_start"] == 100 and tx["reservation_id"] is None


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_unreadable_essential_field_still_faults(cs, version):
    r = _start(cs, version, edit=replace(">100<", ">a lot<"))
    assert r.status == 400 and "ProtocolError" in r.text


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_strict_mode_faults_on_all_of_it(strict_cs, version):
    url = strict_cs.soap_url(version)
    r = send(url, version, "CB1", "StatusNotification",
             {"connectorId": 1, "status": "Available", "errorCode": "NoError"},
             edit=replace(">Available<", ">Napping<"))
    assert r.status == 400 and "ProtocolError" in r.text
    r = send(url, version, "CB1", "StartTransaction",
             {"connectorId": 1, "idTag": "TAG1", "timestamp": T, "meterStart": 100,
              "reservationId": 7}, edit=replace(">7<", ">seven<"))
    assert r.status == 400 and "ProtocolError" in r.text
    if version == "1.6":
        r = send(url, version, "CB1", "StopTransaction",
                 {"transactionId": 1, "meterStop": 250, "timestamp": T, "reason": "Local"},
                 edit=replace(">Local<", ">CableRippedOut<"))
        assert r.status == 400 and "ProtocolError" in r.text
    # A valid 24:00:00 is valid in strict mode too.
    r = _start(strict_cs, version, edit=replace("2026-12-03T10:00:00", "2026-12-03T24:00:00"))
    assert r.status == 200, r.text
