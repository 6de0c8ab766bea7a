"""The admin-layer views behind the console (totals, one page of boxes, tag search, one envelope,
the last configuration read), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocpp_soap.central.errors import NotFound
from ocpp_soap.central.testing import Ctx, central_on_file
from ocpp_soap.central.timeutil import utc_now


class Clock:
    def __init__(self):
        self.now = utc_now()

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def central(tmp_path, clock):
    central = central_on_file(tmp_path, heartbeat_interval=60)
    central.clock = clock
    return central


def _talk(central, box, status="Available", connectors=2, version="1.6"):
    central.boot(Ctx(charge_box_id=box, action="BootNotification", version=version),
                 {"chargePointVendor": "Zap" if box.endswith("1") else "Alfen",
                  "chargePointModel": "M"})
    for n in range(connectors + 1):
        central.status_notification(
            Ctx(charge_box_id=box, action="StatusNotification", version=version),
            {"connectorId": n, "status": status, "errorCode": "NoError"})


def test_totals_count_presence_connectors_transactions_and_energy(central, clock):
    admin = central.admin
    for box in ("A1", "A2", "A3", "A4"):
        admin.add_chargebox(box)
    admin.add_tag("T", max_active_transactions=None)
    _talk(central, "A1", "Charging")
    _talk(central, "A2")
    clock.now += timedelta(seconds=121)  # A1, A2 last heard 121 s ago: 2 × 60 s passed
    _talk(central, "A3", connectors=1)
    ctx = Ctx(charge_box_id="A3", action="StartTransaction")
    done = central.start_transaction(ctx, {"connectorId": 1, "idTag": "T", "meterStart": 1000,
                                           "timestamp": clock.now})["transactionId"]
    central.stop_transaction(ctx, {"transactionId": done, "meterStop": 4500,
                                   "timestamp": clock.now})
    central.start_transaction(ctx, {"connectorId": 1, "idTag": "T", "meterStart": 4500,
                                    "timestamp": clock.now})
    totals = central.admin.overview_totals()
    assert totals["boxes"] == {"online": 1, "offline": 2, "never": 1, "total": 4}
    assert totals["connectors"] == {"Available": 3, "Charging": 2}  # connector 0 not counted
    assert totals["active_transactions"] == 1
    assert totals["energy_today_wh"] == 3500


def test_box_page_filters_sorts_and_pages(central, clock):
    admin = central.admin
    for i in range(12):
        admin.add_chargebox(f"B{i:02d}", registration_status="Pending" if i == 11 else "Accepted",
                            ocpp_version="1.5" if i % 2 else None,
                            description="50%_off" if i == 3 else None)
    for box in ("B01", "B02", "B04"):
        _talk(central, box, version="1.5" if box == "B01" else "1.6")
    rows, total = central.admin.box_page(limit=5)
    assert total == 12 and [r["charge_box_id"] for r in rows] == ["B00", "B01", "B02", "B03",
                                                                   "B04"]
    assert rows[1]["presence"] == "online" and rows[0]["presence"] == "never"
    assert [c["connector_id"] for c in rows[1]["connectors"]] == [0, 1, 2]
    rows, total = central.admin.box_page(limit=5, offset=10)
    assert total == 12 and [r["charge_box_id"] for r in rows] == ["B10", "B11"]
    rows, total = central.admin.box_page(status="online", sort="vendor", descending=True)
    assert total == 3 and [r["charge_box_id"] for r in rows] == ["B01", "B02", "B04"]
    rows, _ = central.admin.box_page(status="never", version="1.5")
    assert [r["charge_box_id"] for r in rows] == ["B03", "B05", "B07", "B09", "B11"]
    assert central.admin.box_page(status="Pending")[1] == 1
    assert central.admin.box_page(version="unknown")[1] == 4  # B00, B06, B08, B10
    # Text search is a substring match in any case; LIKE's wildcards are literal.
    assert [r["charge_box_id"] for r in central.admin.box_page(text="zap")[0]] == ["B01"]
    assert [r["charge_box_id"] for r in central.admin.box_page(text="50%_")[0]] == ["B03"]
    assert central.admin.box_page(text="%")[1] == 1
    clock.now += timedelta(seconds=121)
    assert central.admin.box_page(status="offline")[1] == 3
    rows, _ = central.admin.box_page(sort="seen", descending=True, limit=4)
    assert [r["charge_box_id"] for r in rows][3] == "B00"  # never seen: last either way
    assert {r["charge_box_id"] for r in rows[:3]} == {"B01", "B02", "B04"}
    rows, _ = central.admin.box_page(sort="seen", limit=4)
    assert {r["charge_box_id"] for r in rows[:3]} == {"B01", "B02", "B04"}
    for bad in ({"sort": "secret"}, {"status": "sleepy"}, {"version": "2.0"}, {"limit": 0}):
        with pytest.raises(ValueError):
            central.admin.box_page(**bad)


def test_tag_search_envelope_and_last_configuration(central):
    admin = central.admin
    admin.add_tag("FLEET")
    admin.add_tag("04AB", parent_id_tag="FLEET", note="Van 7")
    admin.add_tag("X_1", note="100% sure")
    assert [t["id_tag"] for t in admin.list_tags(search="fleet")] == ["04AB", "FLEET"]
    assert [t["id_tag"] for t in admin.list_tags(search="van")] == ["04AB"]
    assert [t["id_tag"] for t in admin.list_tags(search="_")] == ["X_1"]
    assert [t["id_tag"] for t in admin.list_tags(search="%")] == ["X_1"]
    assert [t["id_tag"] for t in admin.list_tags(limit=2, offset=1)] == ["FLEET", "X_1"]
    with pytest.raises(NotFound):
        admin.get_envelope(12345)
    admin.add_chargebox("CB1")
    assert admin.last_configuration("CB1") is None
    central.record_command("CB1", "GetConfiguration", {}, reply={"configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "60"}]}, version="1.6")
    central.record_command("CB1", "GetConfiguration", {}, fault="Receiver/InternalError")
    last = admin.last_configuration("CB1")
    assert last["reply"]["configurationKey"][0]["key"] == "HeartbeatInterval"
