"""Helpers for the trust tests (no tests here): hand-made CP→CS messages and recording peers.

- ``send``: one CP→CS message whose WS-A From, Basic auth and extra HTTP headers are exactly
  what the test says (a forged message is just such a message);
- ``Recorder``: an HTTP server on 127.0.0.1 that notes every request and answers what it is told
  (a "charge point" that redirects, or an attacker's listener that must stay silent).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import requests
from lxml import etree

from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.versions import SOAP12_NS, WSA_NS

BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


@dataclass
class Reply:
    status: int
    text: str

    @property
    def fault(self) -> bool:
        return "Fault>" in self.text

    def subcode(self) -> str | None:
        doc = etree.fromstring(self.text.encode())
        return doc.findtext(f".//{{{SOAP12_NS}}}Subcode/{{{SOAP12_NS}}}Value")

    def reason(self) -> str | None:
        doc = etree.fromstring(self.text.encode())
        return doc.findtext(f".//{{{SOAP12_NS}}}Reason/{{{SOAP12_NS}}}Text")


def send(url: str, box: str, action: str, payload: dict | None = None, *,
         from_address: str | None = None, auth: tuple[str, str] | None = None,
         headers: dict | None = None, verify=None, cert=None) -> Reply:
    """POST one CP→CS message to ``url``; ``from_address`` replaces the WS-A From."""
    client = OcppClient("1.6", "CentralSystemService", box, url)
    body, _, http_headers = client.build(action, payload if payload is not None else
                                         (BOOT if action == "BootNotification" else {}))
    doc = etree.fromstring(body)
    header = doc.find(f"{{{SOAP12_NS}}}Header")
    for el in header.findall(f"{{{WSA_NS}}}From"):
        header.remove(el)
    if from_address is not None:
        el = etree.SubElement(header, f"{{{WSA_NS}}}From")
        etree.SubElement(el, f"{{{WSA_NS}}}Address").text = from_address
    kwargs = {}
    if verify is not None:
        kwargs["verify"] = verify
    if cert is not None:
        kwargs["cert"] = cert
    r = requests.post(url, data=etree.tostring(doc), headers={**http_headers, **(headers or {})},
                      auth=auth, timeout=15, **kwargs)
    return Reply(r.status_code, r.text)


@dataclass
class Recorder:
    """An HTTP server that records requests and answers ``status`` with ``headers``."""

    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    seen: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server = BackgroundServer(self).start()
        self.url = self.server.url + "/ocpp/ChargePointService"

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length else b""
        with self._lock:
            self.seen.append({"path": environ.get("PATH_INFO"), "body": data,
                              "headers": {k: v for k, v in environ.items()
                                          if k.startswith("HTTP_")}})
        start_response(self.status, [*self.headers, ("Content-Length", str(len(self.body)))])
        return [self.body]

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
