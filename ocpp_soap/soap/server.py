"""The HTTP front of an OCPP-S service: guards, version routing, then Spyne.

Path of one request: method and size checks → Content-Encoding (gzip/deflate, with a cap on the
inflated size) → Content-Type → safe parse → envelope structure → body namespace picks the version
→ header rules → schema check (strict) or repair (lenient) → the Spyne application of that version
→ reply, compressed when the client asked for it. Any failure becomes an OCPP-S SOAP 1.2 fault, and
the endpoint keeps serving.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO

from lxml import etree

from ocpp_soap.soap import wsdlgen
from ocpp_soap.soap.addressing import FAULT_ACTION, add_identity, add_reply_headers
from ocpp_soap.soap.bodycheck import check_body
from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.envelope import (
    IncomingEnvelope,
    check_headers,
    decompose,
    parse_xml,
    salvage_message_id,
)
from ocpp_soap.soap.faults import OcppFault, ProtocolError, fault_element
from ocpp_soap.soap.logsafe import clean
from ocpp_soap.soap.spyne_app import (
    ENV_CALL,
    ENV_ENVELOPE,
    ENV_REPLY_FROM,
    ErrorTranslator,
    Handler,
    build_application,
)
from ocpp_soap.soap.versions import SOAP12_NS, VERSIONS, namespace

log = logging.getLogger("ocpp_soap.wire")

DEFAULT_MAX_BODY = 1024 * 1024


@dataclass
class Exchange:
    """One request and its answer, for logs, capture and the envelope store."""

    charge_box_id: str | None
    version: str | None
    action: str | None
    message_id: str | None
    request: bytes
    response: bytes
    status: int
    elapsed_ms: float
    peer: str | None
    fault: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: What the handler saw (None when the request failed before dispatch); its ``extra`` lets
    #: the role pass facts from the handler to its exchange hook.
    call: CallContext | None = None


@dataclass
class EndpointOptions:
    """How strict and how large; shared by every endpoint of a role."""

    strict: bool = False
    max_body: int = DEFAULT_MAX_BODY
    compress_min: int = 1024
    #: The role's own public SOAP address, sent as From on replies when set.
    reply_from: str | None = None
    #: Lenient only: accept values outside their enumeration, and drop unreadable optional
    #: fields the domain does not need (see ``bodycheck``). For a role that stores values as
    #: given (the Central System), not one that acts on them.
    tolerate_values: bool = False


class OcppEndpoint:
    """A WSGI application serving one OCPP service for one or both versions.

    ``versions`` lists the versions this URL accepts; with both, the body namespace decides (one
    URL for a charger whose firmware update changed its version). With one, a body of the other
    version is refused in strict mode and served, with a warning, in lenient mode.
    """

    def __init__(
        self,
        service: str,
        handlers: dict[str, Handler],
        versions: Iterable[str] = VERSIONS,
        options: EndpointOptions | None = None,
        translator: ErrorTranslator | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        before_dispatch: Callable[[CallContext, IncomingEnvelope], None] | None = None,
        apps: dict | None = None,
    ):
        self.service = service
        self.versions = tuple(versions)
        self.options = options or EndpointOptions()
        self.on_exchange = on_exchange
        self.before_dispatch = before_dispatch
        # Endpoints of one role may share their Spyne applications (``apps``): building one
        # costs tens of milliseconds and Spyne keeps a process-wide registry of them.
        self.apps = apps or {v: build_application(v, service, handlers, translator)
                             for v in VERSIONS}
        self._wsdl = {v: wsdlgen.render_cached(v, service) for v in VERSIONS}

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        query = environ.get("QUERY_STRING", "")
        if method == "GET" and (query.lower().startswith("wsdl") or "wsdl" in query.lower().split("&")):
            return self._serve_wsdl(environ, start_response, query)
        if method != "POST":
            start_response("405 Method Not Allowed", [("Allow", "POST, GET"),
                                                      ("Content-Type", "text/plain; charset=utf-8")])
            return [b"OCPP-S endpoint: POST a SOAP 1.2 envelope, or GET ?wsdl\n"]
        return self._serve_soap(environ, start_response)

    def _serve_wsdl(self, environ, start_response, query):
        version = self.versions[-1]
        for part in query.split("&"):
            if part.startswith("version=") and part[8:] in self.versions:
                version = part[8:]
        url = _request_url(environ)
        body = self._wsdl[version].replace(
            wsdlgen.DEFAULT_LOCATION.format(service=self.service).encode(), _xml_attr(url)
        )
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    def _serve_soap(self, environ, start_response):
        started = time.perf_counter()
        peer = environ.get("REMOTE_ADDR")
        raw = b""
        incoming: IncomingEnvelope | None = None
        call: CallContext | None = None
        try:
            raw = self._read_body(environ)
            incoming = self._read_envelope(environ, raw)
            call = self._admit(environ, incoming)
        except OcppFault as fault:
            # WS-A counts a fault as a reply: it relates to the request whenever the request's
            # MessageID can be read, whatever stage refused it (OCPP-S 3.6).
            message_id = incoming.message_id if incoming else salvage_message_id(raw)
            status, headers, body = self._fault_response(fault, incoming, message_id)
            out = self._finish(environ, start_response, status, headers, body, raw, incoming,
                               call, started, peer, fault, message_id)
            return [out]
        spyne_env = dict(environ)
        spyne_env["wsgi.input"] = BytesIO(b"")
        spyne_env["CONTENT_LENGTH"] = "0"
        spyne_env["CONTENT_TYPE"] = "application/soap+xml"
        spyne_env.pop("HTTP_CONTENT_ENCODING", None)
        spyne_env[ENV_ENVELOPE] = incoming
        spyne_env[ENV_CALL] = call
        spyne_env[ENV_REPLY_FROM] = self.options.reply_from
        captured: dict = {}

        def spyne_start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        chunks = self.apps[incoming.flavour.version](spyne_env, spyne_start)
        try:
            body = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        headers = [("Content-Type", "application/soap+xml; charset=utf-8")]
        status = captured.get("status", "500 Internal Server Error")
        fault_text = None
        if not status.startswith("200"):
            fault_text = _fault_summary(body)
        return [self._finish(environ, start_response, status, headers, body, raw, incoming,
                             call, started, peer, fault_text)]

    def _finish(self, environ, start_response, status, headers, body, raw, incoming, call,
                started, peer, fault, message_id=None) -> bytes:
        """Send status and headers, report the exchange, return the (maybe compressed) body."""
        out = self._maybe_compress(environ, headers, body)
        headers.append(("Content-Length", str(len(out))))
        start_response(status, headers)
        elapsed = (time.perf_counter() - started) * 1000
        code = int(status.split()[0])
        box = call.charge_box_id if call else (incoming.charge_box_id if incoming else None)
        action = incoming.operation.name if incoming else None
        exchange = Exchange(
            charge_box_id=box,
            version=incoming.flavour.version if incoming else None,
            action=action,
            message_id=incoming.message_id if incoming else message_id,
            request=raw,
            response=body,
            status=code,
            elapsed_ms=elapsed,
            peer=peer,
            fault=str(fault) if fault else None,
            warnings=list(incoming.warnings) if incoming else [],
            call=call,
        )
        if self.on_exchange is not None:
            try:
                self.on_exchange(exchange)
            except Exception:  # logging must never break a reply
                log.exception("exchange hook failed")
        return out

    # -- request side -----------------------------------------------------------------------
    def _read_body(self, environ) -> bytes:
        cap = self.options.max_body
        length = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if length.strip():
            try:
                n = int(length)
            except ValueError:
                raise ProtocolError("invalid Content-Length") from None
            if n > cap:
                raise _TooLarge(f"request body of {n} bytes exceeds the limit of {cap} bytes")
            data = stream.read(n) if n else b""
        else:
            data = stream.read(cap + 1)
            if len(data) > cap:
                raise _TooLarge(f"request body exceeds the limit of {cap} bytes")
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding in ("", "identity"):
            return data
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise _Unsupported(f"Content-Encoding {encoding!r} is not supported (gzip, deflate)")
        return _inflate(data, encoding, cap)

    def _read_envelope(self, environ, raw: bytes) -> IncomingEnvelope:
        """Content type, safe parse and envelope structure: what the request is."""
        strict = self.options.strict
        warnings: list[str] = []
        ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if ctype != "application/soap+xml":
            if ctype == "text/xml" and not strict:
                warnings.append("Content-Type text/xml (SOAP 1.1 style); SOAP 1.2 uses "
                                "application/soap+xml")
            else:
                raise _Unsupported(f"Content-Type {ctype or '(none)'!r}: OCPP-S requires "
                                   "application/soap+xml")
        incoming = decompose(parse_xml(raw))
        incoming.warnings.extend(warnings)
        return incoming

    def _admit(self, environ, incoming: IncomingEnvelope) -> CallContext:
        """The header and body rules, then the role's own check (``before_dispatch``)."""
        strict = self.options.strict
        flavour = incoming.flavour
        if flavour.service != self.service:
            raise ProtocolError(
                f"unknown operation: <{etree.QName(incoming.body).localname}> belongs to the "
                f"{flavour.service}, this endpoint serves the {self.service}")
        if flavour.version not in self.versions:
            text = (f"OCPP {flavour.version} message on the OCPP {'/'.join(self.versions)} "
                    "endpoint")
            if strict:
                raise ProtocolError(text)
            incoming.warnings.append(text + "; served as " + flavour.version)
        check_headers(incoming, strict)
        check_body(incoming.body, flavour.version, flavour.service, incoming.operation.request,
                   strict, incoming.warnings, self.options.tolerate_values)
        user, password = _basic_auth(environ)
        call = CallContext(
            charge_box_id=incoming.charge_box_id or "",
            version=flavour.version,
            service=flavour.service,
            action=incoming.operation.name,
            message_id=incoming.message_id,
            from_address=incoming.from_address,
            reply_to=incoming.reply_to,
            to=incoming.to,
            peer=environ.get("REMOTE_ADDR"),
            url=_request_url(environ),
            http_headers=_http_headers(environ),
            basic_auth_user=user,
            basic_auth_password=password,
            warnings=incoming.warnings,
            client_cert=peer_certificate(environ),
        )
        for w in incoming.warnings:
            log.warning("%s %s: %s", clean(call.charge_box_id), call.action, clean(w, 500))
        if self.before_dispatch is not None:
            self.before_dispatch(call, incoming)
        return call

    # -- reply side ------------------------------------------------------------------------
    def _fault_response(self, fault: OcppFault, incoming: IncomingEnvelope | None,
                        message_id: str | None):
        ns = incoming.flavour.namespace if incoming else namespace(self.versions[-1], self.service)
        envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"s": SOAP12_NS})
        header = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Header")
        if incoming is not None and incoming.charge_box_id:
            add_identity(header, ns, incoming.charge_box_id)
        add_reply_headers(header, FAULT_ACTION, message_id, self.options.reply_from)
        body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
        fault_element(fault, ns, body)
        data = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        status = getattr(fault, "http_line", None) or (
            "400 Bad Request" if fault.http_status == 400 else "500 Internal Server Error")
        return status, [("Content-Type", "application/soap+xml; charset=utf-8")], data

    def _maybe_compress(self, environ, headers: list, body: bytes) -> bytes:
        accept = environ.get("HTTP_ACCEPT_ENCODING", "").lower()
        if len(body) < self.options.compress_min or not accept:
            return body
        encodings = [p.split(";")[0].strip() for p in accept.split(",")]
        if "gzip" in encodings:
            headers.append(("Content-Encoding", "gzip"))
            return gzip.compress(body, compresslevel=5)
        if "deflate" in encodings:
            headers.append(("Content-Encoding", "deflate"))
            return zlib.compress(body, 5)
        return body


class _TooLarge(ProtocolError):
    http_line = "413 Content Too Large"


class _Unsupported(ProtocolError):
    http_line = "415 Unsupported Media Type"


def _inflate(data: bytes, encoding: str, cap: int) -> bytes:
    wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(data, cap + 1)
        if len(out) > cap or d.unconsumed_tail:
            raise _TooLarge(f"inflated request body exceeds the limit of {cap} bytes")
    except zlib.error:
        if encoding == "deflate":  # some stacks send raw deflate without the zlib wrapper
            try:
                d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = d.decompress(data, cap + 1)
                if len(out) > cap or d.unconsumed_tail:
                    raise _TooLarge(f"inflated request body exceeds the limit of {cap} bytes")
                return out
            except zlib.error:
                pass
        raise ProtocolError(f"request body is not valid {encoding} data") from None
    return out


def _basic_auth(environ) -> tuple[str | None, str | None]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if not auth.lower().startswith("basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("malformed Basic Authorization header") from None
    return user, password


def peer_certificate(environ) -> dict | None:
    """The TLS client certificate the server verified (gunicorn puts its socket in the
    environ), as ``{"fingerprint": sha256 hex, "names": [CN, DNS SANs]}``; None without one."""
    sock = environ.get("gunicorn.socket")
    getpeercert = getattr(sock, "getpeercert", None)
    if getpeercert is None:
        return None
    try:
        der = getpeercert(binary_form=True)
        info = getpeercert() or {}
    except (ValueError, OSError):
        return None
    if not der:
        return None
    names = [value for rdn in info.get("subject", ()) for key, value in rdn
             if key == "commonName"]
    names += [value for key, value in info.get("subjectAltName", ()) if key == "DNS"]
    return {"fingerprint": hashlib.sha256(der).hexdigest(), "names": names}


def _http_headers(environ) -> dict[str, str]:
    """The request's HTTP headers by their usual names (a WSGI environ holds each name once)."""
    return {k[5:].replace("_", "-").title(): v for k, v in environ.items()
            if k.startswith("HTTP_")}


def _request_url(environ) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return f"{scheme}://{host}{path}"


def _xml_attr(text: str) -> bytes:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")).encode()


def _fault_summary(body: bytes) -> str | None:
    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return None
    ns = {"s": SOAP12_NS}
    sub = root.findtext(".//s:Fault/s:Code/s:Subcode/s:Value", namespaces=ns)
    reason = root.findtext(".//s:Fault/s:Reason/s:Text", namespaces=ns)
    return f"{(sub or '').split(':')[-1]}: {reason}"

