"""Operator functions: charge boxes and tags CRUD with the error kinds the faces map."""

from __future__ import annotations

import json

import pytest

from ocpp_soap.central.errors import Conflict, NotFound
from ocpp_soap.central.testing import Ctx, central_on_file


@pytest.fixture
def admin(tmp_path):
    return central_on_file(tmp_path).admin


def test_chargebox_crud(admin):
    made = admin.add_chargebox("CB1", description="garage")
    assert made["registration_status"] == "Accepted" and made["has_auth_secret"] is False
    assert "auth_secret_hash" not in made
    json.dumps(made)  # JSON-friendly
    with pytest.raises(Conflict):
        admin.add_chargebox("CB1")
    admin.add_chargebox("CB0", registration_status="Pending")
    assert [b["charge_box_id"] for b in admin.list_chargeboxes()] == ["CB0", "CB1"]
    assert [b["charge_box_id"] for b in admin.list_chargeboxes("Pending")] == ["CB0"]
    assert admin.update_chargebox("CB1", description=None)["description"] is None
    admin.remove_chargebox("CB1")
    with pytest.raises(NotFound):
        admin.get_chargebox("CB1")
    with pytest.raises(NotFound):
        admin.remove_chargebox("CB1")


@pytest.mark.parametrize("bad", [{"registration_status": "Maybe"}])
def test_chargebox_validation(admin, bad):
    with pytest.raises(ValueError):
        admin.add_chargebox("X", **bad)
    with pytest.raises(ValueError):
        admin.add_chargebox(" ")


def test_removing_box_keeps_its_history(tmp_path):
    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1")
    central.admin.add_tag("T")
    central.status_notification(
        Ctx(), {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
    )
    tx = central.start_transaction(Ctx(), {"connectorId": 1, "idTag": "T", "meterStart": 0})[
        "transactionId"
    ]
    central.queue_command("CB1", "Reset", {"type": "Soft"})
    central.admin.remove_chargebox("CB1")
    assert central.admin.get_transaction(tx)["charge_box_id"] == "CB1"
    assert central.admin.connector_status("CB1") == []
    assert central.admin.list_pending() == []


def test_tag_crud(admin):
    admin.add_tag("T1", note="staff")
    with pytest.raises(Conflict):
        admin.add_tag("T1")
    with pytest.raises(ValueError):
        admin.add_tag("T2", status="Sometimes")
    admin.add_tag("T2", status="Blocked", max_active_transactions=3)
    assert [t["id_tag"] for t in admin.list_tags()] == ["T1", "T2"]
    assert [t["id_tag"] for t in admin.list_tags("Blocked")] == ["T2"]
    assert admin.get_tag("T1")["max_active_transactions"] == 1
    updated = admin.update_tag("T1", expiry_date="2030-01-01T00:00:00Z", parent_id_tag="T2")
    assert (
        updated["expiry_date"] == "2030-01-01T00:00:00+00:00" and updated["parent_id_tag"] == "T2"
    )
    with pytest.raises(ValueError):
        admin.update_tag("T1", parent_id_tag="T1")
    admin.remove_tag("T1")
    with pytest.raises(NotFound):
        admin.get_tag("T1")
    with pytest.raises(NotFound):
        admin.block_tag("T1")


def test_limits_validated(admin):
    with pytest.raises(ValueError):
        admin.list_transactions(limit=0)


def test_version_for_a_box_that_never_talked(tmp_path):
    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1", endpoint="http://cp:8080/", ocpp_version="1.5")
    assert central.command_target("CB1").version == "1.5"
    central.admin.update_chargebox("CB1", ocpp_version="1.6")
    assert central.command_target("CB1").version == "1.6"
    with pytest.raises(ValueError):
        central.admin.update_chargebox("CB1", ocpp_version="2.0")
