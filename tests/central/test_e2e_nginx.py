"""The shipped nginx site file (``deploy/nginx/ocpp-soap.conf``) with Debian's nginx in front of
``ocpp-soap central serve``: TLS terminated, the charger's address in X-Forwarded-For (what the
charger sent there is not believed), and slow-loris connections held by nginx, not by the two
sync workers, so no charger waits behind them."""

from __future__ import annotations

import socket
import ssl
import threading

import requests

from ocpp_soap.soap.client import OcppClient
from tests.central.nginx_support import Nginx
from tests.central.test_e2e_support import GunicornCS
from tests.central.tls_support import CA
from tests.central.trust_support import Recorder


def test_nginx_terminates_tls_and_sets_forwarded_for(tmp_path):
    ca = CA(tmp_path / "pki")
    server = ca.issue("cs-server", server=True)
    with Recorder() as upstream, Nginx(tmp_path / "nginx", upstream.server.port,
                                       server.cert, server.key) as nginx:
        r = requests.post(nginx.url + "/ocpp/CentralSystemService", data=b"<x/>",
                          headers={"X-Forwarded-For": "6.6.6.6"}, verify=str(ca.path),
                          timeout=10)
        assert r.status_code == 200
        seen = upstream.seen[-1]
        assert seen["headers"]["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"  # overwritten
        assert seen["headers"]["HTTP_X_FORWARDED_PROTO"] == "https"
        assert seen["body"] == b"<x/>"
        # only the Central System's paths are passed on
        assert requests.get(nginx.url + "/etc/passwd", verify=str(ca.path),
                            timeout=10).status_code == 404


class SlowLoris:
    """A TLS client that sends a request a byte at a time and never finishes it."""

    def __init__(self, port: int, ca: str, headers_only: bool):
        context = ssl.create_default_context(cafile=ca)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        start = (b"POST /ocpp/CentralSystemService HTTP/1.1\r\nHost: cs\r\n"
                 b"Content-Type: application/soap+xml\r\nContent-Length: 100000\r\n")
        if not headers_only:
            self.sock.sendall(start + b"\r\n<s:Envelope")
            start = b""
        self.rest = start or b" " * 10000
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        for i in range(len(self.rest)):
            if self.stop.wait(0.5):
                return
            try:
                self.sock.sendall(self.rest[i:i + 1])
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_slow_loris_stops_no_chargers_behind_nginx(tmp_path):
    ca = CA(tmp_path / "pki")
    server = ca.issue("cs-server", server=True)
    db = tmp_path / "cs.db"
    with GunicornCS(db, "--unknown-chargebox", "accept", workers=2,
                    env={"OCPP_SOAP_TRUSTED_PROXIES": "127.0.0.1"}) as cs, \
            Nginx(tmp_path / "nginx", cs.port, server.cert, server.key) as nginx:
        loris = [SlowLoris(nginx.port, str(ca.path), headers_only=bool(i % 2)) for i in range(2)]
        try:
            session = requests.Session()
            session.verify = str(ca.path)
            session.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would win
            chargers = [OcppClient("1.6", "CentralSystemService", f"CB{i}",
                                   nginx.url + "/ocpp/CentralSystemService", timeout=10,
                                   session=session) for i in range(2)]
            for cp in chargers:
                cp.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
            answered = 0
            for _ in range(20):
                for cp in chargers:
                    assert "currentTime" in cp.call("Heartbeat", {})
                    answered += 1
            assert answered == 40
        finally:
            for one in loris:
                one.close()
