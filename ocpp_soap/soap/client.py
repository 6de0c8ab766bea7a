"""zeep clients for both services and versions, with the OCPP-S headers zeep does not send itself.

A zeep ``Client`` parses its WSDL and schema once; building one per call would cost milliseconds, so
one client per (version, service) is built from the project's ``wsdl/`` and kept for the process
(``clients_built`` counts them, and a test proves it stays at one per WSDL).

zeep writes the body, ``chargeBoxIdentity`` (the WSDL part ``ChargeBoxIdentity``) and, because the
WSDL's port type has ``wsaw:Action``, the Action, MessageID and To headers. We add From (our own
endpoint) and ReplyTo (anonymous), post the envelope ourselves (gzip or deflate when asked, a
timeout, ``Content-Type: application/soap+xml; charset=utf-8; action="/Op"``), and read the reply:
a SOAP fault becomes ``RemoteFault``, a good reply a dict in the domain's shape.
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
import zeep
from lxml import etree
from requests.adapters import HTTPAdapter
from zeep.helpers import serialize_object

from ocpp_soap import paths
from ocpp_soap.messages import adapters
from ocpp_soap.messages.catalog import service_schema
from ocpp_soap.messages.schema import Complex, Field, TextWithAttributes
from ocpp_soap.soap.addressing import _endpoint
from ocpp_soap.soap.convert import utc
from ocpp_soap.soap.faults import OcppFault, parse_fault
from ocpp_soap.soap.versions import SOAP12_NS, WSA_ANONYMOUS, WSA_NS

DEFAULT_TIMEOUT = 30.0
USER_AGENT = "ocpp-soap"

_lock = threading.Lock()
_clients: dict[tuple[str, str], zeep.Client] = {}
clients_built = 0


class RemoteFault(Exception):
    """The peer answered with a SOAP fault."""

    def __init__(self, fault: OcppFault, status: int):
        super().__init__(str(fault))
        self.fault = fault
        self.status = status


class CallTimeout(TimeoutError):
    """The peer did not answer within the timeout."""


class Unreachable(ConnectionError):
    """The peer's address could not be reached."""


class CertificateProblem(Unreachable):
    """TLS failed: the peer's certificate is not trusted, or ours was refused."""


class BadReply(Exception):
    """The peer answered something that is not a usable SOAP reply."""


def zeep_client(version: str, service: str) -> zeep.Client:
    """The process-wide zeep client for (version, service), built on first use."""
    global clients_built
    key = (version, service)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                settings = zeep.Settings(strict=False, xml_huge_tree=False, forbid_dtd=True,
                                         forbid_entities=True, forbid_external=True)
                client = zeep.Client(str(paths.wsdl_path(version, service)), settings=settings)
                _clients[key] = client
                clients_built += 1
    return client


@dataclass
class OutgoingExchange:
    """One call as it went over the wire, for logs and capture."""

    version: str
    service: str
    operation: str
    endpoint: str
    charge_box_id: str
    message_id: str
    request: bytes
    response: bytes | None
    status: int | None
    elapsed_ms: float
    error: str | None = None


def _session() -> requests.Session:
    s = requests.Session()
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=64, max_retries=0)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    s.headers["Accept-Encoding"] = "gzip, deflate"
    return s


class OcppClient:
    """Calls one service of one version on behalf of one charge box.

    The Central System makes one per box and version (the service it calls is the
    ChargePointService); a charge point makes one for the CentralSystemService.
    """

    def __init__(
        self,
        version: str,
        service: str,
        charge_box_id: str,
        endpoint: str,
        from_address: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        compress: str | None = None,
        session: requests.Session | None = None,
        on_exchange: Callable[[OutgoingExchange], None] | None = None,
        auth: tuple[str, str] | None = None,
    ):
        if compress not in (None, "gzip", "deflate"):
            raise ValueError("compress must be None, 'gzip' or 'deflate'")
        self.version = version
        self.service = service
        self.schema = service_schema(version, service)
        self.charge_box_id = charge_box_id
        self.endpoint = endpoint
        self.from_address = from_address
        self.timeout = timeout
        self.compress = compress
        self.session = session or _session()
        self.on_exchange = on_exchange
        self.auth = auth
        self.client = zeep_client(version, service)
        self.binding = self.client.service._binding

    def build(self, operation: str, payload: dict[str, Any]) -> tuple[bytes, str, dict[str, str]]:
        """The request envelope (bytes), its MessageID and the HTTP headers."""
        op = self.schema.operation(operation)
        wire = adapters.from_neutral(self.version, operation, adapters.REQUEST, payload or {})
        kwargs = to_zeep(wire, op.request)
        kwargs["_soapheaders"] = {"ChargeBoxIdentity": self.charge_box_id}
        envelope, http_headers = self.binding._create(
            operation, (), kwargs, client=self.client, options={"address": self.endpoint}
        )
        header = envelope.find(f"{{{SOAP12_NS}}}Header")
        message_id = header.findtext(f"{{{WSA_NS}}}MessageID")
        for el in header:
            if el.tag in (f"{{{WSA_NS}}}Action", f"{{{WSA_NS}}}To"):
                el.set(f"{{{SOAP12_NS}}}mustUnderstand", "true")
        if self.from_address:
            _endpoint(header, "From", self.from_address)
        _endpoint(header, "ReplyTo", WSA_ANONYMOUS)
        body = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{op.action}"'}
        return body, message_id, headers

    def call(self, operation: str, payload: dict[str, Any] | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Send ``operation`` with ``payload`` (domain shape); return the reply (domain shape)."""
        body, message_id, headers = self.build(operation, payload or {})
        data = body
        if self.compress == "gzip":
            data, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        elif self.compress == "deflate":
            data, headers["Content-Encoding"] = zlib.compress(body), "deflate"
        started = time.perf_counter()
        response = None
        error = None
        try:
            try:
                # Redirects are never followed: a "charge point" could send us anywhere.
                response = self.session.post(self.endpoint, data=data, headers=headers,
                                             timeout=timeout or self.timeout, auth=self.auth,
                                             allow_redirects=False)
            except requests.Timeout as exc:
                error = f"timeout after {timeout or self.timeout:g} s"
                raise CallTimeout(f"{operation} to {self.endpoint}: {error}") from exc
            except requests.exceptions.SSLError as exc:
                error = f"TLS certificate problem: {_reason(exc)}"
                raise CertificateProblem(f"{operation} to {self.endpoint}: {error}") from exc
            except requests.ConnectionError as exc:
                if _tls_failure(exc):  # TLS 1.3: a refused client certificate shows late
                    error = f"TLS certificate problem: {_reason(exc)}"
                    raise CertificateProblem(f"{operation} to {self.endpoint}: {error}") from exc
                error = f"unreachable: {exc}"
                refused = _refused(exc)
                raise Unreachable(f"{operation} to {self.endpoint}: "
                                  f"{refused or 'cannot connect'}") from exc
            try:
                return self._read_reply(operation, message_id, response)
            except (RemoteFault, BadReply) as exc:
                error = str(exc)
                raise
        finally:
            if self.on_exchange is not None:
                self.on_exchange(OutgoingExchange(
                    self.version, self.service, operation, self.endpoint, self.charge_box_id,
                    message_id, body, response.content if response is not None else None,
                    response.status_code if response is not None else None,
                    (time.perf_counter() - started) * 1000, error))

    def _read_reply(self, operation: str, message_id: str, response) -> dict[str, Any]:
        op = self.schema.operation(operation)
        content = response.content
        ctype = response.headers.get("Content-Type", "")
        if 300 <= response.status_code < 400:
            raise BadReply(f"{operation}: HTTP {response.status_code} redirect to "
                           f"{response.headers.get('Location', '(none)')!r} not followed")
        if "xml" not in ctype:
            raise BadReply(f"{operation}: HTTP {response.status_code} with Content-Type "
                           f"{ctype or '(none)'}, not a SOAP reply")
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                              no_network=True, load_dtd=False))
        except etree.XMLSyntaxError as exc:
            raise BadReply(f"{operation}: malformed XML reply: {exc}") from None
        fault = root.find(f"{{{SOAP12_NS}}}Body/{{{SOAP12_NS}}}Fault")
        if fault is not None:
            raise RemoteFault(parse_fault(fault), response.status_code)
        if response.status_code != 200:
            raise BadReply(f"{operation}: HTTP {response.status_code} without a SOAP fault")
        try:
            result = self.binding.process_reply(self.client, self.binding.get(operation), response)
        except zeep.exceptions.Error as exc:
            raise BadReply(f"{operation}: unreadable reply: {exc}") from None
        data = from_zeep(result, op.response)
        return adapters.to_neutral(self.version, operation, adapters.RESPONSE, data)


def _reason(exc: BaseException) -> str:
    """The innermost message of a requests/urllib3 error chain (the SSL library's words)."""
    text = str(exc)
    for marker in ("SSLError(", "SSLCertVerificationError("):
        if marker in text:
            text = text.split(marker, 1)[1].rstrip(")")
    return text[:300]


def _tls_failure(exc: BaseException) -> bool:
    """Whether a connection error is really a TLS failure (a certificate refused by the peer,
    or not trusted by us) that requests did not classify as such (urllib3 wraps it)."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            break
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return "SSLError(" in repr(exc) or "SSLError(" in str(exc)


def _refused(exc: BaseException) -> str | None:
    """The guard's message when the connected peer was refused (see central.cphttp)."""
    text = str(exc)
    marker = "refused address: "
    if marker not in text:
        return None
    return "refused address: " + text.split(marker, 1)[1].split("'")[0].split('"')[0].rstrip(")")


# -- zeep value conversion (declaration-driven) --------------------------------------------------

def to_zeep(data: dict[str, Any], t: Complex) -> dict[str, Any]:
    """Domain dict → zeep keyword arguments (text-with-attributes becomes ``_value_1``)."""
    out: dict[str, Any] = {}
    for f in t.fields:
        if f.name not in data or data[f.name] is None:
            continue
        value = data[f.name]
        if f.repeated:
            value = value if isinstance(value, list | tuple) else [value]
            out[f.name] = [_value_to_zeep(f, v) for v in value]
        else:
            out[f.name] = _value_to_zeep(f, value)
    return out


def _value_to_zeep(f: Field, value: Any) -> Any:
    if isinstance(f.type, Complex):
        return to_zeep(value, f.type)
    if isinstance(f.type, TextWithAttributes):
        item = {k: v for k, v in value.items() if k != "value"}
        item["_value_1"] = str(value.get("value"))
        return item
    if isinstance(value, datetime):
        return utc(value).replace(microsecond=0)
    if isinstance(value, float):
        return Decimal(str(value)) if _base_name(f) == "decimal" else value
    return value


def _base_name(f: Field) -> str | None:
    t = f.type
    return getattr(getattr(t, "base", None), "name", None) or getattr(t, "name", None)


def from_zeep(result: Any, t: Complex) -> dict[str, Any]:
    """A zeep reply → dict; zeep unwraps one-field replies and returns None for empty ones."""
    if result is None:
        return {}
    obj = serialize_object(result, dict)
    if len(t.fields) == 1 and not (isinstance(obj, dict) and t.fields[0].name in obj):
        obj = {t.fields[0].name: obj}
    return _clean(obj, t)


def _clean(obj: dict[str, Any], t: Complex) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in t.fields:
        value = obj.get(f.name)
        if value is None or value == []:
            continue
        if f.repeated:
            out[f.name] = [_clean_value(f, v) for v in value]
        else:
            out[f.name] = _clean_value(f, value)
    return out


def _clean_value(f: Field, value: Any) -> Any:
    if isinstance(f.type, Complex):
        return _clean(value, f.type)
    if isinstance(f.type, TextWithAttributes):
        item = {k: v for k, v in value.items() if k != "_value_1" and v is not None}
        item["value"] = value.get("_value_1")
        return item
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, Decimal):
        return float(value)
    return value
