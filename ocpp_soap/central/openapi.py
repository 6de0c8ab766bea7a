"""The OpenAPI 3 document of the operators' JSON API (``GET /api/v1/openapi.json``).

Nothing here is written twice: the resource schemas come from the storage models (the API returns
``records.to_dict`` of those rows), the OCPP request and reply schemas from the message
declarations of both versions, and the request bodies of our own resources from ``BODIES``, which
the API also checks incoming bodies against.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Integer, inspect

from ocpp_soap import __version__
from ocpp_soap.messages import adapters, service_schema
from ocpp_soap.messages.schema import Builtin, Complex, Field, Restricted, TextWithAttributes
from ocpp_soap.soap.versions import CHARGEPOINT, VERSIONS

from .admin import REGISTRATION_STATUSES
from .closing import STOP_REASONS
from .commands import PENDING_STATES
from .idtags import STORED_STATUSES
from .storage import models
from .storage.types import JSONPayload, UTCDateTime
from .trust import EVENT_KINDS

PREFIX = "/api/v1"
OPERATION_PATH = "/chargeboxes/{id}/operations/{operation}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


# --------------------------------------------------------------------- request bodies we own

_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_URL = {"type": "string", "format": "uri", "pattern": "^https?://"}

#: Bodies of our own resources, as OpenAPI schemas; ``api`` checks requests against them.
BODIES: dict[str, dict[str, Any]] = {
    "ChargeBoxCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["charge_box_id"],
        "properties": {
            "charge_box_id": {**_STR, "minLength": 1, "description": "chargeBoxIdentity"},
            "registration_status": {"type": "string", "enum": list(REGISTRATION_STATUSES),
                                    "default": "Accepted"},
            "description": _nullable(_STR),
            "endpoint": _nullable({**_URL, "description": "Operator-set SOAP address (wins over"
                                                          " learning)"}),
            "auth_secret": _nullable({**_STR, "description": "HTTP Basic password the box must"
                                                              " send (stored hashed)"}),
            "ocpp_version": _nullable({"type": "string", "enum": list(VERSIONS),
                                       "description": "Needed only to command a box that has"
                                                      " not talked to us yet"}),
            "allow_from": _nullable({**_STR, "description": "Source networks the box may talk"
                                                            " from (CIDRs, comma separated)"}),
            "cert_fingerprint": _nullable({**_STR, "description": "SHA-256 fingerprint of the"
                                                                  " box's TLS client certificate"}),
        },
    },
    "ChargeBoxUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "registration_status": {"type": "string", "enum": list(REGISTRATION_STATUSES)},
            "description": _nullable(_STR),
            "auth_secret": _nullable({**_STR, "description": "null clears the secret"}),
            "ocpp_version": {"type": "string", "enum": list(VERSIONS)},
            "allow_from": _nullable({**_STR, "description": "CIDRs, comma separated; null"
                                                            " clears the pin"}),
            "cert_fingerprint": _nullable({**_STR, "description": "null clears it"}),
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
            "id_tag": {**_STR, "minLength": 1},
            "status": {"type": "string", "enum": list(STORED_STATUSES), "default": "Accepted"},
            "expiry_date": _nullable(_TIME),
            "parent_id_tag": _nullable(_STR),
            "max_active_transactions": _nullable({"type": "integer", "minimum": 0,
                                                  "description": "null: no limit; absent: the"
                                                                 " configured default"}),
            "note": _nullable(_STR),
        },
    },
    "TransactionClose": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "meter_stop": _nullable({"type": "integer", "minimum": 0,
                                     "description": "Wh; default: the last energy reading"
                                                    " known, else the start value"}),
            "reason": _nullable({"type": "string", "enum": list(STOP_REASONS),
                                 "default": "Other"}),
            "note": _nullable({**_STR, "description": "Why (kept with the transaction)"}),
        },
    },
    "IdTagUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": list(STORED_STATUSES)},
            "expiry_date": _nullable(_TIME),
            "parent_id_tag": _nullable(_STR),
            "max_active_transactions": _nullable({"type": "integer", "minimum": 0}),
            "note": _nullable(_STR),
        },
    },
}


# --------------------------------------------------------------------- resources (from the models)

_RESOURCES = {
    "ChargeBox": models.ChargeBox,
    "ConnectorStatus": models.ConnectorStatus,
    "IdTag": models.IdTag,
    "Transaction": models.Transaction,
    "MeterSample": models.MeterSample,
    "EnvelopeLogEntry": models.EnvelopeLog,
    "CommandLogEntry": models.CommandLog,
    "PendingCommand": models.PendingCommand,
    "BoxEvent": models.BoxEvent,
}
_HIDDEN = {"auth_secret_hash"}


def _column_schema(column: Any) -> dict[str, Any]:
    t = column.type
    if isinstance(t, UTCDateTime):
        schema: dict[str, Any] = dict(_TIME)
    elif isinstance(t, JSONPayload):
        return {"description": "JSON value", "nullable": True}
    elif isinstance(t, Boolean):
        schema = {"type": "boolean"}
    elif isinstance(t, Integer | BigInteger):
        schema = {"type": "integer"}
    elif isinstance(t, Float):
        schema = {"type": "number"}
    else:
        schema = {"type": "string"}
    if column.nullable and not column.primary_key:
        schema["nullable"] = True
    return schema


def _resource_schema(model: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for attr in inspect(model).column_attrs:
        if attr.key in _HIDDEN:
            continue
        props[attr.key] = _column_schema(attr.columns[0])
    if hasattr(model, "auth_secret_hash"):
        props["has_auth_secret"] = {"type": "boolean"}
    return {"type": "object", "properties": props, "required": sorted(props)}


# --------------------------------------------------------------------- OCPP messages

def _ocpp_name(version: str, type_name: str) -> str:
    return f"ocpp{version.replace('.', '')}.{type_name}"


def _simple_schema(t: Builtin | Restricted) -> dict[str, Any]:
    base = t.base if isinstance(t, Restricted) else t
    schema: dict[str, Any] = {
        "int": {"type": "integer", "format": "int32"},
        "decimal": {"type": "number"},
        "boolean": {"type": "boolean"},
        "dateTime": dict(_TIME),
        "anyURI": {"type": "string", "format": "uri"},
    }.get(base.name, {"type": "string"})
    if isinstance(t, Restricted):
        if t.enumeration:
            schema["enum"] = list(t.enumeration)
        if t.max_length is not None:
            schema["maxLength"] = t.max_length
    return schema


def _type_schema(version: str, t: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Schema (or a ``$ref``) for a declared type; named types are added to ``out``."""
    if isinstance(t, Builtin):
        return _simple_schema(t)
    if isinstance(t, TextWithAttributes):
        props = {"value": _simple_schema(t.base)}
        for a in t.attributes:
            props[a.name] = _type_schema(version, a.type, out)
        return {"type": "object", "required": ["value"], "properties": props}
    name = _ocpp_name(version, t.name)
    if name not in out:
        if isinstance(t, Restricted):
            out[name] = _simple_schema(t)
        else:
            out[name] = {}  # placeholder against recursion
            out[name] = _complex_schema(version, t, out)
    return _ref(name)


def _field_schema(version: str, f: Field, out: dict[str, Any]) -> dict[str, Any]:
    schema = _type_schema(version, f.type, out)
    if f.repeated:
        arr: dict[str, Any] = {"type": "array", "items": schema}
        if f.min_occurs:
            arr["minItems"] = f.min_occurs
        if f.max_occurs is not None:
            arr["maxItems"] = f.max_occurs
        return arr
    return schema


def _complex_schema(version: str, t: Complex, out: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _field_schema(version, f, out) for f in t.fields},
    }
    required = [f.name for f in t.fields if f.required]
    if required:
        schema["required"] = required
    return schema


def chargepoint_operations() -> dict[str, tuple[str, ...]]:
    """Every CS→CP operation name → the versions that have it."""
    ops: dict[str, list[str]] = {}
    for v in VERSIONS:
        for op in service_schema(v, CHARGEPOINT).operations:
            ops.setdefault(op.name, []).append(v)
    return {name: tuple(vs) for name, vs in sorted(ops.items())}


def _same(out: dict[str, Any], a: str, b: str) -> bool:
    """Whether two generated schemas are equal once version prefixes are ignored."""

    def norm(name: str) -> str:
        text = json.dumps(out[name], sort_keys=True)
        for v in VERSIONS:
            text = text.replace(_ocpp_name(v, ""), "ocpp.")
        return text

    if norm(a) != norm(b):
        return False
    refs = set()
    for text in (json.dumps(out[a]), json.dumps(out[b])):
        refs.update(part.split('"')[0] for part in text.split("#/components/schemas/")[1:])
    by_type: dict[str, list[str]] = {}
    for r in refs:
        by_type.setdefault(r.split(".", 1)[1], []).append(r)
    return all(len(rs) < 2 or _same(out, rs[0], rs[1]) for rs in by_type.values())


def _add_domain_names(version: str, operation: str, t: Complex, schema: dict[str, Any]) -> None:
    """Also name a field the way the domain (the 1.6 shape) does, where the version differs:
    the API takes either (1.5 ``localAuthorisationList`` or ``localAuthorizationList``)."""
    for f in t.fields:
        (neutral,) = adapters.to_neutral(version, operation, adapters.REQUEST, {f.name: []})
        if neutral == f.name or neutral in schema["properties"]:
            continue
        schema["properties"][neutral] = {
            **copy.deepcopy(schema["properties"][f.name]),
            "description": f"The same as {f.name} (its OCPP 1.6 name); give one of the two"}
        if f.name in schema.get("required", ()):
            schema["required"].remove(f.name)
            if not schema["required"]:
                del schema["required"]
            schema.setdefault("allOf", []).append(
                {"oneOf": [{"required": [f.name]}, {"required": [neutral]}]})


def _message_schema(name: str, versions: tuple[str, ...], which: str,
                    out: dict[str, Any]) -> dict[str, Any]:
    refs = []
    for v in versions:
        op = service_schema(v, CHARGEPOINT).operation(name)
        t = op.request if which == "request" else op.response
        ref = _type_schema(v, t, out)
        if which == "request":
            _add_domain_names(v, name, t, out[ref["$ref"].rsplit("/", 1)[1]])
        refs.append((v, ref))
    if len(refs) == 1:
        return refs[0][1]
    names = [r["$ref"].rsplit("/", 1)[1] for _, r in refs]
    if _same(out, names[0], names[1]):
        return refs[-1][1]
    return {"anyOf": [r for _, r in refs],
            "description": "The shape of the box's OCPP version: "
                           + "; ".join(f"{v} → {n}" for (v, _), n in zip(refs, names, strict=True))}


# --------------------------------------------------------------------- the document

_ERRORS = {
    "400": ("BadRequest", "Malformed JSON, or a query parameter of the wrong type"),
    "401": ("Unauthorized", "Missing or wrong bearer token"),
    "403": ("Forbidden", "No API token is configured and the server does not listen on"
                         " loopback, or (without a token) a foreign Host or Origin"),
    "415": ("UnsupportedMediaType", "A request body that is not application/json"),
    "404": ("NotFound", "Unknown charge box, id tag, record, path or operation"),
    "405": ("MethodNotAllowed", "The path does not take this method"),
    "409": ("Conflict", "Exists already, or the box is not Accepted / has no endpoint known"),
    "413": ("TooLarge", "Request body too large"),
    "422": ("Unprocessable", "A body field is missing, unknown, invalid or longer than it can be"
                             " stored (see `field`)"),
    "502": ("BadGateway", "The charge box answered a SOAP fault or garbage, or cannot be reached"),
    "504": ("GatewayTimeout", "The charge box did not answer in time"),
    "503": ("StorageOutage", "The database cannot be reached now (storage outage); try again"
                             " after Retry-After seconds"),
}


def _errors(*codes: str) -> dict[str, Any]:
    codes = ("400", "401", "403", "405", "503", *codes)
    if "413" in codes:  # every operation with a body
        codes = (*codes, "415")
    return {c: {"$ref": f"#/components/responses/{_ERRORS[c][0]}"} for c in sorted(set(codes))}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "count"],
            "properties": {"items": {"type": "array", "items": _ref(name)},
                           "count": {"type": "integer"}}}


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _p(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


_PARAMS = {
    "chargebox": _q("chargebox", _STR, "Only this charge box"),
    "since": _q("since", _TIME, "From this time on (inclusive), ISO 8601"),
    "until": _q("until", _TIME, "Before this time (exclusive), ISO 8601"),
    "limit": _q("limit", {"type": "integer", "minimum": 1, "maximum": 10000},
                "At most this many rows"),
    "offset": _q("offset", {"type": "integer", "minimum": 0, "default": 0}, "Skip this many rows"),
    "boxId": _p("id", _STR, "chargeBoxIdentity"),
    "idTag": _p("idTag", _STR, "The id tag"),
}


def _pref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _op(op_id: str, tag: str, summary: str, responses: dict[str, Any], *,
        params: list[Any] | None = None, body: str | dict[str, Any] | None = None,
        errors: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id, "tags": [tag], "summary": summary}
    if params:
        out["parameters"] = params
    if body is not None:
        schema = _ref(body) if isinstance(body, str) else body
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    out["responses"] = {**responses, **_errors(*errors)}
    return out


_NO_CONTENT = {"204": {"description": "Done"}}


def _paths(ocpp: dict[str, Any]) -> dict[str, Any]:
    box = [_pref("boxId")]
    pending_filters = [
        _q("state", {"type": "string", "enum": list(PENDING_STATES)},
           "Only this state (queued → sending → sent | failed | expired); default: queued and"
           " sending"),
        _q("include_taken", {"type": "boolean", "default": False}, "Every state"),
    ]
    tag = [_pref("idTag")]
    window = [_pref("chargebox"), _pref("since"), _pref("until"), _pref("limit"), _pref("offset")]
    paths: dict[str, Any] = {
        "/openapi.json": {"get": {
            "operationId": "getOpenApi", "tags": ["meta"], "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document")}}},
        "/chargeboxes": {
            "get": _op("listChargeBoxes", "chargeboxes", "List charge boxes",
                       {"200": _json(_list_of("ChargeBox"), "Charge boxes")},
                       params=[_q("registration_status",
                                  {"type": "string", "enum": list(REGISTRATION_STATUSES)},
                                  "Only boxes with this registration status")]),
            "post": _op("addChargeBox", "chargeboxes", "Register a charge box",
                        {"201": _json(_ref("ChargeBox"), "Registered")}, body="ChargeBoxCreate",
                        errors=("409", "413", "422")),
        },
        "/chargeboxes/{id}": {
            "get": _op("getChargeBox", "chargeboxes", "A charge box with its connectors",
                       {"200": _json(_ref("ChargeBoxDetail"), "The box")}, params=box,
                       errors=("404",)),
            "patch": _op("updateChargeBox", "chargeboxes",
                         "Change registration, description, Basic-auth secret or OCPP version",
                         {"200": _json(_ref("ChargeBox"), "Updated")}, params=box,
                         body="ChargeBoxUpdate", errors=("404", "413", "422")),
            "delete": _op("removeChargeBox", "chargeboxes",
                          "Forget a box (its history stays)", _NO_CONTENT, params=box,
                          errors=("404",)),
        },
        "/chargeboxes/{id}/endpoint": {
            "put": _op("setEndpoint", "chargeboxes",
                       "Set the box's SOAP address by hand (wins over learning)",
                       {"200": _json(_ref("ChargeBox"), "Updated")}, params=box,
                       body="EndpointOverride", errors=("404", "413", "422")),
            "delete": _op("clearEndpoint", "chargeboxes",
                          "Drop the manual address: back to the learned one",
                          {"200": _json(_ref("ChargeBox"), "Updated")}, params=box,
                          errors=("404",)),
        },
        "/chargeboxes/{id}/events": {
            "get": _op("listBoxEvents", "chargeboxes",
                       "The box's trust events, newest first: address changes (old, new, source"
                       " IP, message), refused addresses, failed authentications, rate limits",
                       {"200": _json(_list_of("BoxEvent"), "Events")},
                       params=[*box, _q("kind", {"type": "string", "enum": list(EVENT_KINDS)},
                                        "Only events of this kind"),
                               _pref("since"), _pref("until"), _pref("limit"),
                               _pref("offset")]),
        },
        "/chargeboxes/{id}/connectors": {
            "get": _op("listBoxConnectors", "chargeboxes", "The box's connector status",
                       {"200": _json(_list_of("ConnectorStatus"), "Connectors")}, params=box,
                       errors=("404",)),
        },
        "/chargeboxes/{id}/pending": {
            "get": _op("listBoxPending", "commands", "The box's queued commands",
                       {"200": _json(_list_of("PendingCommand"), "Queued commands")},
                       params=[*box, *pending_filters], errors=("400", "404")),
        },
        "/idtags": {
            "get": _op("listIdTags", "idtags", "List id tags",
                       {"200": _json(_list_of("IdTag"), "Id tags")},
                       params=[_q("status", {"type": "string", "enum": list(STORED_STATUSES)},
                                  "Only tags with this status")]),
            "post": _op("addIdTag", "idtags", "Add an id tag",
                        {"201": _json(_ref("IdTag"), "Added")}, body="IdTagCreate",
                        errors=("409", "413", "422")),
        },
        "/idtags/{idTag}": {
            "get": _op("getIdTag", "idtags", "An id tag", {"200": _json(_ref("IdTag"), "The tag")},
                       params=tag, errors=("404",)),
            "patch": _op("updateIdTag", "idtags", "Change an id tag (status Blocked blocks it)",
                         {"200": _json(_ref("IdTag"), "Updated")}, params=tag, body="IdTagUpdate",
                         errors=("404", "413", "422")),
            "delete": _op("removeIdTag", "idtags", "Remove an id tag", _NO_CONTENT, params=tag,
                          errors=("404",)),
        },
        "/idtags/{idTag}/block": {
            "post": _op("blockIdTag", "idtags", "Block an id tag",
                        {"200": _json(_ref("IdTag"), "Blocked")}, params=tag, errors=("404",)),
        },
        "/idtags/{idTag}/unblock": {
            "post": _op("unblockIdTag", "idtags", "Unblock an id tag (status Accepted)",
                        {"200": _json(_ref("IdTag"), "Accepted again")}, params=tag,
                        errors=("404",)),
        },
        "/transactions": {
            "get": _op("listTransactions", "history", "Transactions, newest first",
                       {"200": _json(_list_of("Transaction"), "Transactions")},
                       params=[*window,
                               _q("idTag", _STR, "Only transactions of this id tag"),
                               _q("active", {"type": "boolean"},
                                  "true: still running; false: stopped")]),
        },
        "/transactions/{id}": {
            "get": _op("getTransaction", "history", "A transaction",
                       {"200": _json(_ref("Transaction"), "The transaction")},
                       params=[_p("id", {"type": "integer"}, "transactionId")], errors=("404",)),
        },
        "/transactions/{id}/close": {
            "post": _op("closeTransaction", "history",
                        "Close a transaction its box never stopped (who and when recorded)",
                        {"200": _json(_ref("Transaction"), "Closed")},
                        params=[_p("id", {"type": "integer"}, "transactionId")],
                        body="TransactionClose", errors=("404", "409", "413", "422")),
        },
        "/metervalues": {
            "get": _op("listMeterValues", "history", "Meter samples in time order",
                       {"200": _json(_list_of("MeterSample"), "Samples")},
                       params=[*window,
                               _q("transaction", {"type": "integer"}, "Only this transaction"),
                               _q("connector", {"type": "integer"}, "Only this connector")]),
        },
        "/connectors": {
            "get": _op("listConnectors", "history", "Latest status of every connector",
                       {"200": _json(_list_of("ConnectorStatus"), "Connectors")},
                       params=[_pref("chargebox")]),
        },
        "/messages": {
            "get": _op("listMessages", "logs", "The raw SOAP envelope log, newest first",
                       {"200": _json(_list_of("EnvelopeLogEntry"), "Envelopes")},
                       params=[*window,
                               _q("action", _STR, "Only this action"),
                               _q("direction", {"type": "string", "enum": ["in", "out"]},
                                  "Only this direction"),
                               _q("envelope", {"type": "boolean", "default": True},
                                  "false: leave the envelopes' text out")]),
        },
        "/commands": {
            "get": _op("listCommands", "logs", "The command log, newest first",
                       {"200": _json(_list_of("CommandLogEntry"), "Commands")},
                       params=[*window,
                               _q("operation", _STR, "Only this operation"),
                               _q("outcome", {"type": "string",
                                              "enum": ["reply", "fault", "timeout", "error"]},
                                  "Only this outcome")]),
        },
        "/pending": {
            "get": _op("listPending", "commands", "Commands waiting for their box to talk to us",
                       {"200": _json(_list_of("PendingCommand"), "Queued commands")},
                       params=[_pref("chargebox"), *pending_filters], errors=("400",)),
        },
        "/pending/{id}": {
            "delete": _op("cancelPending", "commands", "Cancel a queued command", _NO_CONTENT,
                          params=[_p("id", {"type": "integer"}, "Queue entry id")],
                          errors=("404",)),
        },
    }
    for name, versions in chargepoint_operations().items():
        request = _message_schema(name, versions, "request", ocpp)
        reply = _message_schema(name, versions, "response", ocpp)
        only = "" if len(versions) == len(VERSIONS) else f" (OCPP {' and '.join(versions)} only)"
        paths[OPERATION_PATH.replace("{operation}", name)] = {"post": {
            **_op(f"call{name}", "commands", f"Send {name} to the charge box{only}",
                  {"200": _json(reply, f"The box's {name}.conf"),
                   "202": _json(_ref("Queued"), "The box could not be reached; the command"
                                                " waits for its next message (only with"
                                                " queue=true)")},
                  params=[*box, _q("queue", {"type": "boolean", "default": False},
                                   "Queue the command when the box cannot be reached now"),
                          _q("expiresAt", _TIME, "With queue=true: drop the queued command"
                                                 " unsent after this time (default 24 h)")],
                  body=request, errors=("404", "409", "413", "422", "502", "504")),
            "description": (f"The body holds the fields of {name}.req under their OCPP names; "
                            "the reply's fields come back as JSON (date-times ISO 8601)."),
            "x-ocpp-versions": list(versions),
        }}
    return paths


def _components(ocpp: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string", "description": "What went wrong, for a human"},
            "field": {"type": "string", "description": "The body field or query parameter at"
                                                       " fault (400, 422)"},
            "kind": {"type": "string", "enum": ["fault", "bad_reply", "unreachable", "timeout",
                                                "certificate", "refused", "storage"],
                     "description": "How a command failed (409 refused address, 502, 504), or"
                                    " storage (503)"},
        }},
        "Queued": {"type": "object", "required": ["pending_id", "charge_box_id", "operation"],
                   "properties": {"pending_id": {"type": "integer"},
                                  "charge_box_id": _STR, "operation": _STR,
                                  "status": {"type": "string", "enum": ["queued"]}}},
        **{name: copy.deepcopy(schema) for name, schema in BODIES.items()},
    }
    for name, model in _RESOURCES.items():
        schemas[name] = _resource_schema(model)
    schemas["ChargeBoxDetail"] = {"allOf": [_ref("ChargeBox"), {
        "type": "object", "required": ["connectors"],
        "properties": {"connectors": {"type": "array", "items": _ref("ConnectorStatus")}}}]}
    schemas.update(sorted(ocpp.items()))
    return {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "The token of ServeOptions.api_token (OCPP_SOAP_API_TOKEN). Without"
                           " one, the API answers only when the server listens on loopback."}},
        "parameters": _PARAMS,
        "responses": {name: _json(_ref("Error"), text) for name, text in _ERRORS.values()},
        "schemas": schemas,
    }


@cache
def _document() -> str:
    ocpp: dict[str, Any] = {}
    paths = _paths(ocpp)  # fills ``ocpp`` with the message types it used
    doc = {
        "openapi": "3.0.3",
        "info": {
            "title": "ocpp-soap Central System API",
            "version": __version__,
            "description": (
                "Operate an OCPP-S 1.5/1.6 Central System: charge boxes, id tags, history, logs"
                " and every CS→CP command. Errors are JSON objects with an `error` text."),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in ("chargeboxes", "idtags", "history", "logs", "commands",
                                       "meta")],
        "paths": paths,
        "components": _components(ocpp),
    }
    return json.dumps(doc, ensure_ascii=False)


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy)."""
    return json.loads(_document())


def document_bytes() -> bytes:
    return _document().encode("utf-8")
