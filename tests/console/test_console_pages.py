"""Console pages over real HTTP: what each page shows, its filters and paging, its forms and their
errors, and hostile values shown as text. Data comes in through the domain as from a charger."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from ocpp_soap.central.console import commandforms
from ocpp_soap.central.storage.models import CommandLog
from ocpp_soap.central.testing import Ctx
from ocpp_soap.central.timeutil import utc_now
from tests.central.test_e2e_support import dead_url, rows
from tests.console.browser_support import ConsoleCS, csrf_of, requests_login, wait_for

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def cs(tmp_path):
    with ConsoleCS(tmp_path / "cs.db") as server:
        yield server


def _boot(cs, box: str, vendor: str = "Alfen", connectors: int = 2, status="Available",
          version="1.6"):
    central = cs.app.central
    central.boot(Ctx(charge_box_id=box, action="BootNotification", version=version),
                 {"chargePointVendor": vendor, "chargePointModel": "NG9"})
    for n in range(connectors + 1):
        central.status_notification(Ctx(charge_box_id=box, action="StatusNotification",
                                        version=version),
                                    {"connectorId": n, "status": status, "errorCode": "NoError"})


def _get(session, cs, path, status=200):
    r = session.get(cs.url + path, timeout=10)
    assert r.status_code == status, r.text[:800]
    return r.text


def _box_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-box="([^"]+)"', html)


def test_overview_totals_filters_sorting_and_pages(cs):
    for i in range(30):
        cs.admin.add_chargebox(f"CB{i:02d}", ocpp_version="1.5" if i % 3 == 0 else "1.6",
                               registration_status="Pending" if i == 29 else "Accepted")
    for i in range(0, 10):
        _boot(cs, f"CB{i:02d}", vendor="Zap" if i < 5 else "Alfen",
              status="Charging" if i < 2 else "Available")
    s = requests_login(cs.url, "viewer")
    html = _get(s, cs, "/ui/")
    assert re.search(r'id="n-online">10<', html) and re.search(r'id="n-never">20<', html)
    assert "Charging</span> 4" in html and "Available</span> 16" in html
    assert _box_ids(html) == [f"CB{i:02d}" for i in range(25)]
    assert "Page 1 of 2 · 30 boxes" in html
    assert _box_ids(_get(s, cs, "/ui/?page=2")) == [f"CB{i:02d}" for i in range(25, 30)]
    assert _box_ids(_get(s, cs, "/ui/?status=online&q=zap")) == [f"CB0{i}" for i in range(5)]
    assert _box_ids(_get(s, cs, "/ui/?status=Pending")) == ["CB29"]
    assert _box_ids(_get(s, cs, "/ui/?version=1.5&status=never"))[:3] == ["CB12", "CB15", "CB18"]
    assert _box_ids(_get(s, cs, "/ui/?sort=id&dir=desc"))[:2] == ["CB29", "CB28"]
    html = _get(s, cs, "/ui/?sort=vendor&status=online")
    assert _box_ids(html) == [f"CB0{i}" for i in (5, 6, 7, 8, 9, 0, 1, 2, 3, 4)]
    assert 'aria-sort="ascending"' in html
    # A search for LIKE's own wildcards matches them literally.
    assert _box_ids(_get(s, cs, "/ui/?q=%25")) == []
    assert "No box matches these filters" in _get(s, cs, "/ui/?q=nothing-like-this")


@pytest.mark.parametrize("query,message", [("status=weird", "status: one of"),
                                           ("version=2.0", "version: 1.5, 1.6 or unknown"),
                                           ("sort=password", "sort: one of"),
                                           ("page=0", "page: must be at least 1"),
                                           ("page=x", "page: expected a whole number")])
def test_overview_bad_filters_are_readable_400s(cs, query, message):
    s = requests_login(cs.url, "viewer")
    assert message in _get(s, cs, "/ui/?" + query, 400)


def test_empty_overview_says_what_to_do(cs):
    s = requests_login(cs.url, "admin")
    html = _get(s, cs, "/ui/")
    assert "No boxes yet: point a charger at" in html and "/ocpp/CentralSystemService" in html
    assert "Add a charge box" in html


def test_live_overview_returns_the_same_fragments(cs):
    cs.admin.add_chargebox("CB1")
    s = requests_login(cs.url, "viewer")
    data = s.get(cs.url + "/ui/live/overview?status=never", timeout=10).json()
    assert set(data["fragments"]) == {"totals", "boxrows", "pager"}
    assert 'data-box="CB1"' in data["fragments"]["boxrows"]
    _boot(cs, "CB1")
    data = s.get(cs.url + "/ui/live/overview", timeout=10).json()
    assert "online" in data["fragments"]["boxrows"]


def test_box_page_shows_registration_connectors_and_every_operation(cs):
    cs.admin.add_chargebox("CB1", ocpp_version="1.5")
    _boot(cs, "CB1", version="1.5")
    cs.admin.update_chargebox("CB1", auth_secret="s3cret-secret")
    s = requests_login(cs.url, "operator")
    html = _get(s, cs, "/ui/boxes/CB1")
    assert "HTTP Basic-auth secret set" in html and "Alfen / NG9" in html
    assert 'data-connector="2"' in html
    ops = commandforms.operations("1.5")
    assert "SetChargingProfile" not in ops and "Reset" in ops
    for op in ops:  # every CS→CP operation of 1.5 has a working form
        page = _get(s, cs, f"/ui/boxes/CB1?op={op}")
        assert f"<h3>{op}</h3>" in page and f"Send {op}" in page
    reset = _get(s, cs, "/ui/boxes/CB1?op=Reset")
    assert '<option >Hard</option>' in reset.replace("selected", "") and \
        'abbr class="req"' in reset
    # An operation the box's version lacks falls back to a form it has.
    assert "<h3>CancelReservation</h3>" in _get(s, cs, "/ui/boxes/CB1?op=TriggerMessage")


def test_command_errors_are_inline_and_send_nothing(cs):
    cs.admin.add_chargebox("CB1", ocpp_version="1.6")
    s = requests_login(cs.url, "operator")
    token = csrf_of(_get(s, cs, "/ui/boxes/CB1"))
    cases = [({"op": "ChangeAvailability", "f.connectorId": "x", "f.type": "Operative"},
              "connectorId", "expected an integer"),
             ({"op": "ChangeAvailability", "f.connectorId": "1", "f.type": "Sideways"},
              "type", "is not one of"),
             ({"op": "Reset"}, "type", "required"),
             ({"op": "SendLocalList", "f.listVersion": "1", "f.updateType": "Full",
               "f.localAuthorizationList": "[{"}, "localAuthorizationList", "not valid JSON"),
             ({"op": "RemoteStartTransaction", "f.idTag": "X" * 21}, "idTag",
              "longer than 20")]
    for data, field, message in cases:
        r = s.post(cs.url + "/ui/do/box/command", timeout=10,
                   data={"csrf": token, "box": "CB1", **data})
        assert r.status_code == 422, (field, r.text[:300])
        match = re.search(rf'id="f-{field}-error" role="alert">([^<]+)<', r.text)
        assert match and message in match.group(1), (field, r.text[-3000:])
        assert 'class="field invalid"' in r.text
    assert rows(cs.db_url, CommandLog) == []
    r = s.post(cs.url + "/ui/do/box/command", timeout=10,
               data={"csrf": token, "box": "CB1", "op": "Nonsense"})
    assert r.status_code == 404 and "has no operation" in r.text


def test_command_to_a_box_without_endpoint_and_queueing(cs):
    cs.admin.add_chargebox("CB1", ocpp_version="1.6")
    s = requests_login(cs.url, "operator")
    token = csrf_of(_get(s, cs, "/ui/boxes/CB1"))
    data = {"csrf": token, "box": "CB1", "op": "Reset", "f.type": "Soft"}
    r = s.post(cs.url + "/ui/do/box/command", data=data, timeout=10)
    assert r.status_code == 200 and 'class="result bad"' in r.text and "no" in r.text
    r = s.post(cs.url + "/ui/do/box/command", data={**data, "queue": "1"}, timeout=10)
    assert "Reset is queued as #" in r.text
    pending = cs.admin.list_pending("CB1")
    assert [p["operation"] for p in pending] == ["Reset"]
    assert pending[0]["state"] == "queued"
    html = _get(s, cs, "/ui/boxes/CB1")
    assert ">queued<" in html and "<th>Expires</th>" in html
    r = s.post(cs.url + "/ui/do/pending/cancel", timeout=10,
               data={"csrf": token, "box": "CB1", "id": str(pending[0]["id"])})
    assert f"Queued command #{pending[0]['id']} cancelled" in r.text
    assert cs.admin.list_pending("CB1") == []


def test_unreachable_box_answer_is_shown(cs):
    cs.admin.add_chargebox("CB1", ocpp_version="1.6", endpoint=dead_url())
    s = requests_login(cs.url, "operator")
    token = csrf_of(_get(s, cs, "/ui/boxes/CB1"))
    r = s.post(cs.url + "/ui/do/box/command", timeout=20,
               data={"csrf": token, "box": "CB1", "op": "ClearCache"})
    assert r.status_code == 200 and "cannot be reached" in r.text and "unreachable" in r.text


def test_admin_box_actions(cs):
    cs.admin.add_chargebox("CB1", registration_status="Pending")
    s = requests_login(cs.url, "admin")
    token = csrf_of(_get(s, cs, "/ui/boxes/CB1"))

    def post(path, **data):
        return s.post(cs.url + path, data={"csrf": token, **data}, timeout=10)

    assert "CB1 is now Accepted" in post("/ui/do/box/registration", box="CB1",
                                         status="Accepted").text
    assert cs.admin.get_chargebox("CB1")["registration_status"] == "Accepted"
    assert post("/ui/do/box/registration", box="CB1", status="Maybe").status_code == 400
    r = post("/ui/do/box/edit", box="CB1", description=HOSTILE, version="1.5", secret="pw12345")
    assert "Saved CB1" in r.text and HOSTILE not in r.text and "&lt;script&gt;" in r.text
    box = cs.admin.get_chargebox("CB1")
    assert box["ocpp_version"] == "1.5" and box["has_auth_secret"]
    r = post("/ui/do/box/endpoint", box="CB1", endpoint="ftp://x")
    assert "Endpoint not changed" in r.text
    post("/ui/do/box/endpoint", box="CB1", endpoint="http://10.0.0.7:8080/ocpp")
    assert cs.admin.get_chargebox("CB1")["endpoint_override"] is True
    # The change is one of the box's endpoint events, shown on its page.
    (event,) = cs.admin.list_events("CB1")
    page = _get(s, cs, "/ui/boxes/CB1")
    events = page[page.index("Endpoint and trust events"):page.index("Set the address by hand")]
    assert event["kind"] in events and "→ http://10.0.0.7:8080/ocpp" in events
    r = post("/ui/do/box/add", box="CB2", registration="Pending", version="1.6")
    assert "Added CB2" in r.text and cs.admin.get_chargebox("CB2")["registration_status"] == \
        "Pending"
    assert "Could not add the box" in post("/ui/do/box/add", box="CB2").text
    assert "Removed CB1" in post("/ui/do/box/remove", box="CB1").text
    assert _get(s, cs, "/ui/boxes/CB1", 404)


def _transaction(cs, box="CB1", tag="T1", start=0, stop=None, samples=()):
    central = cs.app.central
    ctx = Ctx(charge_box_id=box, action="StartTransaction")
    now = utc_now()
    tx = central.start_transaction(ctx, {"connectorId": 1, "idTag": tag, "meterStart": start,
                                         "timestamp": now - timedelta(minutes=10)})
    tx_id = tx["transactionId"]
    if samples:
        central.meter_values(Ctx(charge_box_id=box, action="MeterValues"), {
            "connectorId": 1, "transactionId": tx_id, "meterValue": [
                {"timestamp": now - timedelta(minutes=9 - i), "sampledValue": [
                    {"value": str(v), "measurand": "Energy.Active.Import.Register",
                     "unit": "Wh"},
                    {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"}]}
                for i, v in enumerate(samples)]})
    if stop is not None:
        central.stop_transaction(Ctx(charge_box_id=box, action="StopTransaction"), {
            "transactionId": tx_id, "meterStop": stop, "timestamp": now, "idTag": tag})
    return tx_id


def test_transactions_filters_csv_and_detail_chart(cs):
    cs.admin.add_chargebox("CB1")
    cs.admin.add_chargebox("CB2")
    cs.admin.add_tag("T1", max_active_transactions=None)
    cs.admin.add_tag("=HYPERLINK(1)", max_active_transactions=None)
    closed = _transaction(cs, stop=5000, samples=(1000, 2500, 4000))
    open_ = _transaction(cs, box="CB2", tag="=HYPERLINK(1)", samples=(100, 300))
    s = requests_login(cs.url, "viewer")
    html = _get(s, cs, "/ui/transactions")
    assert f'/ui/transactions/{closed}"' in html and f'/ui/transactions/{open_}"' in html
    html = _get(s, cs, "/ui/transactions?state=open")
    assert f'/ui/transactions/{open_}"' in html and f'/ui/transactions/{closed}"' not in html
    html = _get(s, cs, "/ui/transactions?chargebox=CB1&state=closed")
    assert f'/ui/transactions/{closed}"' in html and "5.00 kWh" in html
    assert "Filter not understood" in _get(s, cs, "/ui/transactions?since=yesterday", 400)
    r = s.get(cs.url + "/ui/transactions.csv?chargebox=CB2", timeout=10)
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0][:4] == ["id", "charge_box_id", "connector_id", "id_tag"]
    assert len(table) == 2 and table[1][3] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    detail = _get(s, cs, f"/ui/transactions/{closed}")
    assert "<svg" in detail and 'class="line energy"' in detail
    assert 'class="line power"' in detail and detail.count('class="dot energy"') == 4
    assert "closed" in detail and "5.00 kWh" in detail
    live = s.get(cs.url + f"/ui/live/transaction?id={open_}", timeout=10).json()
    assert set(live["fragments"]) == {"summary", "chart", "samples"}
    assert "so far" in live["fragments"]["summary"]
    _get(s, cs, "/ui/transactions/999999", 404)


def test_close_by_hand_records_who_and_refuses_twice(cs):
    cs.admin.add_chargebox("CB1")
    cs.admin.add_tag("T1")
    tx = _transaction(cs, samples=(1000, 2200))
    s = requests_login(cs.url, "operator")
    html = _get(s, cs, f"/ui/transactions/{tx}")
    assert "Close by hand" in html and '<option selected>Other</option>' in html
    token = csrf_of(html)

    def close(**data):
        return s.post(cs.url + "/ui/do/transaction/close", timeout=10,
                      data={"csrf": token, "id": str(tx), **data})

    r = close(meter_stop="-5")
    assert "meter stop: must be at least 0" in r.text
    r = close(reason="Whatever")
    assert "Not closed: reason must be one of" in r.text
    assert cs.admin.get_transaction(tx)["stop_timestamp"] is None
    r = close(note="box replaced " + HOSTILE)
    assert f"Transaction {tx} closed." in r.text and HOSTILE not in r.text
    row = cs.admin.get_transaction(tx)
    assert row["closed_by"] == "console (operator)" and row["meter_stop"] == 2200
    assert row["stop_reason"] == "Other" and "box replaced" in row["close_note"]
    assert "console (operator)" in r.text and "closed" in r.text
    r = close()
    assert "Not closed: transaction" in r.text and "stopped already" in r.text
    viewer = requests_login(cs.url, "viewer")
    r = viewer.post(cs.url + "/ui/do/transaction/close", timeout=10, data={
        "csrf": csrf_of(_get(viewer, cs, "/ui/")), "id": str(tx)})
    assert r.status_code == 403


def test_tags_add_search_edit_block_remove(cs):
    s = requests_login(cs.url, "operator")
    token = csrf_of(_get(s, cs, "/ui/tags"))
    assert "No id tags yet" in _get(s, cs, "/ui/tags")

    def post(path, **data):
        return s.post(cs.url + path, data={"csrf": token, **data}, timeout=10)

    r = post("/ui/do/tag/add", tag="FLEET", status="Accepted", max_active="", note="parent")
    assert "Added tag FLEET" in r.text
    r = post("/ui/do/tag/add", tag="04A2B3", parent="FLEET", expiry="2030-01-01T00:00:00Z",
             max_active="2", note=HOSTILE)
    assert "Added tag 04A2B3" in r.text and HOSTILE not in r.text
    tag = cs.admin.get_tag("04A2B3")
    assert tag["parent_id_tag"] == "FLEET" and tag["max_active_transactions"] == 2
    assert tag["expiry_date"].startswith("2030-01-01")
    r = post("/ui/do/tag/add", tag="FLEET")
    assert r.status_code == 422 and "exists" in r.text
    r = post("/ui/do/tag/add", tag="BAD\x01", status="Accepted")
    assert r.status_code == 422 and "control characters" in r.text
    r = post("/ui/do/tag/add", tag="X1", expiry="next week")
    assert r.status_code == 422 and "expiry: expected an ISO 8601 date-time" in r.text
    assert re.findall(r'data-tag="([^"]+)"', _get(s, cs, "/ui/tags?q=fle")) == ["04A2B3", "FLEET"]
    assert re.findall(r'data-tag="([^"]+)"', _get(s, cs, "/ui/tags?q=04a")) == ["04A2B3"]
    r = post("/ui/do/tag/save", tag="04A2B3", status="Accepted", parent="", expiry="",
             max_active="x", note="")
    assert r.status_code == 422 and "max active" in r.text
    r = post("/ui/do/tag/save", tag="04A2B3", status="Accepted", parent="", expiry="",
             max_active="", note="")
    assert "Saved tag 04A2B3" in r.text
    tag = cs.admin.get_tag("04A2B3")
    assert tag["parent_id_tag"] is None and tag["expiry_date"] is None
    assert tag["max_active_transactions"] is None
    assert "is blocked" in post("/ui/do/tag/block", tag="04A2B3").text
    assert re.findall(r'data-tag="([^"]+)"', _get(s, cs, "/ui/tags?status=Blocked")) == ["04A2B3"]
    assert "accepted again" in post("/ui/do/tag/unblock", tag="04A2B3").text
    assert "Removed tag 04A2B3" in post("/ui/do/tag/remove", tag="04A2B3").text
    assert post("/ui/do/tag/block", tag="04A2B3").status_code == 404


def test_reservations_list_and_cancel_without_endpoint(cs):
    cs.admin.add_chargebox("CB1")
    reservation = cs.admin.add_reservation("CB1", 1, "T1", "2030-01-01T00:00:00Z")
    s = requests_login(cs.url, "operator")
    html = _get(s, cs, "/ui/reservations")
    assert f'<td class="num">{reservation["id"]}</td>' in html and "Requested" in html
    token = csrf_of(html)
    r = s.post(cs.url + "/ui/do/reservation/cancel", timeout=10,
               data={"csrf": token, "id": str(reservation["id"])})
    assert "Not cancelled" in r.text
    r = s.post(cs.url + "/ui/do/reservation/cancel", timeout=10,
               data={"csrf": token, "id": "424242"})
    assert r.status_code == 404


ENVELOPE = """<?xml version="1.0"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
  xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:o="urn://Ocpp/Cs/2015/10/">
<s:Header><o:chargeBoxIdentity>CB1</o:chargeBoxIdentity><a:Action>/Heartbeat</a:Action>
<a:MessageID>urn:uuid:1</a:MessageID><a:To>http://cs/ocpp</a:To></s:Header>
<s:Body><o:heartbeatRequest/></s:Body></s:Envelope>"""


def _log(cs, text, action="Heartbeat", direction="in", box="CB1"):
    """Log an envelope as the server does (the writer batches: wait until it is stored)."""
    cs.app.envelopes.add(direction, text.encode(), at=utc_now(), charge_box_id=box,
                         action=action, message_id="urn:uuid:1", version="1.6", peer="192.0.2.9")
    return wait_for(lambda: next((r["id"] for r in cs.admin.list_envelopes(action=action)), None),
                    what=f"{action} logged")


def test_messages_list_detail_compare_validate_and_download(cs):
    first = _log(cs, ENVELOPE)
    hostile = _log(cs, "<x><![CDATA[" + HOSTILE + "]]></x>", action="Junk", box="CB2")
    s = requests_login(cs.url, "viewer")
    html = _get(s, cs, "/ui/messages?chargebox=CB1")
    assert f"/ui/messages/{first}" in html and f"/ui/messages/{hostile}" not in html
    assert f"/ui/messages/{hostile}" in _get(s, cs, "/ui/messages?action=Junk")
    assert "No envelopes logged" in _get(s, cs, "/ui/messages?direction=out")
    assert "direction: in or out" in _get(s, cs, "/ui/messages?direction=up", 400)
    detail = _get(s, cs, f"/ui/messages/{first}")
    assert '<span class="x-tag">o:heartbeatRequest</span>' in detail
    compared = _get(s, cs, f"/ui/messages/{first}?compare=1")
    assert "samples/ocpp16/Heartbeat.req.xml" in compared and "Header" in compared
    validated = _get(s, cs, f"/ui/messages/{first}?validate=1")
    assert "Validation" in validated and ("From" in validated or "ReplyTo" in validated)
    r = s.get(cs.url + f"/ui/messages/{first}/download", timeout=10)
    assert r.text == ENVELOPE and "attachment" in r.headers["Content-Disposition"]
    assert r.headers["Content-Type"].startswith("application/xml")
    junk = _get(s, cs, f"/ui/messages/{hostile}?compare=1&validate=1")
    assert HOSTILE not in junk and "&amp;lt;script&amp;gt;" in junk  # the XML's own escape, shown
    assert junk.count("this envelope: not a SOAP envelope (root element is x)") == 2
    _get(s, cs, "/ui/messages/999999", 404)


def test_users_page_for_admins(cs):
    s = requests_login(cs.url, "admin")
    html = _get(s, cs, "/ui/users")
    assert "(you)" in html and "operator" in html
    token = csrf_of(html)

    def post(path, **data):
        return s.post(cs.url + path, data={"csrf": token, **data}, timeout=10)

    assert "Added dora (viewer)" in post("/ui/do/user/add", name="dora", role="viewer",
                                         password="dora's password").text
    r = post("/ui/do/user/add", name="dora", role="viewer", password="whatever1")
    assert r.status_code == 422 and "exists" in r.text
    r = post("/ui/do/user/add", name="<b>", role="viewer", password="whatever1")
    assert r.status_code == 422 and "user name" in r.text
    r = post("/ui/do/user/add", name="eve", role="root", password="whatever1")
    assert r.status_code == 422 and "role must be one of" in r.text
    assert "dora is now operator" in post("/ui/do/user/role", name="dora", role="operator").text
    r = post("/ui/do/user/password", name="dora", password="short")
    assert r.status_code == 422 and "at least 8" in r.text
    r = post("/ui/do/user/role", name="admin", role="viewer")
    assert r.status_code == 409 and "cannot change the role of your own account" in r.text
    assert post("/ui/do/user/remove", name="admin").status_code == 409
    assert "Removed dora" in post("/ui/do/user/remove", name="dora").text
    assert post("/ui/do/user/remove", name="dora").status_code == 404


def test_a_form_body_too_large_is_refused_readably(cs):
    s = requests_login(cs.url, "admin")
    token = csrf_of(_get(s, cs, "/ui/tags"))
    r = s.post(cs.url + "/ui/do/tag/add", data={"csrf": token, "tag": "x" * 400_000},
               timeout=10)
    assert r.status_code == 413 and "Traceback" not in r.text


def test_hostile_box_ids_and_numbers_are_handled(cs):
    evil = '<img src=x onerror=alert(1)>"\'&'
    cs.admin.add_chargebox(evil, description=HOSTILE)
    cs.admin.add_chargebox("A/B C?#", description="odd characters")
    s = requests_login(cs.url, "viewer")
    html = _get(s, cs, "/ui/")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert HOSTILE not in html
    from urllib.parse import quote

    page = _get(s, cs, "/ui/boxes/" + quote(evil, safe=""))
    assert "<img src=x" not in page and "onerror=alert(1)&gt;" in page
    assert "odd characters" in _get(s, cs, "/ui/boxes/" + quote("A/B C?#", safe=""))
    assert "page: must be at most" in _get(s, cs, "/ui/?page=99999999999", 400)
    assert "page: must be at most" in _get(s, cs, "/ui/transactions?page=" + "9" * 40, 400)
    _get(s, cs, "/ui/transactions/99999999999999999999", 404)
    assert "id: expected a whole number" in _get(s, cs, "/ui/live/transaction?id=x", 400)
    q = "%" * 5000
    assert "No box matches" in _get(s, cs, "/ui/?q=" + quote(q))
