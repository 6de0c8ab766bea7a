"""The CS keeps the reservations it makes: ReserveNow without a reservationId gets one from the
stored row, the box's answer is recorded, and an accepted CancelReservation marks it Cancelled."""

from __future__ import annotations

import pytest

from ocpp_soap.central.app import CentralApp
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint


@pytest.fixture
def setup(tmp_path):
    seen = []

    def reserve(ctx, payload):
        seen.append(payload)
        return {"status": "Accepted" if payload["connectorId"] == 1 else "Occupied"}

    def cancel(ctx, payload):
        seen.append(payload)
        return {"status": "Accepted"}

    cp = BackgroundServer(OcppEndpoint("ChargePointService", {
        "ReserveNow": reserve, "CancelReservation": cancel})).start()
    app = CentralApp(CentralSettings(db_url=f"sqlite:///{tmp_path}/cs.db"))
    app.central.admin.add_chargebox("CB1", registration_status="Accepted",
                                    endpoint=cp.url + "/ocpp/ChargePointService",
                                    ocpp_version="1.6")
    yield app, seen
    cp.stop()
    app.close()


def test_reserve_and_cancel_are_recorded(setup):
    app, seen = setup
    request = {"connectorId": 1, "idTag": "TAG1", "expiryDate": "2030-01-01T00:00:00Z"}
    result = app.commander.send("CB1", "ReserveNow", request)
    assert result.reply == {"status": "Accepted"}
    rid = seen[0]["reservationId"]
    (stored,) = app.central.admin.list_reservations("CB1")
    assert stored["id"] == rid and stored["status"] == "Accepted"
    assert stored["id_tag"] == "TAG1" and stored["connector_id"] == 1

    app.commander.send("CB1", "CancelReservation", {"reservationId": rid})
    assert app.central.admin.list_reservations("CB1")[0]["status"] == "Cancelled"


def test_refused_reservation_keeps_the_answer(setup):
    app, _ = setup
    app.commander.send("CB1", "ReserveNow", {"connectorId": 2, "idTag": "TAG1",
                                             "expiryDate": "2030-01-01T00:00:00Z"})
    assert app.central.admin.list_reservations("CB1")[0]["status"] == "Occupied"


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_cli_reserve_now_is_numbered_as_the_api_does(setup, version, capsys, tmp_path):
    """Issue 14, item 7: ``call CB ReserveNow`` without reservationId gets the stored row's id."""
    import json

    from ocpp_soap.central.cli import main

    app, seen = setup
    app.central.admin.update_chargebox("CB1", ocpp_version=version)
    db = ["--db", app.settings.db_url]
    code = main(["call", "CB1", "ReserveNow", "connectorId=1", "idTag=TAG1",
                 "expiryDate=2030-01-01T00:00:00Z", *db])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {"status": "Accepted"}
    (stored,) = app.central.admin.list_reservations("CB1")
    assert seen[-1]["reservationId"] == stored["id"] and stored["connector_id"] == 1
    # a bad field is still named (exit 2), and nothing is reserved
    assert main(["call", "CB1", "ReserveNow", "connectorId=one", "idTag=TAG1",
                 "expiryDate=2030-01-01T00:00:00Z", *db]) == 2
    assert "connectorId" in capsys.readouterr().err
    assert len(app.central.admin.list_reservations("CB1")) == 1
    # an operator's own number is sent as given
    assert main(["call", "CB1", "ReserveNow", "connectorId=1", "idTag=TAG1", "reservationId=77",
                 "expiryDate=2030-01-01T00:00:00Z", *db]) == 0
    assert seen[-1]["reservationId"] == 77
