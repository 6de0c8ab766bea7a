"""Chargers that close late do not hold the Central System's workers (``central/workers.py``).

``ocpp-soap central serve`` with 2 sync workers on a SQLite file. Two clients keep each
connection open for 1 s after their reply (as a charger one slow cellular round trip away would);
a prompt client meanwhile must be answered as if they were not there. With gunicorn's own close
(26 and later) each of its requests would wait for a worker to give up on a late client.
A request followed by bytes the server never reads still gets its whole reply (the graceful close
is kept for that case), and so does the socket-level check of ``close_promptly``.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ocpp_soap.central.workers import close_promptly
from ocpp_soap.messages.examples import example
from ocpp_soap.soap.client import OcppClient
from tests.central.test_e2e_support import GunicornCS

PATH = "/ocpp/1.6/CentralSystemService"
HOLD = 1.0  # seconds a late client keeps its connection after the reply


def _request(port: int, box: str) -> bytes:
    """A Heartbeat of ``box`` as raw HTTP, after the box has booted (and so is known)."""
    client = OcppClient("1.6", "CentralSystemService", box, f"http://127.0.0.1:{port}{PATH}",
                        from_address="http://127.0.0.1:9/ocpp")
    client.call("BootNotification", example("1.6", "CentralSystemService", "BootNotification")[0])
    body = client.build("Heartbeat", {})[0]
    return (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/soap+xml; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _exchange(port: int, request: bytes, hold: float = 0.0, extra: bytes = b"") -> bytes:
    """Send ``request`` (+ ``extra``), read the reply to its end, keep the socket ``hold`` s."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request + extra)
        data = b""
        while not data.rstrip().endswith(b"Envelope>"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        time.sleep(hold)
    return data


@pytest.fixture
def cs(tmp_path):
    server = GunicornCS(tmp_path / "cs.db", "--unknown-chargebox", "accept")
    yield server
    assert server.stop() == 0, server.log()[-3000:]


def test_late_closing_clients_do_not_hold_workers(cs):
    late_request, prompt_request = _request(cs.port, "LATE"), _request(cs.port, "PROMPT")
    assert b"200 OK" in _exchange(cs.port, prompt_request)  # both workers warm
    assert b"200 OK" in _exchange(cs.port, prompt_request)
    stop = time.monotonic() + 3 * HOLD
    late_replies: list[bytes] = []

    def late_client():
        while time.monotonic() < stop:
            late_replies.append(_exchange(cs.port, late_request, hold=HOLD))

    lates = [threading.Thread(target=late_client) for _ in range(2)]  # as many as workers
    for t in lates:
        t.start()
    time.sleep(0.2)  # both late clients hold a connection now
    waits = []
    while time.monotonic() < stop - 0.2:
        t0 = time.monotonic()
        reply = _exchange(cs.port, prompt_request)
        waits.append(time.monotonic() - t0)
        assert b"200 OK" in reply and b"heartbeatResponse" in reply
    for t in lates:
        t.join()
    assert all(b"200 OK" in r for r in late_replies) and len(late_replies) >= 4
    # Every prompt request was answered well inside one hold (a held worker would take ~HOLD).
    assert len(waits) >= 20 and max(waits) < HOLD / 2, (len(waits), max(waits))


def test_unread_bytes_after_a_request_still_get_the_whole_reply(cs):
    extra = b"<!-- bytes beyond Content-Length that nobody reads -->" * 200
    reply = _exchange(cs.port, _request(cs.port, "EXTRA"), extra=extra)
    assert reply.startswith(b"HTTP/1.1 200 OK") and reply.rstrip().endswith(b"Envelope>")


def test_close_promptly_closes_at_once_when_nothing_is_pending():
    server, client = socket.socketpair()
    with client:
        t0 = time.monotonic()
        close_promptly(server)
        assert time.monotonic() - t0 < 0.5
        assert server.fileno() == -1
        client.settimeout(2)
        assert client.recv(10) == b""  # the peer sees the close without closing itself


def test_close_promptly_drains_pending_bytes_gracefully():
    server, client = socket.socketpair()
    with client:
        client.sendall(b"x" * 1000)  # unread request bytes
        closer = threading.Thread(target=close_promptly, args=(server, 2.0))
        closer.start()
        client.settimeout(2)
        assert client.recv(10) == b""  # half-closed: the peer's reply side has ended
        client.close()  # the client goes away; the drain ends
        closer.join(3)
        assert not closer.is_alive() and server.fileno() == -1
