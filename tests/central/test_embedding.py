"""The public Python API (issue 15): the example in ``examples/embedding.py`` over real HTTP.

- a dict-backed authorizer blocks a tag for Authorize, StartTransaction and StopTransaction
  alike, in both versions, on the fast statements and on the ORM path, on SQLite and PostgreSQL;
- a DataTransfer handler answers a vendor (snake_case keywords in, a dict out);
- webhooks get transaction started and stopped, signed, in order, and again after the receiver
  was down for a while; the deliveries are visible in the API;
- events reach Python callbacks, ``after`` hooks see the reply, handlers raise OCPP errors.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import requests

import ocpp_soap.central as central_api
from ocpp_soap.central import (
    Authorization,
    CentralSystem,
    NotSupported,
    TagTableAuthorizer,
    create_app,
)
from ocpp_soap.central.storage.models import ChargeBox, DataTransfer, IdTag, Transaction
from ocpp_soap.central.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from ocpp_soap.soap.client import RemoteFault
from ocpp_soap.soap.httpserver import BackgroundServer
from tests.central.embedding_support import Box, Receiver, load_example
from tests.central.test_api_support import wait_for
from tests.central.test_e2e_support import rows

#: Webhook retries and the outbox thread take seconds, not the API's fractions of one.
wait_until = partial(wait_for, timeout=30.0)

VERSIONS = ("1.5", "1.6")
SECRET = "s3cret-for-hmac"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cs.db'}"
    return request.getfixturevalue("pg_url")


class Served:
    """An application on a real HTTP server in this process."""

    def __init__(self, app: CentralSystem):
        self.app = app
        self.server = BackgroundServer(app).start()
        self.url = self.server.url

    def api(self, path: str, **params) -> requests.Response:
        return requests.get(self.url + "/api/v1" + path, params=params, timeout=10)

    def close(self) -> None:
        self.server.stop()
        self.app.close()


@pytest.fixture
def serve():
    started: list[Served] = []

    def start(app: CentralSystem) -> Served:
        served = Served(app)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


def example_app(db_url: str, **settings):
    example = load_example()
    events: list = []
    app = example.make_app({"db_url": db_url, "unknown_chargebox": "accept", **settings},
                           on_event=events.append)
    return example, app, events


def test_public_names_are_listed_and_light():
    assert set(central_api.__all__) >= {
        "create_app", "CentralSystem", "Authorizer", "Authorization", "AuthorizationRequest",
        "Event", "EVENT_KINDS", "OcppError", "NotSupported", "ProtocolError", "SecurityError",
        "InternalError", "Context"}
    for name in central_api.__all__:
        assert getattr(central_api, name) is not None
    with pytest.raises(AttributeError):
        central_api.Domain  # noqa: B018  (private by module)


@pytest.mark.parametrize("version", VERSIONS)
def test_dict_authorizer_blocks_a_tag_for_every_operation(db_url, serve, version):
    """The dict says Blocked, the tag table says Accepted: the dict wins for Authorize, Start
    and Stop, on the fast path (a plain box) and on the ORM path (a box with a secret)."""
    _, app, _ = example_app(db_url)
    served = serve(app)
    admin = app.central.admin
    admin.add_tag("STOLEN01", status="Accepted")  # the table would let it charge
    admin.add_tag("04E8C2A1", status="Blocked")  # and would refuse this one
    admin.add_chargebox("SECURED", auth_secret="box-password")
    boxes = [Box(served.url, version, "PLAIN-" + version.replace(".", "")),
             Box(served.url, version, "SECURED", auth=("SECURED", "box-password"))]
    for box in boxes:
        assert box.boot() == "Accepted"
        for _ in range(2):  # the first message may take the general path, the second not
            assert box.authorize("STOLEN01") == "Blocked"
            assert box.authorize("stolen01") == "Blocked"
            assert box.authorize("04E8C2A1") == "Accepted"
            assert box.authorize("NOBODY") == "Invalid"
        tx, status = box.start("STOLEN01")
        assert status == "Blocked"
        assert box.stop(tx, "STOLEN01") == "Blocked"
        assert box.stop(tx, "STOLEN01") == "Blocked"  # a repeated stop: the general path
        tx, status = box.start("04E8C2A1", connector=2)
        assert status == "Accepted"
        assert box.stop(tx, "04E8C2A1") == "Accepted"
    # what the box was told is what is stored
    started = {(t.charge_box_id, t.id_tag, t.start_status) for t in rows(db_url, Transaction)}
    assert started == {(b.client.charge_box_id, tag, status) for b in boxes
                       for tag, status in (("STOLEN01", "Blocked"), ("04E8C2A1", "Accepted"))}


def test_an_authorizer_that_fails_answers_invalid_and_a_subclass_is_asked(db_url, serve):
    """A crashing authorizer costs the tag (Invalid), not the reply; a subclass of the tag
    table that overrides ``authorize`` is asked for Start and Stop too (the issue's trap)."""
    class Broken:
        def authorize(self, request):
            raise RuntimeError("tag service down")

    class NoNightCharging(TagTableAuthorizer):
        def authorize(self, request):
            answer = super().authorize(request)
            return Authorization("Blocked") if request.id_tag == "NIGHT" else answer

    app = create_app({"db_url": db_url, "unknown_chargebox": "accept"}, authorizer=Broken())
    served = serve(app)
    box = Box(served.url, "1.6", "CB-1")
    box.boot()
    assert box.authorize("ANY") == "Invalid"
    app.authorizer = NoNightCharging(app.central.store)
    app.central.admin.add_tag("NIGHT")
    app.central.admin.add_tag("DAY")
    assert box.authorize("NIGHT") == "Blocked"
    tx, status = box.start("NIGHT")
    assert status == "Blocked"
    assert box.stop(tx, "NIGHT") == "Blocked"
    for _ in range(2):  # the fast path too: the table's read does not end its transaction
        assert box.authorize("DAY") == "Accepted"
    tx, status = box.start("DAY", connector=2)
    assert (status, box.stop(tx, "DAY")) == ("Accepted", "Accepted")
    seen = [b.last_seen_at for b in rows(db_url, ChargeBox)]
    assert box.authorize("DAY") == "Accepted"
    assert [b.last_seen_at for b in rows(db_url, ChargeBox)] > seen  # its write was kept
    with pytest.raises(TypeError):
        app.authorizer = object()
    with pytest.raises(ValueError):
        Authorization("Maybe")


@pytest.mark.parametrize("version", VERSIONS)
def test_data_transfer_handler_answers_a_vendor(tmp_path, serve, version):
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    _, app, _ = example_app(db)
    served = serve(app)
    box = Box(served.url, version, "CB-DT")
    box.boot()
    reply = box.call("DataTransfer", {"vendorId": "com.example.meter", "messageId": "Hello",
                                      "data": "42"})
    assert reply == {"status": "Accepted", "data": "hello CB-DT, you said 42"}
    assert box.call("DataTransfer", {"vendorId": "com.example.meter",
                                     "messageId": "Other"}) == {"status": "UnknownMessageId"}
    assert box.call("DataTransfer", {"vendorId": "org.other"}) == {"status": "UnknownVendorId"}
    stored = rows(db, DataTransfer)
    assert [(r.vendor_id, r.status, r.reply_data) for r in stored] == [
        ("com.example.meter", "Accepted", "hello CB-DT, you said 42"),
        ("com.example.meter", "UnknownMessageId", None),
        ("org.other", "UnknownVendorId", None)]
    # a replaced handler still runs behind the box checks: an unknown box is refused
    app.settings.unknown_chargebox = "reject"
    with pytest.raises(RemoteFault) as fault:
        Box(served.url, version, "STRANGER").call("DataTransfer", {"vendorId": "x"})
    assert fault.value.fault.subcode == "SecurityError"
    assert len(rows(db, DataTransfer)) == 3


def test_handlers_raise_ocpp_errors_and_after_hooks_see_the_reply(tmp_path, serve):
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    seen: list = []
    app = create_app({"db_url": db, "unknown_chargebox": "accept"})

    @app.on("Heartbeat")
    def no_heartbeats(context):
        raise NotSupported(f"{context.charge_box_id} should not beat")

    @app.after("StartTransaction")
    def started(context, id_tag, connector_id, meter_start):
        seen.append((context.charge_box_id, context.version, id_tag, connector_id, meter_start,
                     context.reply["id_tag_info"]["status"], context.reply["transaction_id"]))

    app.central.admin.add_tag("T1")
    served = serve(app)
    box = Box(served.url, "1.5", "CB-H")
    box.boot()
    with pytest.raises(RemoteFault) as fault:
        box.call("Heartbeat", {})
    assert (fault.value.fault.subcode, fault.value.fault.reason) == (
        "NotSupported", "CB-H should not beat")
    tx, _ = box.start("T1", connector=3, meter=7)
    assert wait_until(lambda: seen) == [("CB-H", "1.5", "T1", 3, 7, "Accepted", tx)]
    with pytest.raises(ValueError, match="cannot be replaced"):
        app.on("BootNotification")(lambda context: {})
    with pytest.raises(ValueError, match="unknown operation"):
        app.on("Reset")


def _check_signed(receiver: Receiver) -> None:
    for headers, body in receiver.posts:
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert not verify("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_webhooks_deliver_signed_in_order_and_after_the_receiver_was_down(db_url, serve):
    receiver = Receiver().start()
    try:
        _, app, events = example_app(db_url, webhooks=[{
            "url": receiver.url, "secret": SECRET, "name": "billing",
            "kinds": ["transaction.started", "transaction.stopped"]}],
            webhook_retry_min=0.2, webhook_retry_max=0.5)
        served = serve(app)
        box = Box(served.url, "1.6", "CB-W1")
        box.boot()
        tx1, _ = box.start("04E8C2A1")
        box.stop(tx1, "04E8C2A1")
        got = receiver.wait_for(2)
        assert [(b["kind"], b["data"]["transaction_id"], b["charge_box_id"]) for b in got] == [
            ("transaction.started", tx1, "CB-W1"), ("transaction.stopped", tx1, "CB-W1")]
        assert got[0]["data"]["id_tag_status"] == "Accepted"
        _check_signed(receiver)
        # callbacks get every kind, webhooks only theirs
        kinds = [e.kind for e in events if e.kind != "endpoint.changed"]
        assert kinds[:3] == ["box.booted", "transaction.started", "transaction.stopped"]
        moved = wait_until(lambda: [e for e in events if e.kind == "endpoint.changed"])
        assert moved[0].charge_box_id == "CB-W1" and moved[0].data["new_address"]
        assert moved[0].id is None  # no webhook wants it: not stored

        receiver.stop()
        other = Box(served.url, "1.5", "CB-W2")
        other.boot()
        expected = []
        for i in range(2):
            for b in (box, other):
                tx, _ = b.start("04E8C2A1", connector=4, meter=10 * i)
                b.stop(tx, "04E8C2A1")
                name = b.client.charge_box_id
                expected += [(name, "transaction.started", tx), (name, "transaction.stopped", tx)]
        # the receiver is down: the deliveries wait, retried, and the API shows it
        retried = wait_until(lambda: [d for d in served.api("/webhooks/deliveries",
                                                            state="pending").json()["items"]
                                      if d["attempts"] >= 2])
        assert retried and retried[0]["last_error"] and retried[0]["webhook"] == "billing"
        receiver.start()
        got = receiver.wait_for(2 + len(expected))
        later = [(b["charge_box_id"], b["kind"], b["data"]["transaction_id"]) for b in got[2:]]
        for name in ("CB-W1", "CB-W2"):  # in order per box
            assert [x for x in later if x[0] == name] == [x for x in expected if x[0] == name]
        assert sorted(later) == sorted(expected)  # each once
        _check_signed(receiver)
        # the last answer is settled in the outbox just after the receiver got it
        assert wait_until(lambda: served.api("/webhooks/deliveries", state="delivered",
                                             limit=100).json()["count"] == 2 + len(expected))
        assert served.api("/webhooks/deliveries", state="pending").json()["count"] == 0
        assert served.api("/webhooks/deliveries", state="maybe").status_code == 400
    finally:
        receiver.stop()


def test_a_webhook_to_an_inside_address_is_refused(tmp_path, serve):
    """The outbox calls through the address guard: the metadata service is never posted to,
    the delivery waits with the reason, and bad webhook settings are refused with a message."""
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    app = create_app({"db_url": db, "unknown_chargebox": "accept",
                      "webhooks": [{"url": "http://169.254.169.254/latest/meta-data",
                                    "secret": SECRET}],
                      "webhook_retry_min": 0.2, "webhook_retry_max": 0.2})
    served = serve(app)
    Box(served.url, "1.6", "CB-S").boot()
    refused = wait_until(lambda: [d for d in served.api("/webhooks/deliveries").json()["items"]
                                  if d["attempts"] >= 1])
    assert refused[0]["state"] == "pending"
    assert "refused" in refused[0]["last_error"]
    assert refused[0]["event"]["kind"] == "box.booted"
    for bad, words in (({"url": "http://x/\x00"}, "control"),
                       ({"url": "file:///etc/passwd"}, "http"),
                       ({"url": "http://u:p@x/"}, "credentials"),
                       ({"url": "http://x/" + "a" * 3000}, "at most"),
                       ({"url": "http://x/", "kinds": ["nope"]}, "unknown"),
                       ({"url": "http://x/", "color": "red"}, "unknown key")):
        with pytest.raises(ValueError, match=words):
            create_app({"db_url": db, "webhooks": [bad]})


def test_serve_app_bad_factory_is_a_clear_error(tmp_path):
    import subprocess

    from tests.central.test_e2e_support import OCPP_SOAP

    for spec, words in (("nomodule_xyz:make", "cannot import"), ("examples/embedding.py:nope",
                                                                 "no callable"),
                        ("justaname", "MODULE:FACTORY")):
        done = subprocess.run([str(OCPP_SOAP), "central", "serve", "--app", spec, "--db",
                               f"sqlite:///{tmp_path / 'x.db'}", "--port", "1"],
                              capture_output=True, text=True, cwd=Path(__file__).parents[2],
                              timeout=60)
        assert done.returncode == 2, (spec, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr


def test_serve_app_runs_the_example_under_gunicorn(tmp_path):
    from tests.central.test_e2e_support import GunicornCS

    with GunicornCS(tmp_path / "cs.db", "--app", "examples/embedding.py:make_app",
                    "--unknown-chargebox", "accept") as cs:
        for version in VERSIONS:
            box = Box(cs.url, version, "CB-G" + version[-1])
            assert box.boot() == "Accepted"
            assert box.authorize("STOLEN01") == "Blocked"
            tx, status = box.start("STOLEN01")
            assert status == "Blocked"
            assert box.stop(tx, "STOLEN01") == "Blocked"
            assert box.call("DataTransfer", {"vendorId": "com.example.meter",
                                             "messageId": "Hello", "data": "hi"})["data"] \
                == f"hello CB-G{version[-1]}, you said hi"
        assert rows(cs.db_url, IdTag) == []  # no tag table involved


def test_every_event_kind_reaches_callbacks_in_both_versions(tmp_path, serve):
    """Status of the charge point and of connectors, firmware, meter values and command results
    are events of the same shape whatever the version."""
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    events: list = []
    app = create_app({"db_url": db, "unknown_chargebox": "accept"}, on_event=events.append)
    served = serve(app)
    for version in VERSIONS:
        box = Box(served.url, version, "CB-EV" + version[-1])
        box.boot()
        for connector, status in ((0, "Available"), (1, "Occupied")):
            box.call("StatusNotification", {"connectorId": connector, "status": status,
                                            "errorCode": "NoError"})
        box.call("FirmwareStatusNotification", {"status": "Downloaded"})
        box.call("MeterValues", {"connectorId": 1, "meterValue": [
            {"timestamp": datetime.now(UTC), "sampledValue": [{"value": "123"}]}]})
    for version in VERSIONS:
        mine = [e for e in events if e.charge_box_id == "CB-EV" + version[-1]]
        by_kind = {e.kind: e.data for e in mine}
        assert by_kind["box.booted"]["registration_status"] == "Accepted"
        assert by_kind["box.booted"]["charge_point_vendor"] == "Example"
        assert by_kind["connector.status_changed"]["connector_id"] == 1
        assert by_kind["connector.status_changed"]["status"] == "Occupied"
        statuses = [(e.data["subject"], e.data["status"]) for e in mine
                    if e.kind == "box.status_changed"]
        assert statuses == [("charge_point", "Available"), ("firmware", "Downloaded")]
        sample = by_kind["meter.values"]["meter_value"][0]["sampled_value"][0]
        assert sample["value"] == "123"
    # a command: an unreachable box, then the same queued
    app.central.admin.set_endpoint("CB-EV6", "http://127.0.0.1:9/ocpp/ChargePointService")
    url = served.url + "/api/v1/chargeboxes/CB-EV6/operations/ClearCache"
    assert requests.post(url, json={}, timeout=30).status_code == 502
    assert requests.post(url + "?queue=true", json={}, timeout=30).status_code == 202
    expected = [("ClearCache", "unreachable"), ("ClearCache", "unreachable"),
                ("ClearCache", "queued")]

    def results() -> list[tuple[str, str]]:
        return [(e.data["operation"], e.data["outcome"]) for e in list(events)
                if e.kind == "command.result"]

    # callbacks run on the outbox's thread, after the API has answered
    deadline = time.monotonic() + 15
    while results() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert results() == expected


def test_a_handler_with_a_bad_reply_is_a_fault_not_a_crash(tmp_path, serve):
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    app = create_app({"db_url": db, "unknown_chargebox": "accept"},
                     handlers={"DataTransfer": lambda context, **payload: ["not", "a", "dict"],
                               "Heartbeat": lambda: {"current_time": "not a time"}})
    served = serve(app)
    box = Box(served.url, "1.6", "CB-BAD")
    box.boot()
    for operation, payload in (("DataTransfer", {"vendorId": "v"}), ("Heartbeat", {})):
        with pytest.raises(RemoteFault) as fault:
            box.call(operation, payload)
        assert fault.value.fault.code == "Receiver", operation
    assert box.call("StatusNotification", {"connectorId": 1, "status": "Available",
                                           "errorCode": "NoError"}) == {}


def test_the_example_runs_as_a_script(tmp_path):
    """``python examples/embedding.py PORT`` serves, as its docstring says."""
    import subprocess

    from tests.central.embedding_support import EXAMPLE
    from tests.central.test_e2e_support import wait_for_port
    from tests.conftest import free_port

    port = free_port()
    log = open(tmp_path / "example.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), str(port)], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        box = Box(f"http://127.0.0.1:{port}", "1.6", "CB-SCRIPT")
        assert box.boot() == "Accepted"
        assert box.authorize("STOLEN01") == "Blocked"
        assert box.authorize("04e8c2a1") == "Accepted"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
    assert (tmp_path / "embedding.db").exists()
    assert b"Traceback" not in (tmp_path / "example.log").read_bytes()
