"""The API's resources over real HTTP on 127.0.0.1 with a SQLite file: charge boxes, endpoint
override, id tags, transactions, meter values, connectors, logs, the pending queue, and the
generic error answers (400, 404, 405, 409, 413, 422)."""

from __future__ import annotations

import pytest
import requests

from ocpp_soap.messages.examples import TAG, example
from ocpp_soap.soap.client import OcppClient
from tests.central.test_api_support import assert_error, running_api, wait_for

JSON = {"Content-Type": "application/json"}  # raw bodies: the API takes only JSON

CS = "CentralSystemService"


@pytest.fixture
def api(tmp_path):
    with running_api(tmp_path) as running:
        yield running


def charger_session(api, box: str = "CB-1001") -> None:
    """A 1.6 charger over SOAP: boot, status, authorize, start, meter values, stop."""
    client = OcppClient("1.6", CS, box, api.server.url + "/ocpp/1.6/CentralSystemService",
                        from_address="http://127.0.0.1:9/ocpp/ChargePointService")
    for op in ("BootNotification", "StatusNotification", "Authorize"):
        client.call(op, example("1.6", CS, op)[0])
    start = example("1.6", CS, "StartTransaction")[0]
    tx = client.call("StartTransaction", start)["transactionId"]
    meter = example("1.6", CS, "MeterValues")[0]
    meter["transactionId"] = tx
    client.call("MeterValues", meter)
    stop = example("1.6", CS, "StopTransaction")[0]
    stop["transactionId"] = tx
    client.call("StopTransaction", stop)
    return tx


# --------------------------------------------------------------------- charge boxes

def test_chargebox_crud(api):
    assert api.get("/chargeboxes").json() == {"items": [], "count": 0}
    r = api.post("/chargeboxes", {"charge_box_id": "CB-1", "description": "yard",
                                  "ocpp_version": "1.5", "auth_secret": "s3cret"})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/api/v1/chargeboxes/CB-1"
    box = r.json()
    assert box["charge_box_id"] == "CB-1" and box["registration_status"] == "Accepted"
    assert box["has_auth_secret"] is True and "auth_secret_hash" not in box
    assert box["ocpp_version"] == "1.5" and box["description"] == "yard"

    assert_error(api.post("/chargeboxes", {"charge_box_id": "CB-1"}), 409, "CB-1")
    api.post("/chargeboxes", {"charge_box_id": "CB-2", "registration_status": "Pending"})
    listed = api.get("/chargeboxes").json()
    assert [b["charge_box_id"] for b in listed["items"]] == ["CB-1", "CB-2"]
    assert listed["count"] == 2
    pending = api.get("/chargeboxes", params={"registration_status": "Pending"}).json()
    assert [b["charge_box_id"] for b in pending["items"]] == ["CB-2"]

    got = api.get("/chargeboxes/CB-1").json()
    assert got["connectors"] == [] and got["charge_box_id"] == "CB-1"

    r = api.patch("/chargeboxes/CB-2", {"registration_status": "Rejected", "description": None,
                                        "auth_secret": None})
    assert r.status_code == 200 and r.json()["registration_status"] == "Rejected"
    assert api.admin.get_chargebox("CB-2")["registration_status"] == "Rejected"

    assert api.delete("/chargeboxes/CB-2").status_code == 204
    assert_error(api.get("/chargeboxes/CB-2"), 404, "CB-2")
    assert_error(api.delete("/chargeboxes/CB-2"), 404)
    assert_error(api.patch("/chargeboxes/nope", {"description": "x"}), 404, "nope")


def test_chargebox_bodies_are_checked(api):
    body = assert_error(api.post("/chargeboxes", {"description": "no id"}), 422, "charge_box_id")
    assert body["field"] == "charge_box_id"
    body = assert_error(api.post("/chargeboxes", {"charge_box_id": "X", "colour": "red"}), 422)
    assert body["field"] == "colour"
    body = assert_error(api.post("/chargeboxes", {"charge_box_id": "X",
                                                  "registration_status": "Maybe"}), 422, "Maybe")
    assert body["field"] == "registration_status"
    body = assert_error(api.post("/chargeboxes", {"charge_box_id": 7}), 422)
    assert body["field"] == "charge_box_id"
    body = assert_error(api.post("/chargeboxes", {"charge_box_id": "X", "endpoint": "ftp://h/"}),
                        422)
    assert body["field"] == "endpoint"
    api.post("/chargeboxes", {"charge_box_id": "X"})
    body = assert_error(api.patch("/chargeboxes/X", {"ocpp_version": "2.0"}), 422)
    assert body["field"] == "ocpp_version"
    assert api.get("/chargeboxes").json()["count"] == 1


def test_endpoint_override_and_back_to_learned(api):
    api.admin.add_chargebox("CB-1001")
    charger_session(api)  # learns http://127.0.0.1:9/ocpp/ChargePointService from From
    learned = "http://127.0.0.1:9/ocpp/ChargePointService"
    assert api.get("/chargeboxes/CB-1001").json()["endpoint_address"] == learned

    r = api.put("/chargeboxes/CB-1001/endpoint", {"address": "http://10.0.0.5:8080/ocpp"})
    assert r.status_code == 200, r.text
    assert r.json()["endpoint_address"] == "http://10.0.0.5:8080/ocpp"
    assert r.json()["endpoint_override"] is True and r.json()["endpoint_source"] == "manual"

    r = api.delete("/chargeboxes/CB-1001/endpoint")
    assert r.status_code == 200
    assert r.json()["endpoint_address"] == learned and r.json()["endpoint_override"] is False

    assert assert_error(api.put("/chargeboxes/CB-1001/endpoint", {"address": "10.0.0.5"}),
                        422)["field"] == "address"
    assert assert_error(api.put("/chargeboxes/CB-1001/endpoint", {}), 422)["field"] == "address"
    assert_error(api.put("/chargeboxes/ghost/endpoint", {"address": "http://h/"}), 404, "ghost")
    assert_error(api.delete("/chargeboxes/ghost/endpoint"), 404)


def test_box_connectors(api):
    api.admin.add_chargebox("CB-1001")
    charger_session(api)
    items = api.get("/chargeboxes/CB-1001/connectors").json()["items"]
    assert [(c["connector_id"], c["status"]) for c in items] == [
        (1, example("1.6", CS, "StatusNotification")[0]["status"])]
    assert_error(api.get("/chargeboxes/ghost/connectors"), 404)
    assert api.get("/connectors").json()["items"] == items
    assert api.get("/connectors", params={"chargebox": "other"}).json()["items"] == []


# --------------------------------------------------------------------- id tags

def test_idtag_crud_and_block(api):
    r = api.post("/idtags", {"id_tag": "TAG1", "expiry_date": "2030-01-01T00:00:00Z",
                             "max_active_transactions": 2, "note": "fleet"})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/api/v1/idtags/TAG1"
    tag = r.json()
    assert tag["status"] == "Accepted" and tag["max_active_transactions"] == 2
    assert tag["expiry_date"].startswith("2030-01-01T00:00:00")
    assert_error(api.post("/idtags", {"id_tag": "TAG1"}), 409, "TAG1")
    api.post("/idtags", {"id_tag": "CHILD", "parent_id_tag": "TAG1"})

    assert [t["id_tag"] for t in api.get("/idtags").json()["items"]] == ["CHILD", "TAG1"]
    assert api.get("/idtags/CHILD").json()["parent_id_tag"] == "TAG1"

    r = api.patch("/idtags/TAG1", {"status": "Blocked", "expiry_date": None})
    assert r.json()["status"] == "Blocked" and r.json()["expiry_date"] is None
    assert [t["id_tag"] for t in api.get("/idtags", params={"status": "Blocked"}).json()["items"]] \
        == ["TAG1"]
    assert api.post("/idtags/TAG1/unblock").json()["status"] == "Accepted"
    assert api.post("/idtags/CHILD/block").json()["status"] == "Blocked"
    assert api.admin.get_tag("CHILD")["status"] == "Blocked"

    assert assert_error(api.patch("/idtags/TAG1", {"status": "Sleepy"}), 422)["field"] == "status"
    assert assert_error(api.patch("/idtags/TAG1", {"expiry_date": "tomorrow"}),
                        422)["field"] == "expiry_date"
    assert assert_error(api.patch("/idtags/TAG1", {"max_active_transactions": "2"}),
                        422)["field"] == "max_active_transactions"
    assert_error(api.patch("/idtags/TAG1", {"parent_id_tag": "TAG1"}), 422, "own parent")
    assert assert_error(api.post("/idtags", {"status": "Accepted"}), 422)["field"] == "id_tag"

    assert api.delete("/idtags/CHILD").status_code == 204
    assert_error(api.get("/idtags/CHILD"), 404, "CHILD")
    assert_error(api.delete("/idtags/CHILD"), 404)
    assert_error(api.post("/idtags/CHILD/block"), 404)
    assert_error(api.patch("/idtags/CHILD", {"note": "x"}), 404)


# --------------------------------------------------------------------- history and logs

def test_transactions_meter_values_and_logs(api):
    api.admin.add_chargebox("CB-1001")
    api.admin.add_tag(TAG)
    tx = charger_session(api)

    items = api.get("/transactions").json()["items"]
    assert [t["id"] for t in items] == [tx]
    t = items[0]
    assert t["charge_box_id"] == "CB-1001" and t["id_tag"] == TAG
    assert t["stop_timestamp"] and t["meter_stop"] == example("1.6", CS, "StopTransaction")[0][
        "meterStop"]
    assert api.get(f"/transactions/{tx}").json() == t
    assert api.get("/transactions", params={"chargebox": "CB-1001", "idTag": TAG,
                                            "active": "false", "limit": 5,
                                            "offset": 0}).json()["items"] == [t]
    assert api.get("/transactions", params={"active": "true"}).json()["items"] == []
    assert api.get("/transactions", params={"idTag": "OTHER"}).json()["items"] == []
    assert api.get("/transactions", params={"since": "2999-01-01T00:00:00Z"}).json()["count"] == 0
    assert api.get("/transactions", params={"until": "2999-01-01T00:00:00Z"}).json()["count"] == 1
    assert api.get("/transactions", params={"offset": 1}).json()["count"] == 0
    assert_error(api.get("/transactions/999999"), 404, "999999")
    assert_error(api.get("/transactions/abc"), 404)

    samples = api.get("/metervalues", params={"transaction": tx}).json()["items"]
    assert samples and all(s["charge_box_id"] == "CB-1001" for s in samples)
    assert {s["measurand"] for s in samples} >= {"Energy.Active.Import.Register"}
    times = [s["timestamp"] for s in samples]
    assert times == sorted(times)
    everything = api.get("/metervalues", params={"chargebox": "CB-1001"}).json()["items"]
    assert len(everything) >= len(samples)
    by_connector = api.get("/metervalues", params={"connector": 1}).json()["items"]
    assert by_connector and all(s["connector_id"] == 1 for s in by_connector)
    assert api.get("/metervalues", params={"connector": 7}).json()["items"] == []
    assert api.get("/metervalues", params={"until": "2000-01-01T00:00:00Z"}).json()["count"] == 0
    assert api.get("/metervalues", params={"limit": 1}).json()["count"] == 1

    def logged():
        items = api.get("/messages", params={"chargebox": "CB-1001"}).json()["items"]
        return items if len(items) >= 12 else None  # 6 requests and their replies

    messages = wait_for(logged)
    actions = {(m["direction"], m["action"]) for m in messages}
    assert ("in", "BootNotification") in actions and ("out", "StopTransactionResponse") in actions
    assert all("Envelope" in m["envelope"] for m in messages)
    slim = api.get("/messages", params={"action": "Authorize", "envelope": "false"}).json()
    assert slim["count"] == 1 and "envelope" not in slim["items"][0]
    assert api.get("/messages", params={"direction": "out", "limit": 2}).json()["count"] == 2

    assert api.get("/commands").json() == {"items": [], "count": 0}


def test_pending_queue(api):
    api.admin.add_chargebox("CB-9")
    first = api.app.central.queue_command("CB-9", "ClearCache", {})
    api.app.central.queue_command("CB-9", "Reset", {"type": "Soft"})
    items = api.get("/pending").json()["items"]
    assert [(p["id"], p["operation"]) for p in items][0] == (first, "ClearCache")
    assert api.get("/pending", params={"chargebox": "CB-9"}).json()["count"] == 2
    assert api.get("/pending", params={"chargebox": "other"}).json()["count"] == 0
    assert api.delete(f"/pending/{first}").status_code == 204
    assert [p["operation"] for p in api.get("/pending").json()["items"]] == ["Reset"]
    assert_error(api.delete(f"/pending/{first}"), 404)
    assert_error(api.delete("/pending/xyz"), 404)
    assert api.get("/pending", params={"include_taken": "true"}).json()["count"] == 1


# --------------------------------------------------------------------- generic errors

def test_bad_query_parameters_are_400(api):
    for path, params, name in [("/transactions", {"limit": "many"}, "limit"),
                               ("/transactions", {"limit": "0"}, "limit"),
                               ("/transactions", {"offset": "-1"}, "offset"),
                               ("/transactions", {"active": "maybe"}, "active"),
                               ("/transactions", {"since": "yesterday"}, "since"),
                               ("/metervalues", {"transaction": "x"}, "transaction"),
                               ("/metervalues", {"until": "soon"}, "until"),
                               ("/messages", {"envelope": "perhaps"}, "envelope")]:
        assert assert_error(api.get(path, params=params), 400, name)["field"] == name


def test_malformed_json_is_400(api):
    r = api.request("POST", "/chargeboxes", data=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "JSON")
    assert_error(api.request("POST", "/idtags", data=b"[1, 2]", headers=JSON), 400, "object")
    assert_error(api.request("POST", "/idtags", data=b"", headers=JSON), 400)
    assert_error(api.request("PATCH", "/idtags/x", data=b"\xff\xfe", headers=JSON), 400)


def test_too_large_body_is_413(api):
    big = b'{"id_tag": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert_error(api.request("POST", "/idtags", data=big, headers=JSON), 413)


def test_unknown_paths_are_404_json(api):
    assert_error(api.get("/nothing"), 404, "/api/v1/nothing")
    assert_error(api.get(""), 404)
    assert_error(api.get("/chargeboxes/a/b/c"), 404)
    r = requests.get(api.server.url + "/api/v1x", timeout=5)
    assert r.status_code == 404


def test_wrong_methods_are_405(api):
    for method, path in [("PUT", "/chargeboxes"), ("DELETE", "/idtags"), ("POST", "/transactions"),
                         ("GET", "/chargeboxes/X/operations/Reset"), ("POST", "/openapi.json"),
                         ("PATCH", "/pending/1"), ("GET", "/idtags/X/block")]:
        r = api.request(method, path)
        assert_error(r, 405, method)
        assert r.headers["Allow"]
    assert "POST" in api.request("PUT", "/chargeboxes").headers["Allow"]


def test_trailing_slash_is_the_same_resource(api):
    assert api.get("/chargeboxes/").json() == {"items": [], "count": 0}
