"""BootNotification, the Accepted-only gate and identity checks."""

from __future__ import annotations

from datetime import UTC

import pytest

from ocpp_soap.central.errors import SecurityError
from ocpp_soap.central.testing import Ctx, central_on_file

BOOT = {
    "chargePointVendor": "Schneider Electric",
    "chargePointModel": "EVlink",
    "chargePointSerialNumber": "SN1",
    "chargeBoxSerialNumber": "CBSN1",
    "firmwareVersion": "3.2.0.12",
    "iccid": "8988",
    "imsi": "2620",
    "meterType": "DSZ",
    "meterSerialNumber": "M1",
}


@pytest.fixture
def central(tmp_path):
    return central_on_file(tmp_path, heartbeat_interval=120)


def test_registered_box_is_accepted_with_interval_and_time(central):
    central.admin.add_chargebox("CB1")
    reply = central.boot(Ctx(action="BootNotification", version="1.5"), BOOT)
    assert reply["status"] == "Accepted"
    assert reply["interval"] == 120
    assert reply["currentTime"].tzinfo is UTC
    box = central.admin.get_chargebox("CB1")
    assert box["charge_point_vendor"] == "Schneider Electric"
    assert box["firmware_version"] == "3.2.0.12"
    assert box["meter_serial_number"] == "M1"
    assert box["ocpp_version"] == "1.5"
    assert box["last_boot_at"] and box["last_seen_at"]


def test_unknown_box_rejected_by_default_and_not_stored(central):
    reply = central.boot(Ctx(charge_box_id="X"), BOOT)
    assert reply["status"] == "Rejected"
    assert central.admin.list_chargeboxes() == []


def test_unknown_box_policy_pending_registers_pending(tmp_path):
    central = central_on_file(tmp_path, unknown_chargebox="pending")
    assert central.boot(Ctx(charge_box_id="X"), BOOT)["status"] == "Pending"
    assert central.admin.get_chargebox("X")["registration_status"] == "Pending"
    # OCPP 1.6 4.2: a Pending box's Heartbeat is answered, its Authorize is not.
    assert "currentTime" in central.heartbeat(Ctx(charge_box_id="X"), {})
    with pytest.raises(SecurityError):
        central.authorize(Ctx(charge_box_id="X", action="Authorize"), {"idTag": "T"})
    # The operator accepts it; the next boot is Accepted and messages pass.
    central.admin.update_chargebox("X", registration_status="Accepted")
    assert central.boot(Ctx(charge_box_id="X"), BOOT)["status"] == "Accepted"
    central.heartbeat(Ctx(charge_box_id="X"), {})


def test_unknown_box_policy_accept_auto_registers(tmp_path):
    central = central_on_file(tmp_path, unknown_chargebox="accept")
    assert central.boot(Ctx(charge_box_id="NEW"), BOOT)["status"] == "Accepted"
    assert central.admin.get_chargebox("NEW")["charge_point_model"] == "EVlink"
    assert "currentTime" in central.heartbeat(Ctx(charge_box_id="NEW"), {})


def test_registered_but_rejected_box_stays_rejected(central):
    central.admin.add_chargebox("CB1", registration_status="Rejected")
    assert central.boot(Ctx(), BOOT)["status"] == "Rejected"


@pytest.mark.parametrize(
    "method, payload",
    [
        ("heartbeat", {}),
        ("authorize", {"idTag": "T"}),
        ("status_notification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}),
        ("meter_values", {"connectorId": 1, "meterValue": []}),
        ("start_transaction", {"connectorId": 1, "idTag": "T", "meterStart": 0}),
        ("stop_transaction", {"transactionId": 1, "meterStop": 0}),
        ("firmware_status", {"status": "Idle"}),
        ("diagnostics_status", {"status": "Idle"}),
        ("data_transfer", {"vendorId": "v"}),
    ],
)
def test_anything_but_boot_from_unknown_box_is_security_error(central, method, payload):
    with pytest.raises(SecurityError):
        getattr(central, method)(Ctx(charge_box_id="NOPE"), payload)


def test_pending_box_gets_security_error_for_authorize_and_transactions(central):
    central.admin.add_chargebox("CB1", registration_status="Pending")
    central.heartbeat(Ctx(), {})
    with pytest.raises(SecurityError):
        central.authorize(Ctx(), {"idTag": "T"})
    with pytest.raises(SecurityError):
        central.meter_values(Ctx(), {"connectorId": 1, "transactionId": 3, "meterValue": []})
    with pytest.raises(SecurityError):
        central.stop_transaction(Ctx(), {"transactionId": 1, "meterStop": 0})
    with pytest.raises(SecurityError):
        central.start_transaction(Ctx(), {"connectorId": 1, "idTag": "T", "meterStart": 0})
    assert central.admin.list_transactions() == []


def test_basic_auth_user_must_equal_identity(central):
    central.admin.add_chargebox("CB1")
    with pytest.raises(SecurityError):
        central.boot(Ctx(basic_auth_user="OTHER"), BOOT)
    with pytest.raises(SecurityError):
        central.heartbeat(Ctx(basic_auth_user="OTHER"), {})
    assert central.boot(Ctx(basic_auth_user="CB1"), BOOT)["status"] == "Accepted"
    central.heartbeat(Ctx(basic_auth_user="CB1"), {})


def test_box_with_secret_requires_basic_auth_and_right_password(central):
    central.admin.add_chargebox("CB1", auth_secret="s3cret")
    assert central.admin.get_chargebox("CB1")["has_auth_secret"] is True
    with pytest.raises(SecurityError):
        central.heartbeat(Ctx(), {})
    with pytest.raises(SecurityError):  # a user name without a password proves nothing
        central.heartbeat(Ctx(basic_auth_user="CB1"), {})
    wrong = Ctx(basic_auth_user="CB1")
    wrong.basic_auth_password = "nope"
    with pytest.raises(SecurityError):
        central.heartbeat(wrong, {})
    right = Ctx(basic_auth_user="CB1")
    right.basic_auth_password = "s3cret"
    # After a failure the box's password checks are closed for a moment (see test_domain_trust).
    central.failures.succeeded("box:CB1")
    central.failures.succeeded("ip:192.0.2.10")
    central.heartbeat(right, {})


def test_heartbeat_records_time(central):
    central.admin.add_chargebox("CB1")
    reply = central.heartbeat(Ctx(), {})
    assert reply["currentTime"].tzinfo is UTC
    assert central.admin.get_chargebox("CB1")["last_heartbeat_at"]
