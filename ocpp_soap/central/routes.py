"""The JSON API's route table: every path, method, handler, parameter, body and answer, once.

``api`` builds its werkzeug ``Map`` from ``ROUTES`` (``url_map``) and checks request bodies
against ``BODIES``; ``openapi`` builds the document's ``paths`` from the same rows; the API tests
take their list of routes from here. A path is written in its OpenAPI form (``/idtags/{idTag}``)
and turned into a werkzeug rule (``/idtags/<idTag>``), so the two cannot drift apart.

Paths, methods and query parameters are a contract with operators: change a row only on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map, Rule

from ocpp_soap.soap.versions import VERSIONS

from .admin import REGISTRATION_STATUSES
from .closing import STOP_REASONS
from .commands import PENDING_STATES
from .idtags import STORED_STATUSES
from .outbox import DELIVERY_STATES
from .trust import EVENT_KINDS

PREFIX = "/api/v1"
#: The body of a CS→CP command: the OCPP request of the operation named in the path, checked
#: by the message declarations (``messages.payload``) that the document's schemas come from too.
OCPP_REQUEST = "ocpp-request"

_TEMPLATE = re.compile(r"{(\w+)}")


def ref(name: str) -> dict[str, str]:
    """A ``$ref`` to one of the document's component schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null (OpenAPI 3.0 spelling)."""
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def json_reply(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An OpenAPI response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def list_of(name: str) -> dict[str, Any]:
    """The ``{"items": [...], "count": n}`` answer of every listing."""
    return {"type": "object", "required": ["items", "count"],
            "properties": {"items": {"type": "array", "items": ref(name)},
                           "count": {"type": "integer"}}}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def path_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


def shared(name: str) -> dict[str, str]:
    """A ``$ref`` to one of ``PARAMETERS``."""
    return {"$ref": f"#/components/parameters/{name}"}


STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
#: An address we will call: http(s) only (the address guard checks the rest).
HTTP_URL = "^https?://"
#: An identifier: at least one character that is not white space.
NOT_BLANK = r"\S"
_URL = {"type": "string", "format": "uri", "pattern": HTTP_URL}
_ID = {"type": "string", "minLength": 1, "pattern": NOT_BLANK}

#: Query and path parameters several routes share (the document's ``components/parameters``).
PARAMETERS: dict[str, dict[str, Any]] = {
    "chargebox": query("chargebox", STR, "Only this charge box"),
    "since": query("since", TIME, "From this time on (inclusive), ISO 8601"),
    "until": query("until", TIME, "Before this time (exclusive), ISO 8601"),
    "limit": query("limit", {"type": "integer", "minimum": 1, "maximum": 10000},
                   "At most this many rows"),
    "offset": query("offset", {"type": "integer", "minimum": 0, "default": 0},
                    "Skip this many rows"),
    "boxId": path_param("id", STR, "chargeBoxIdentity"),
    "idTag": path_param("idTag", STR, "The id tag"),
}

# --------------------------------------------------------------------- request bodies we own

#: Bodies of our own resources (OpenAPI 3.0 schemas): the document's component schemas of the
#: same names, and what ``api`` checks each incoming body against (``jsonbody``).
BODIES: dict[str, dict[str, Any]] = {
    "ChargeBoxCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["charge_box_id"],
        "properties": {
            "charge_box_id": {**_ID, "description": "chargeBoxIdentity"},
            "registration_status": {"type": "string", "enum": list(REGISTRATION_STATUSES),
                                    "default": "Accepted"},
            "description": nullable(STR),
            "endpoint": nullable({**_URL, "description": "Operator-set SOAP address (wins over"
                                                         " learning)"}),
            "auth_secret": nullable({**STR, "description": "HTTP Basic password the box must"
                                                           " send (stored hashed)"}),
            "ocpp_version": nullable({"type": "string", "enum": list(VERSIONS),
                                      "description": "Needed only to command a box that has"
                                                     " not talked to us yet"}),
            "allow_from": nullable({**STR, "description": "Source networks the box may talk"
                                                          " from (CIDRs, comma separated)"}),
            "cert_fingerprint": nullable({**STR, "description": "SHA-256 fingerprint of the"
                                                                " box's TLS client certificate"}),
        },
    },
    "ChargeBoxUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "registration_status": {"type": "string", "enum": list(REGISTRATION_STATUSES)},
            "description": nullable(STR),
            "auth_secret": nullable({**STR, "description": "null clears the secret"}),
            "ocpp_version": {"type": "string", "enum": list(VERSIONS)},
            "allow_from": nullable({**STR, "description": "CIDRs, comma separated; null"
                                                          " clears the pin"}),
            "cert_fingerprint": nullable({**STR, "description": "null clears it"}),
        },
    },
    "EndpointOverride": {
        "type": "object",
        "additionalProperties": False,
        "required": ["address"],
        "properties": {"address": _URL},
    },
    "IdTagCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id_tag"],
        "properties": {
            "id_tag": _ID,
            "status": {"type": "string", "enum": list(STORED_STATUSES), "default": "Accepted"},
            "expiry_date": nullable(TIME),
            "parent_id_tag": nullable(STR),
            "max_active_transactions": nullable({"type": "integer", "minimum": 0,
                                                 "description": "null: no limit; absent: the"
                                                                " configured default"}),
            "note": nullable(STR),
        },
    },
    "TransactionClose": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "meter_stop": nullable({"type": "integer", "minimum": 0,
                                    "description": "Wh; default: the last energy reading"
                                                   " known, else the start value"}),
            "reason": nullable({"type": "string", "enum": list(STOP_REASONS),
                                "default": "Other"}),
            "note": nullable({**STR, "description": "Why (kept with the transaction)"}),
        },
    },
    "IdTagUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": list(STORED_STATUSES)},
            "expiry_date": nullable(TIME),
            "parent_id_tag": nullable(STR),
            "max_active_transactions": nullable({"type": "integer", "minimum": 0}),
            "note": nullable(STR),
        },
    },
}


# --------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Route:
    """One method on one path of the API.

    ``endpoint`` names the handler (``ApiApp.on_<endpoint>``), which gets the path's values in
    the order they appear in ``path``, then the checked ``body`` when the route has one of
    ``BODIES``. ``errors`` lists the error statuses beyond the ones every route can answer.
    """

    method: str
    path: str
    endpoint: str
    operation_id: str
    tag: str
    summary: str
    responses: dict[str, Any]
    params: tuple[dict[str, Any], ...] = ()
    #: A name in ``BODIES``, ``OCPP_REQUEST``, or None for a route without a body.
    body: str | None = None
    #: Whether an empty body is refused (400) rather than taken as ``{}``.
    body_required: bool = True
    errors: tuple[str, ...] = ()
    #: Answered without the API token (the document itself holds no data).
    public: bool = False

    @property
    def path_names(self) -> tuple[str, ...]:
        """The path's template names, in order (``("id", "operation")``)."""
        return tuple(_TEMPLATE.findall(self.path))

    @property
    def rule(self) -> str:
        """The path as a werkzeug rule (``/idtags/<idTag>``), relative to ``PREFIX``."""
        return _TEMPLATE.sub(r"<\1>", self.path)


_NO_CONTENT = {"204": {"description": "Done"}}
_BOX = (shared("boxId"),)
_TAG = (shared("idTag"),)
_WINDOW = (shared("chargebox"), shared("since"), shared("until"), shared("limit"),
           shared("offset"))
_TX = (path_param("id", {"type": "integer"}, "transactionId"),)
_PENDING_FILTERS = (
    query("state", {"type": "string", "enum": list(PENDING_STATES)},
          "Only this state (queued → sending → sent | failed | expired); default: queued and"
          " sending"),
    query("include_taken", {"type": "boolean", "default": False}, "Every state"),
)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", "openapi", "getOpenApi", "meta", "This document",
          {"200": json_reply({"type": "object"}, "The OpenAPI document")}, public=True),
    # -- charge boxes
    Route("GET", "/chargeboxes", "list_boxes", "listChargeBoxes", "chargeboxes",
          "List charge boxes", {"200": json_reply(list_of("ChargeBox"), "Charge boxes")},
          params=(query("registration_status",
                        {"type": "string", "enum": list(REGISTRATION_STATUSES)},
                        "Only boxes with this registration status"),)),
    Route("POST", "/chargeboxes", "add_box", "addChargeBox", "chargeboxes",
          "Register a charge box", {"201": json_reply(ref("ChargeBox"), "Registered")},
          body="ChargeBoxCreate", errors=("409", "413", "422")),
    Route("GET", "/chargeboxes/{id}", "get_box", "getChargeBox", "chargeboxes",
          "A charge box with its connectors",
          {"200": json_reply(ref("ChargeBoxDetail"), "The box")}, params=_BOX, errors=("404",)),
    Route("PATCH", "/chargeboxes/{id}", "update_box", "updateChargeBox", "chargeboxes",
          "Change registration, description, Basic-auth secret or OCPP version",
          {"200": json_reply(ref("ChargeBox"), "Updated")}, params=_BOX,
          body="ChargeBoxUpdate", errors=("404", "413", "422")),
    Route("DELETE", "/chargeboxes/{id}", "remove_box", "removeChargeBox", "chargeboxes",
          "Forget a box (its history stays)", _NO_CONTENT, params=_BOX, errors=("404",)),
    Route("PUT", "/chargeboxes/{id}/endpoint", "set_endpoint", "setEndpoint", "chargeboxes",
          "Set the box's SOAP address by hand (wins over learning)",
          {"200": json_reply(ref("ChargeBox"), "Updated")}, params=_BOX,
          body="EndpointOverride", errors=("404", "413", "422")),
    Route("DELETE", "/chargeboxes/{id}/endpoint", "clear_endpoint", "clearEndpoint",
          "chargeboxes", "Drop the manual address: back to the learned one",
          {"200": json_reply(ref("ChargeBox"), "Updated")}, params=_BOX, errors=("404",)),
    Route("GET", "/chargeboxes/{id}/events", "box_events", "listBoxEvents", "chargeboxes",
          "The box's trust events, newest first: address changes (old, new, source IP,"
          " message), refused addresses, failed authentications, rate limits",
          {"200": json_reply(list_of("BoxEvent"), "Events")},
          params=(*_BOX, query("kind", {"type": "string", "enum": list(EVENT_KINDS)},
                               "Only events of this kind"),
                  shared("since"), shared("until"), shared("limit"), shared("offset"))),
    Route("GET", "/chargeboxes/{id}/connectors", "box_connectors", "listBoxConnectors",
          "chargeboxes", "The box's connector status",
          {"200": json_reply(list_of("ConnectorStatus"), "Connectors")}, params=_BOX,
          errors=("404",)),
    Route("GET", "/chargeboxes/{id}/pending", "box_pending", "listBoxPending", "commands",
          "The box's queued commands",
          {"200": json_reply(list_of("PendingCommand"), "Queued commands")},
          params=(*_BOX, *_PENDING_FILTERS), errors=("400", "404")),
    # -- id tags
    Route("GET", "/idtags", "list_tags", "listIdTags", "idtags", "List id tags",
          {"200": json_reply(list_of("IdTag"), "Id tags")},
          params=(query("status", {"type": "string", "enum": list(STORED_STATUSES)},
                        "Only tags with this status"),)),
    Route("POST", "/idtags", "add_tag", "addIdTag", "idtags", "Add an id tag",
          {"201": json_reply(ref("IdTag"), "Added")}, body="IdTagCreate",
          errors=("409", "413", "422")),
    Route("GET", "/idtags/{idTag}", "get_tag", "getIdTag", "idtags", "An id tag",
          {"200": json_reply(ref("IdTag"), "The tag")}, params=_TAG, errors=("404",)),
    Route("PATCH", "/idtags/{idTag}", "update_tag", "updateIdTag", "idtags",
          "Change an id tag (status Blocked blocks it)",
          {"200": json_reply(ref("IdTag"), "Updated")}, params=_TAG, body="IdTagUpdate",
          errors=("404", "413", "422")),
    Route("DELETE", "/idtags/{idTag}", "remove_tag", "removeIdTag", "idtags", "Remove an id tag",
          _NO_CONTENT, params=_TAG, errors=("404",)),
    Route("POST", "/idtags/{idTag}/block", "block_tag", "blockIdTag", "idtags",
          "Block an id tag", {"200": json_reply(ref("IdTag"), "Blocked")}, params=_TAG,
          errors=("404",)),
    Route("POST", "/idtags/{idTag}/unblock", "unblock_tag", "unblockIdTag", "idtags",
          "Unblock an id tag (status Accepted)",
          {"200": json_reply(ref("IdTag"), "Accepted again")}, params=_TAG, errors=("404",)),
    # -- history
    Route("GET", "/transactions", "list_transactions", "listTransactions", "history",
          "Transactions, newest first",
          {"200": json_reply(list_of("Transaction"), "Transactions")},
          params=(*_WINDOW, query("idTag", STR, "Only transactions of this id tag"),
                  query("active", {"type": "boolean"}, "true: still running; false: stopped"))),
    Route("GET", "/transactions/{id}", "get_transaction", "getTransaction", "history",
          "A transaction", {"200": json_reply(ref("Transaction"), "The transaction")},
          params=_TX, errors=("404",)),
    Route("POST", "/transactions/{id}/close", "close_transaction", "closeTransaction", "history",
          "Close a transaction its box never stopped (who and when recorded)",
          {"200": json_reply(ref("Transaction"), "Closed")}, params=_TX,
          body="TransactionClose", body_required=False, errors=("404", "409", "413", "422")),
    Route("GET", "/metervalues", "list_meter_values", "listMeterValues", "history",
          "Meter samples in time order", {"200": json_reply(list_of("MeterSample"), "Samples")},
          params=(*_WINDOW, query("transaction", {"type": "integer"}, "Only this transaction"),
                  query("connector", {"type": "integer"}, "Only this connector"))),
    Route("GET", "/connectors", "connectors", "listConnectors", "history",
          "Latest status of every connector",
          {"200": json_reply(list_of("ConnectorStatus"), "Connectors")},
          params=(shared("chargebox"),)),
    # -- logs
    Route("GET", "/messages", "messages", "listMessages", "logs",
          "The raw SOAP envelope log, newest first",
          {"200": json_reply(list_of("EnvelopeLogEntry"), "Envelopes")},
          params=(*_WINDOW, query("action", STR, "Only this action"),
                  query("direction", {"type": "string", "enum": ["in", "out"]},
                        "Only this direction"),
                  query("envelope", {"type": "boolean", "default": True},
                        "false: leave the envelopes' text out"))),
    Route("GET", "/commands", "commands", "listCommands", "logs", "The command log, newest first",
          {"200": json_reply(list_of("CommandLogEntry"), "Commands")},
          params=(*_WINDOW, query("operation", STR, "Only this operation"),
                  query("outcome", {"type": "string",
                                    "enum": ["reply", "fault", "timeout", "error"]},
                        "Only this outcome"))),
    # -- commands
    Route("GET", "/pending", "list_pending", "listPending", "commands",
          "Commands waiting for their box to talk to us",
          {"200": json_reply(list_of("PendingCommand"), "Queued commands")},
          params=(shared("chargebox"), *_PENDING_FILTERS), errors=("400",)),
    Route("DELETE", "/pending/{id}", "cancel_pending", "cancelPending", "commands",
          "Cancel a queued command", _NO_CONTENT,
          params=(path_param("id", {"type": "integer"}, "Queue entry id"),), errors=("404",)),
    # -- events
    Route("GET", "/webhooks/deliveries", "webhook_deliveries", "listWebhookDeliveries", "events",
          "The webhook outbox: each event's delivery to each webhook, newest first",
          {"200": json_reply(list_of("WebhookDelivery"), "Deliveries")},
          params=(shared("chargebox"), shared("limit"), shared("offset"),
                  query("webhook", STR, "Only this webhook (its name)"),
                  query("state", {"type": "string", "enum": list(DELIVERY_STATES)},
                        "Only deliveries in this state")),
          errors=("400",)),
    # One rule for the API, one documented path per CS→CP operation (``openapi`` expands
    # ``{operation}``, ``operationId`` and ``summary`` with each operation's name).
    Route("POST", "/chargeboxes/{id}/operations/{operation}", "call", "call{operation}",
          "commands", "Send {operation} to the charge box",
          {"202": json_reply(ref("Queued"), "The box could not be reached; the command waits for"
                                            " its next message (only with queue=true)")},
          params=(*_BOX, query("queue", {"type": "boolean", "default": False},
                               "Queue the command when the box cannot be reached now"),
                  query("expiresAt", TIME, "With queue=true: drop the queued command unsent"
                                           " after this time (default 24 h)")),
          body=OCPP_REQUEST, body_required=False,
          errors=("404", "409", "413", "422", "502", "504")),
)

#: The one route whose ``{operation}`` the document expands into a path per operation.
OPERATION_ROUTE = next(r for r in ROUTES if r.body == OCPP_REQUEST)
BY_ENDPOINT: dict[str, Route] = {r.endpoint: r for r in ROUTES}


def url_map(routes: tuple[Route, ...] = ROUTES) -> Map:
    """The werkzeug rules of ``routes``, matched against the path below ``PREFIX``."""
    return Map([Rule(r.rule, endpoint=r.endpoint, methods=[r.method]) for r in routes],
               strict_slashes=False)
