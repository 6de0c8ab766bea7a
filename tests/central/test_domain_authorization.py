"""Authorize / StartTransaction / StopTransaction idTagInfo rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocpp_soap.central.testing import Ctx, central_on_file

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def central(tmp_path):
    c = central_on_file(tmp_path)
    c.admin.add_chargebox("CB1")
    return c


def status(central, tag):
    return central.authorize(Ctx(), {"idTag": tag})["idTagInfo"]["status"]


def start(central, tag, connector=1, when=T0, meter=0, **extra):
    payload = {
        "connectorId": connector,
        "idTag": tag,
        "meterStart": meter,
        "timestamp": when,
        **extra,
    }
    return central.start_transaction(Ctx(), payload)


def test_accepted_blocked_invalid(central):
    central.admin.add_tag("GOOD")
    central.admin.add_tag("BAD", status="Blocked")
    assert status(central, "GOOD") == "Accepted"
    assert status(central, "BAD") == "Blocked"
    assert status(central, "UNKNOWN") == "Invalid"
    central.admin.block_tag("GOOD")
    assert status(central, "GOOD") == "Blocked"
    central.admin.unblock_tag("GOOD")
    assert status(central, "GOOD") == "Accepted"


def test_expired_and_expiry_date_returned(central):
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=30)
    central.admin.add_tag("OLD", expiry_date=past)
    central.admin.add_tag("NEW", expiry_date=future.isoformat())
    assert status(central, "OLD") == "Expired"
    info = central.authorize(Ctx(), {"idTag": "NEW"})["idTagInfo"]
    assert info["status"] == "Accepted"
    assert abs(info["expiryDate"] - future) < timedelta(milliseconds=1)


def test_parent_rules(central):
    central.admin.add_tag("FLEET")
    central.admin.add_tag("CHILD", parent_id_tag="FLEET")
    info = central.authorize(Ctx(), {"idTag": "CHILD"})["idTagInfo"]
    assert info == {"status": "Accepted", "parentIdTag": "FLEET"}
    central.admin.block_tag("FLEET")
    assert status(central, "CHILD") == "Blocked"
    central.admin.update_tag("FLEET", status="Accepted", expiry_date=T0)
    assert status(central, "CHILD") == "Expired"


def test_parent_that_is_only_a_label_and_cycles(central):
    central.admin.add_tag("A", parent_id_tag="GROUP-NOT-STORED")
    assert status(central, "A") == "Accepted"
    central.admin.add_tag("B", parent_id_tag="A")
    central.admin.update_tag("A", parent_id_tag="B")
    assert status(central, "A") == "Accepted"  # cycle does not hang


def test_concurrent_tx_only_on_start(central):
    central.admin.add_tag("ONE")  # default limit 1
    first = start(central, "ONE")
    assert first["idTagInfo"]["status"] == "Accepted"
    assert status(central, "ONE") == "Accepted"  # Authorize never says ConcurrentTx
    second = start(central, "ONE", connector=2, when=T0 + timedelta(minutes=1))
    assert second["idTagInfo"]["status"] == "ConcurrentTx"
    assert second["transactionId"] != first["transactionId"]
    central.stop_transaction(
        Ctx(),
        {
            "transactionId": first["transactionId"],
            "meterStop": 5,
            "timestamp": T0 + timedelta(hours=1),
        },
    )
    third = start(central, "ONE", connector=2, when=T0 + timedelta(hours=2))
    assert third["idTagInfo"]["status"] == "Accepted"


def test_limit_two_and_unlimited(central):
    central.admin.add_tag("TWO", max_active_transactions=2)
    central.admin.add_tag("ANY", max_active_transactions=None)
    assert start(central, "TWO", 1)["idTagInfo"]["status"] == "Accepted"
    assert start(central, "TWO", 2)["idTagInfo"]["status"] == "Accepted"
    assert start(central, "TWO", 3)["idTagInfo"]["status"] == "ConcurrentTx"
    for connector in range(1, 5):
        assert start(central, "ANY", connector)["idTagInfo"]["status"] == "Accepted"


def test_start_with_rejected_tag_still_gets_transaction_id(central):
    reply = start(central, "NOBODY")
    assert reply["idTagInfo"] == {"status": "Invalid"}
    tx = central.admin.get_transaction(reply["transactionId"])
    assert tx["start_status"] == "Invalid" and tx["id_tag"] == "NOBODY"


def test_retried_start_gets_same_transaction(central):
    central.admin.add_tag("ONE")
    a = start(central, "ONE", meter=100)
    b = start(central, "ONE", meter=100)
    assert a == b
    assert len(central.admin.list_transactions()) == 1


def test_start_with_reservation_marks_it_used(central):
    central.admin.add_tag("ONE")
    res = central.admin.add_reservation("CB1", 1, "ONE", T0 + timedelta(hours=1))
    reply = start(central, "ONE", reservationId=res["id"])
    stored = central.admin.list_reservations("CB1")[0]
    assert stored["status"] == "Used" and stored["transaction_id"] == reply["transactionId"]
    assert central.admin.get_transaction(reply["transactionId"])["reservation_id"] == res["id"]


def test_stop_id_tag_info(central):
    central.admin.add_tag("ONE")
    tx = start(central, "ONE")["transactionId"]
    with_tag = central.stop_transaction(
        Ctx(), {"transactionId": tx, "idTag": "ONE", "meterStop": 9, "timestamp": T0}
    )
    assert with_tag == {"idTagInfo": {"status": "Accepted"}}
    tx2 = start(central, "ONE", when=T0 + timedelta(hours=1))["transactionId"]
    assert central.stop_transaction(Ctx(), {"transactionId": tx2, "meterStop": 9}) == {}


def test_id_tag_is_case_insensitive(tmp_path):
    from ocpp_soap.central.testing import Ctx, central_on_file

    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1", registration_status="Accepted")
    central.admin.add_tag("04A2B3C4D5")
    reply = central.authorize(Ctx(action="Authorize"), {"idTag": "04a2b3c4d5"})
    assert reply["idTagInfo"]["status"] == "Accepted"
