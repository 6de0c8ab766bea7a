"""StatusNotification, firmware/diagnostics status, DataTransfer and the handler table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocpp_soap.central.handlers import OPERATIONS, build_handlers
from ocpp_soap.central.testing import Ctx, central_on_file
from ocpp_soap.central.vendors import VendorRegistry

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def central(tmp_path):
    c = central_on_file(tmp_path)
    c.admin.add_chargebox("CB1")
    return c


def test_status_notification_latest_per_connector(central):
    central.status_notification(
        Ctx(), {"connectorId": 1, "status": "Available", "errorCode": "NoError", "timestamp": T0}
    )
    central.status_notification(
        Ctx(version="1.5"),
        {
            "connectorId": 1,
            "status": "Occupied",
            "errorCode": "OtherError",
            "info": "door",
            "vendorId": "SE",
            "vendorErrorCode": "E42",
            "timestamp": T0 + timedelta(minutes=2),
        },
    )
    central.status_notification(
        Ctx(), {"connectorId": 0, "status": "Available", "errorCode": "NoError"}
    )
    rows = central.admin.connector_status("CB1")
    assert [r["connector_id"] for r in rows] == [0, 1]
    one = rows[1]
    assert (
        one["status"],
        one["error_code"],
        one["info"],
        one["vendor_id"],
        one["vendor_error_code"],
    ) == ("Occupied", "OtherError", "door", "SE", "E42")
    assert one["timestamp"] == (T0 + timedelta(minutes=2)).isoformat()
    assert central.admin.get_chargebox("CB1")["connectors"] == rows


def test_most_recently_received_status_notification_wins(central):
    # Issue 14: boxes set their clocks from our currentTime, so their timestamps jump; the
    # order of arrival is the only order we can trust.
    central.status_notification(
        Ctx(),
        {
            "connectorId": 1,
            "status": "Charging",
            "errorCode": "NoError",
            "timestamp": T0 + timedelta(minutes=5),
        },
    )
    central.status_notification(
        Ctx(), {"connectorId": 1, "status": "Preparing", "errorCode": "NoError", "timestamp": T0}
    )
    assert central.admin.connector_status("CB1")[0]["status"] == "Preparing"


def test_firmware_and_diagnostics_status_stored(central):
    assert central.firmware_status(Ctx(), {"status": "Downloading"}) == {}
    central.firmware_status(Ctx(), {"status": "Installed"})
    assert central.diagnostics_status(Ctx(), {"status": "Uploaded"}) == {}
    box = central.admin.get_chargebox("CB1")
    assert box["firmware_status"] == "Installed" and box["firmware_status_at"]
    assert box["diagnostics_status"] == "Uploaded"


def test_data_transfer_unknown_vendor(central):
    assert central.data_transfer(Ctx(), {"vendorId": "acme", "data": "x"}) == {
        "status": "UnknownVendorId"
    }
    (row,) = central.admin.list_data_transfers("CB1")
    assert (row["vendor_id"], row["data"], row["status"], row["direction"]) == (
        "acme",
        "x",
        "UnknownVendorId",
        "in",
    )


def test_data_transfer_to_vendor_handler(tmp_path):
    vendors = VendorRegistry()
    seen = []

    def acme(request):
        seen.append(request)
        if request.message_id != "ping":
            return {"status": "UnknownMessageId"}
        return {"status": "Accepted", "data": "pong:" + request.data}

    vendors.register("acme", acme)
    vendors.register("broken", lambda request: 1 / 0)
    central = central_on_file(tmp_path)
    central.vendors = vendors
    central.admin.add_chargebox("CB1")
    assert central.data_transfer(Ctx(), {"vendorId": "acme", "messageId": "ping", "data": "1"}) == {
        "status": "Accepted",
        "data": "pong:1",
    }
    assert central.data_transfer(Ctx(), {"vendorId": "acme", "messageId": "?"}) == {
        "status": "UnknownMessageId"
    }
    assert central.data_transfer(Ctx(), {"vendorId": "broken"}) == {"status": "Rejected"}
    assert seen[0].charge_box_id == "CB1" and seen[0].version == "1.6"
    assert central.admin.list_data_transfers("CB1")[-1]["reply_data"] == "pong:1"


def test_handler_table_covers_the_ten_operations(central):
    handlers = build_handlers(central)
    assert sorted(handlers) == sorted(OPERATIONS) and len(handlers) == 10
    assert handlers["Heartbeat"](Ctx(), {})["currentTime"].tzinfo is UTC
    central.admin.add_tag("T")
    assert handlers["Authorize"](Ctx(), {"idTag": "T"}) == {"idTagInfo": {"status": "Accepted"}}
