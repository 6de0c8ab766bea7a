"""Endpoint learning and pending commands, over real HTTP.

Learning (steve #58, #463, #514, #1017, #1114): From, else a non-anonymous ReplyTo, else the peer
with the configured default port and path; a wildcard From host (``http://:8082/``) is completed
with the peer; X-Forwarded-For counts only from trusted proxies; the operator's address (CLI)
wins until cleared. Pending: a command queued with ``call --queue`` while the box's endpoint is
down is sent when the box next sends a Heartbeat with From.
"""

from __future__ import annotations

import threading
import time

import requests
from lxml import etree

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage.models import CommandLog, PendingCommand
from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint
from ocpp_soap.soap.versions import SOAP12_NS, WSA_ANONYMOUS, WSA_NS
from tests.central.test_e2e_support import InProcessCS, rows
from tests.conftest import free_port

CS = "CentralSystemService"


def heartbeat(cs: InProcessCS, box: str, *, from_address=None, reply_to=None, headers=None):
    """A Heartbeat whose From/ReplyTo are exactly as given (None: header left out)."""
    client = OcppClient("1.6", CS, box, cs.soap_url())
    body, _, http_headers = client.build("Heartbeat", {})
    doc = etree.fromstring(body)
    header = doc.find(f"{{{SOAP12_NS}}}Header")
    for name in ("From", "ReplyTo"):
        for el in header.findall(f"{{{WSA_NS}}}{name}"):
            header.remove(el)
    for name, value in (("From", from_address), ("ReplyTo", reply_to)):
        if value is not None:
            el = etree.SubElement(header, f"{{{WSA_NS}}}{name}")
            etree.SubElement(el, f"{{{WSA_NS}}}Address").text = value
    r = requests.post(cs.soap_url(), data=etree.tostring(doc),
                      headers={**http_headers, **(headers or {})}, timeout=10)
    assert r.status_code == 200, r.text


def endpoint(cs: InProcessCS, box: str) -> tuple[str, str]:
    b = cs.admin.get_chargebox(box)
    return b["endpoint_address"], b["endpoint_source"]


def test_learning_rules(tmp_path, capsys):
    with InProcessCS(tmp_path / "cs.db", default_endpoint_port=8082,
                     default_endpoint_path="/cp", endpoint_change="any") as cs:
        cs.admin.add_chargebox("CB1")
        heartbeat(cs, "CB1", from_address="http://127.0.0.1:9001/ocpp/cp",
                  reply_to="http://127.0.0.1:9002/other")
        assert endpoint(cs, "CB1") == ("http://127.0.0.1:9001/ocpp/cp", "from")

        heartbeat(cs, "CB1", reply_to="http://127.0.0.1:9002/reply")
        assert endpoint(cs, "CB1") == ("http://127.0.0.1:9002/reply", "replyto")

        # A box that never states its address: the peer, with the default port and path.
        cs.admin.add_chargebox("CB2")
        heartbeat(cs, "CB2", reply_to=WSA_ANONYMOUS)
        assert endpoint(cs, "CB2") == ("http://127.0.0.1:8082/cp", "peer")
        # ... and a guess never replaces what a box stated itself.
        heartbeat(cs, "CB1", reply_to=WSA_ANONYMOUS)
        assert endpoint(cs, "CB1") == ("http://127.0.0.1:9002/reply", "replyto")

        # What real boxes send: no host at all, or a wildcard one.
        heartbeat(cs, "CB1", from_address="http://:8082/")
        assert endpoint(cs, "CB1") == ("http://127.0.0.1:8082/", "from")
        heartbeat(cs, "CB1", from_address="http://0.0.0.0:8083/ocpp")
        assert endpoint(cs, "CB1") == ("http://127.0.0.1:8083/ocpp", "from")

        # X-Forwarded-For is not trusted from an unconfigured proxy.
        cs.admin.add_chargebox("CB3")
        heartbeat(cs, "CB3", headers={"X-Forwarded-For": "203.0.113.7"})
        assert endpoint(cs, "CB3") == ("http://127.0.0.1:8082/cp", "peer")

        # The operator's address wins over every later message, until cleared.
        db = ["--db", cs.db_url]
        assert main(["chargebox", "set-endpoint", "CB1", "http://10.0.0.5:8080/ocpp", *db]) == 0
        heartbeat(cs, "CB1", from_address="http://127.0.0.1:9001/ocpp/cp")
        assert endpoint(cs, "CB1") == ("http://10.0.0.5:8080/ocpp", "manual")
        capsys.readouterr()
        assert main(["chargebox", "set-endpoint", "CB1", "--clear", *db]) == 0
        assert "http://127.0.0.1:9001/ocpp/cp, learned (from)" in capsys.readouterr().out
        assert endpoint(cs, "CB1") == ("http://127.0.0.1:9001/ocpp/cp", "from")


def test_forwarded_for_from_trusted_proxy(tmp_path):
    with InProcessCS(tmp_path / "cs.db", trusted_proxies=["127.0.0.1/32"],
                     endpoint_change="any") as cs:
        cs.admin.add_chargebox("CB1")
        heartbeat(cs, "CB1", headers={"X-Forwarded-For": "203.0.113.7"})
        assert endpoint(cs, "CB1") == ("http://203.0.113.7:8080/ocpp/ChargePointService", "peer")
        heartbeat(cs, "CB1", from_address="http://:8082/",
                  headers={"X-Forwarded-For": "203.0.113.7"})
        assert endpoint(cs, "CB1") == ("http://203.0.113.7:8082/", "from")


def test_queued_command_sent_on_heartbeat_with_from(tmp_path, capsys):
    port = free_port()
    cp_url = f"http://127.0.0.1:{port}/ocpp/ChargePointService"
    with InProcessCS(tmp_path / "cs.db", public_url="http://127.0.0.1:8180") as cs:
        cs.admin.add_chargebox("CB1")
        heartbeat(cs, "CB1", from_address=cp_url)  # learned, but nothing listens there yet
        capsys.readouterr()
        code = main(["call", "CB1", "ChangeAvailability", "connectorId=0", "type=Inoperative",
                     "--queue", "--db", cs.db_url])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert '"queued": true' in out.out and "queued as #1" in out.err
        (pending,) = rows(cs.db_url, PendingCommand)
        assert pending.operation == "ChangeAvailability" and pending.taken_at is None
        assert pending.payload == {"connectorId": 0, "type": "Inoperative"}

        got = []
        arrived = threading.Event()

        def change_availability(ctx, payload):
            got.append((ctx, payload))
            arrived.set()
            return {"status": "Accepted"}

        cp = BackgroundServer(OcppEndpoint("ChargePointService",
                                           {"ChangeAvailability": change_availability}),
                              port=port).start()
        try:
            # A Heartbeat always looks for queued commands (other messages at most once per
            # CentralApp.PENDING_REFRESH), so no waiting here.
            heartbeat(cs, "CB1", from_address=cp_url)
            assert arrived.wait(10)
        finally:
            cp.stop()
        (ctx, payload), = got
        assert payload == {"connectorId": 0, "type": "Inoperative"}
        assert ctx.charge_box_id == "CB1" and ctx.to == cp_url
        assert ctx.from_address == "http://127.0.0.1:8180/ocpp/1.6/CentralSystemService"
        for _ in range(50):  # the log row is written right after the reply
            logged = [r for r in rows(cs.db_url, CommandLog) if r.outcome == "reply"]
            if logged:
                break
            time.sleep(0.1)
        (row,) = logged
        assert row.operation == "ChangeAvailability" and row.reply == {"status": "Accepted"}
        assert row.pending_command_id == pending.id
        (pending,) = rows(cs.db_url, PendingCommand)
        assert pending.taken_at is not None
