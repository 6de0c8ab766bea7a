"""One Spyne application per (version, service), its methods built from a handler table.

Spyne dispatches on the body element; everything before that (safe parsing, header rules, version
routing, lenient repairs) has already been done by ``server.OcppEndpoint``, which hands the parsed
envelope over in the WSGI environ. The protocol subclass below takes it from there, writes OCPP-S
faults (namespaced subcode, HTTP 400 for Sender) and adds the WS-Addressing reply headers to
every answer, faults included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lxml import etree
from spyne import Application, ServiceBase, rpc
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap12
from spyne.server.wsgi import WsgiApplication

from ocpp_soap.messages import adapters
from ocpp_soap.messages.schema import Operation
from ocpp_soap.soap import convert
from ocpp_soap.soap.addressing import FAULT_ACTION, add_identity, add_reply_headers
from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.faults import InternalError, NotSupported, OcppFault, fault_element
from ocpp_soap.soap.spyne_models import models
from ocpp_soap.soap.versions import SOAP12_NS
from ocpp_soap.soap.xmlmap import element_to_dict
from ocpp_soap.soap.xmlout import LeanReply, Unsupported, write_complex

log = logging.getLogger("ocpp_soap.wire")
# Spyne logs every client fault with a traceback at ERROR; our own log line says it better.
logging.getLogger("spyne.application.server").setLevel(logging.CRITICAL)
logging.getLogger("spyne.application").setLevel(logging.CRITICAL)
logging.getLogger("spyne.server.wsgi").setLevel(logging.CRITICAL)
# Several endpoints (and tests) build applications for the same namespace; that is intended.
logging.getLogger("spyne.util.appreg").setLevel(logging.ERROR)

Handler = Callable[[CallContext, dict], dict]
ErrorTranslator = Callable[[BaseException], OcppFault | None]

ENV_ENVELOPE = "ocpp_soap.envelope"
ENV_CALL = "ocpp_soap.call"
ENV_REPLY_FROM = "ocpp_soap.reply_from"


class OcppSoap12(Soap12):
    """Soap12 reading a pre-parsed envelope and writing OCPP-S faults and WS-A reply headers."""

    def __init__(self, ocpp_ns: str, model_set: Any = None, **kwargs: Any):
        super().__init__(cleanup_namespaces=True, **kwargs)
        self.ocpp_ns = ocpp_ns
        self.model_set = model_set
        #: Write successful replies with ``xmlout`` (same bytes, without Spyne's object
        #: mapping); False makes Spyne write them all (the byte-equality test compares both).
        self.lean = True

    def create_in_document(self, ctx, charset=None):
        incoming = ctx.transport.req_env.get(ENV_ENVELOPE)
        if incoming is None:
            raise InternalError("request reached Spyne without passing the OCPP-S front")
        ctx.in_document = incoming.root

    def decompose_incoming_envelope(self, ctx, message=Soap12.REQUEST):
        incoming = ctx.transport.req_env[ENV_ENVELOPE]
        ctx.in_header_doc = None
        ctx.in_body_doc = incoming.body
        ctx.method_request_string = incoming.body.tag

    def deserialize(self, ctx, message):
        """Hand the method the body element itself (see ``xmlmap``): it was checked against the
        schema already, and reading it into a dict directly is several times cheaper than
        Spyne's object mapping."""
        self.event_manager.fire_event("before_deserialize", ctx)
        ctx.in_header = None
        # Spyne wraps a bare method's input in a list itself (and drops it for empty ones).
        ctx.in_object = ctx.in_body_doc
        self.event_manager.fire_event("after_deserialize", ctx)

    def fault_to_parent(self, ctx, cls, inst, parent, ns, **_):
        # Written for real in serialize(): Spyne's namespace clean-up would strip the prefixes
        # that the Code and Subcode values use in their text.
        return None

    def fault_to_http_response_code(self, fault):
        if isinstance(fault, OcppFault) and fault.http_status == 400:
            return "400 Bad Request"
        return "500 Internal Server Error"

    def serialize(self, ctx, message):
        if not self._serialize_lean(ctx):
            out = ctx.out_object[0] if ctx.out_error is None and ctx.out_object else None
            if isinstance(out, LeanReply):
                ctx.out_object = [convert.from_dict(out.data, out.type, self.model_set)]
            super().serialize(ctx, message)
        env = ctx.transport.req_env
        incoming = env.get(ENV_ENVELOPE)
        call: CallContext | None = env.get(ENV_CALL)
        doc = ctx.out_document
        header = doc.find(f"{{{SOAP12_NS}}}Header")
        if header is None:
            header = etree.Element(f"{{{SOAP12_NS}}}Header")
            doc.insert(0, header)
        if call is not None:
            add_identity(header, self.ocpp_ns, call.charge_box_id)
        if ctx.out_error is not None:
            fault = ctx.out_error
            if not isinstance(fault, OcppFault):
                fault = InternalError(fault.faultstring or "internal error")
            body = doc.find(f"{{{SOAP12_NS}}}Body")
            for child in list(body):
                body.remove(child)
            fault_element(fault, self.ocpp_ns, body)
            action = FAULT_ACTION
        else:
            action = incoming.operation.response_action if incoming else FAULT_ACTION
        add_reply_headers(header, action, incoming.message_id if incoming else None,
                          env.get(ENV_REPLY_FROM))

    def _serialize_lean(self, ctx) -> bool:
        """Write a successful reply's envelope and body ourselves; False when Spyne must.

        The serialize events fire only once the document is written, so a reply the writer
        declines reaches Spyne's own ``serialize`` (and its events) exactly once."""
        if not self.lean or ctx.out_error is not None or not ctx.out_object:
            return False
        reply = ctx.out_object[0]
        if not isinstance(reply, LeanReply):
            return False
        doc = etree.Element(f"{{{SOAP12_NS}}}Envelope",
                            nsmap={"soap12env": SOAP12_NS, "tns": self.ocpp_ns})
        body = etree.SubElement(doc, f"{{{SOAP12_NS}}}Body")
        message = ctx.descriptor.out_message
        try:
            write_complex(body, f"{{{self.ocpp_ns}}}{message.Attributes.sub_name}",
                          self.ocpp_ns, reply.data, reply.type)
        except Unsupported:
            return False
        self.event_manager.fire_event("before_serialize", ctx)
        ctx.out_document, ctx.out_body_doc = doc, body
        self.event_manager.fire_event("after_serialize", ctx)
        return True


def _translate(exc: BaseException, translator: ErrorTranslator | None) -> OcppFault:
    if isinstance(exc, OcppFault):
        return exc
    if translator is not None:
        fault = translator(exc)
        if fault is not None:
            return fault
    if isinstance(exc, NotImplementedError):
        return NotSupported(str(exc) or "operation not supported by this receiver")
    log.exception("handler failed")
    return InternalError(f"internal error while handling the request ({type(exc).__name__})")


def build_application(version: str, service: str, handlers: dict[str, Handler],
                      translator: ErrorTranslator | None = None) -> WsgiApplication:
    """A Spyne WSGI application serving ``service`` of ``version`` with ``handlers``.

    An operation without a handler answers Receiver/NotSupported.
    """
    ms = models(version, service)

    def make_method(op: Operation):
        request_cls, response_cls = ms.requests[op.name], ms.responses[op.name]

        def dispatch(ctx, request) -> Any:
            call: CallContext = ctx.transport.req_env[ENV_CALL]
            handler = handlers.get(op.name)
            if handler is None:
                raise NotSupported(f"{op.name} is not supported by this receiver")
            body = element_to_dict(request, op.request) if request is not None else {}
            payload = adapters.to_neutral(version, op.name, adapters.REQUEST, body)
            try:
                result = handler(call, payload)
            except Fault:
                raise
            except Exception as exc:  # every failure leaves as a SOAP fault
                raise _translate(exc, translator) from exc
            wire = adapters.from_neutral(version, op.name, adapters.RESPONSE, result or {})
            return LeanReply(wire, op.response)

        options = dict(
            _body_style="bare",
            _returns=response_cls,
            _in_message_name=op.request_element,
            _out_message_name=op.response_element,
            _operation_name=op.name,
        )
        if request_cls._type_info:
            def method(ctx, request):
                return dispatch(ctx, request)
            method.__name__ = op.name
            return rpc(request_cls, **options)(method)

        def empty_method(ctx):
            return dispatch(ctx, None)
        empty_method.__name__ = op.name
        return rpc(**options)(empty_method)

    methods = {op.name: make_method(op) for op in ms.schema.operations}
    service_cls = type(f"{service}_{version.replace('.', '')}", (ServiceBase,), methods)
    app = Application(
        [service_cls],
        tns=ms.ns,
        name=service,
        in_protocol=OcppSoap12(ms.ns, ms, validator=None),
        out_protocol=OcppSoap12(ms.ns, ms),
    )
    return WsgiApplication(app, max_content_length=64 * 1024 * 1024)
