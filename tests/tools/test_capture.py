"""Capture: a real server and client write every envelope, and each diffs equal to its sample."""

from __future__ import annotations

import gzip
import logging
import re
import threading
import zlib
from pathlib import Path

import pytest

from ocpp_soap.messages import service_schema
from ocpp_soap.messages.examples import example
from ocpp_soap.soap.client import OcppClient, OutgoingExchange, RemoteFault
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import EndpointOptions, Exchange, OcppEndpoint
from ocpp_soap.tools.capture import CaptureWriter, decode
from ocpp_soap.tools.commands import diff_main
from ocpp_soap.tools.envelope import read_envelope
from tests.conftest import ROOT

SAMPLES = ROOT / "samples"
NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z_(?P<box>[^_]+)_(?P<action>[A-Za-z]+)_"
                  r"(?P<direction>in|out)\.(?P<kind>req|conf|fault)\.xml$")


def _handlers(service: str) -> dict:
    def make(name):
        def handler(call, payload):
            if payload.get("vendorId") == "fail":
                raise ValueError("boom")
            return example(call.version, service, name)[1]
        return handler
    names = {op.name for v in ("1.5", "1.6") for op in service_schema(v, service).operations}
    return {name: make(name) for name in names}


def _names(directory: Path) -> list[dict[str, str]]:
    found = []
    for path in sorted(directory.iterdir()):
        match = NAME.match(path.name)
        assert match, path.name
        found.append(match.groupdict())
    return found


@pytest.mark.parametrize("service", ["CentralSystemService", "ChargePointService"])
def test_live_exchange_is_captured_on_both_sides_and_matches_the_samples(tmp_path, service):
    server_dir, client_dir = tmp_path / "server", tmp_path / "client"
    server_side, client_side = CaptureWriter(server_dir), CaptureWriter(client_dir)
    # compress_min=0: every reply large enough to be gzipped, so capture must inflate it.
    endpoint = OcppEndpoint(service, _handlers(service), options=EndpointOptions(compress_min=0),
                            on_exchange=server_side.incoming)
    operations = [(v, op.name) for v in ("1.5", "1.6") for op in service_schema(v, service).operations]
    with BackgroundServer(endpoint) as server:
        for version in ("1.5", "1.6"):
            # A box and addresses of its own: --sample ignores what a sample cannot know.
            client = OcppClient(version, service, "CB-7700", server.url + "/ocpp",
                                from_address="http://127.0.0.1:9/me", compress="gzip",
                                on_exchange=client_side.outgoing)
            for v, name in operations:
                if v == version:
                    client.call(name, example(version, service, name)[0])
    expected = 2 * len(operations)
    assert server_side.written == client_side.written == expected
    server_names, client_names = _names(server_dir), _names(client_dir)
    assert {(n["direction"], n["kind"]) for n in server_names} == {("in", "req"), ("out", "conf")}
    assert {(n["direction"], n["kind"]) for n in client_names} == {("out", "req"), ("in", "conf")}
    assert {n["box"] for n in server_names + client_names} == {"CB-7700"}
    assert {n["action"] for n in server_names} == {name for _, name in operations}
    for path in sorted(server_dir.iterdir()) + sorted(client_dir.iterdir()):
        assert path.read_bytes().lstrip().startswith(b"<?xml"), path.name  # inflated
        assert diff_main(["--sample", str(path), "--samples", str(SAMPLES), "--color", "never"]) \
            == 0, path.name
    # The request a server captured is byte for byte what the client captured sending it.
    boot = "BootNotification" if service == "CentralSystemService" else "Reset"
    received = sorted(server_dir.glob(f"*_{boot}_in.req.xml"))
    sent = sorted(client_dir.glob(f"*_{boot}_out.req.xml"))
    assert [p.read_bytes() for p in received] == [p.read_bytes() for p in sent]


def test_a_fault_reply_is_captured_as_a_fault(tmp_path):
    capture = CaptureWriter(tmp_path)
    service = "CentralSystemService"
    endpoint = OcppEndpoint(service, _handlers(service), on_exchange=capture.incoming)
    with BackgroundServer(endpoint) as server:
        client = OcppClient("1.6", service, "CB-1001", server.url, on_exchange=capture.outgoing)
        with pytest.raises(RemoteFault):
            client.call("DataTransfer", {"vendorId": "fail"})
    kinds = sorted((n["direction"], n["kind"]) for n in _names(tmp_path))
    assert kinds == [("in", "fault"), ("in", "req"), ("out", "fault"), ("out", "req")]
    fault = next(tmp_path.glob("*_in.fault.xml"))
    assert read_envelope(fault).direction == "fault"


def _exchange(request: bytes, response: bytes, box: str | None = "CB-1001") -> Exchange:
    return Exchange(charge_box_id=box, version="1.6", action="Heartbeat", message_id="urn:uuid:x",
                    request=request, response=response, status=200, elapsed_ms=1.5, peer=None)


def test_compressed_bytes_are_inflated_and_plain_bytes_kept() -> None:
    text = (SAMPLES / "ocpp16" / "Heartbeat.req.xml").read_bytes()
    assert decode(gzip.compress(text)) == text
    assert decode(zlib.compress(text)) == text
    assert decode(text) == text
    assert decode(b"\x1f\x8bnot gzip at all") == b"\x1f\x8bnot gzip at all"


def test_outgoing_gzip_request_is_written_inflated(tmp_path) -> None:
    capture = CaptureWriter(tmp_path)
    request = (SAMPLES / "ocpp16" / "Heartbeat.req.xml").read_bytes()
    reply = (SAMPLES / "ocpp16" / "Heartbeat.conf.xml").read_bytes()
    capture.outgoing(OutgoingExchange("1.6", "CentralSystemService", "Heartbeat", "http://x",
                                      "CB-1001", "urn:uuid:x", gzip.compress(request),
                                      zlib.compress(reply), 200, 3.0))
    (conf,) = tmp_path.glob("*_in.conf.xml")
    (req,) = tmp_path.glob("*_out.req.xml")
    assert (req.read_bytes(), conf.read_bytes()) == (request, reply)


def test_no_response_writes_only_the_request(tmp_path) -> None:
    capture = CaptureWriter(tmp_path)
    capture.outgoing(OutgoingExchange("1.6", "ChargePointService", "Reset", "http://x", "CB-1001",
                                      "urn:uuid:x", b"<x/>", None, None, 30000.0, "timeout"))
    assert [n["direction"] + "." + n["kind"] for n in _names(tmp_path)] == ["out.req"]


def test_hostile_box_names_stay_inside_the_folder(tmp_path) -> None:
    capture = CaptureWriter(tmp_path / "cap")
    capture.incoming(_exchange(b"<a/>", b"<b/>", box="../../etc/passwd"))
    capture.incoming(_exchange(b"<a/>", b"<b/>", box=None))
    files = sorted(p.name for p in (tmp_path / "cap").iterdir())
    assert len(files) == 4 and all("/" not in f and not f.startswith(".") for f in files)
    assert any("_etc_passwd_" in f for f in files) and any("_unknown_" in f for f in files)
    assert [p.name for p in tmp_path.iterdir()] == ["cap"]


def test_concurrent_writers_lose_nothing(tmp_path) -> None:
    capture = CaptureWriter(tmp_path)
    threads = [threading.Thread(target=lambda: [capture.incoming(_exchange(b"<a/>", b"<b/>"))
                                                for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert capture.written == len(list(tmp_path.iterdir())) == 8 * 25 * 2


def test_errors_are_logged_not_raised(tmp_path, caplog) -> None:
    capture = CaptureWriter(tmp_path / "cap")
    (tmp_path / "cap").rmdir()
    (tmp_path / "cap").write_text("now a file")  # every write fails
    with caplog.at_level(logging.ERROR, logger="ocpp_soap.capture"):
        capture.incoming(_exchange(b"<a/>", b"<b/>"))
        capture(OutgoingExchange("1.6", "CentralSystemService", "Heartbeat", "http://x",
                                 "CB-1001", "urn:uuid:x", b"<a/>", b"<b/>", 200, 1.0))
    assert capture.written == 0
    assert [r.message for r in caplog.records] == [
        "capture: cannot write the envelopes of an incoming exchange",
        "capture: cannot write the envelopes of an outgoing exchange",
    ]

