"""Helpers for the embedding tests (no tests here): the example, a webhook receiver, a box.

- ``load_example``: ``examples/embedding.py`` imported from its file, as a user would run it;
- ``Receiver``: a small HTTP server that records what webhooks post, stoppable and restartable
  on the same port (a receiver that was down for a while);
- ``Box``: a charge box talking SOAP to a running Central System in one OCPP version.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.versions import CENTRAL
from tests.conftest import ROOT, free_port

EXAMPLE = ROOT / "examples" / "embedding.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embedding_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Receiver:
    """Records each POST (headers, body); answers ``status``."""

    def __init__(self, status: int = 200):
        self.port = free_port()
        self.status = status
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ocpp"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.posts.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.posts]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.posts) >= count:
                break
            time.sleep(0.05)
        return self.bodies()


class Box:
    """A charge box of one OCPP version."""

    def __init__(self, base_url: str, version: str, box_id: str,
                 auth: tuple[str, str] | None = None):
        self.version = version
        self.client = OcppClient(version, CENTRAL, box_id,
                                 f"{base_url}/ocpp/{version}/CentralSystemService", auth=auth)

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.client.call(operation, payload)

    def boot(self) -> str:
        return self.call("BootNotification", {"chargePointVendor": "Example",
                                              "chargePointModel": "E1"})["status"]

    def authorize(self, tag: str) -> str:
        return self.call("Authorize", {"idTag": tag})["idTagInfo"]["status"]

    def start(self, tag: str, connector: int = 1, meter: int = 0) -> tuple[int, str]:
        reply = self.call("StartTransaction", {"connectorId": connector, "idTag": tag,
                                               "meterStart": meter,
                                               "timestamp": datetime.now(UTC)})
        return reply["transactionId"], reply["idTagInfo"]["status"]

    def stop(self, transaction_id: int, tag: str | None, meter: int = 100) -> str | None:
        payload: dict[str, Any] = {"transactionId": transaction_id, "meterStop": meter,
                                   "timestamp": datetime.now(UTC)}
        if tag is not None:
            payload["idTag"] = tag
        reply = self.call("StopTransaction", payload)
        return (reply.get("idTagInfo") or {}).get("status")
