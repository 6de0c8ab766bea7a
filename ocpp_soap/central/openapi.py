"""The OpenAPI 3 document of the operators' JSON API (``GET /api/v1/openapi.json``).

Nothing here is written twice: the paths, parameters, request bodies and answers come from the
route table (``routes.ROUTES``, which also gives the API its werkzeug rules and its body checks),
the resource schemas from the storage models (the API returns ``records.to_dict`` of those rows),
and the OCPP request and reply schemas from the message declarations of both versions.
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

from .routes import (
    BODIES,
    OCPP_REQUEST,
    PARAMETERS,
    PREFIX,
    ROUTES,
    STR,
    TIME,
    Route,
    json_reply,
    ref,
)
from .storage import models
from .storage.types import JSONPayload, UTCDateTime

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
        schema: dict[str, Any] = dict(TIME)
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
        "dateTime": dict(TIME),
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
    return ref(name)


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


def _operation(route: Route, **names: str) -> dict[str, Any]:
    """The document's operation object for one route (``names`` fill its templates)."""
    out: dict[str, Any] = {"operationId": route.operation_id.format(**names), "tags": [route.tag],
                           "summary": route.summary.format(**names)}
    if route.public:
        out["security"] = []
    if route.params:
        out["parameters"] = list(route.params)
    if route.body in BODIES:
        out["requestBody"] = {"required": route.body_required,
                              "content": {"application/json": {"schema": ref(route.body)}}}
    out["responses"] = dict(route.responses)
    if not route.public:
        out["responses"].update(_errors(*route.errors))
    return out


def _operation_paths(route: Route, ocpp: dict[str, Any]) -> dict[str, Any]:
    """The command route as one path per CS→CP operation, each with its own OCPP schemas."""
    paths = {}
    for name, versions in chargepoint_operations().items():
        request = _message_schema(name, versions, "request", ocpp)
        reply = _message_schema(name, versions, "response", ocpp)
        only = "" if len(versions) == len(VERSIONS) else f" (OCPP {' and '.join(versions)} only)"
        op = _operation(route, operation=name)
        op["summary"] += only
        op["requestBody"] = {"required": route.body_required,
                             "content": {"application/json": {"schema": request}}}
        op["responses"] = {"200": json_reply(reply, f"The box's {name}.conf"), **op["responses"]}
        op["description"] = (f"The body holds the fields of {name}.req under their OCPP names; "
                             "the reply's fields come back as JSON (date-times ISO 8601).")
        op["x-ocpp-versions"] = list(versions)
        paths[route.path.replace("{operation}", name)] = {route.method.lower(): op}
    return paths


def _paths(ocpp: dict[str, Any]) -> dict[str, Any]:
    """``paths`` from the route table (``routes.ROUTES``), in its order."""
    paths: dict[str, Any] = {}
    for route in ROUTES:
        if route.body == OCPP_REQUEST:
            paths.update(_operation_paths(route, ocpp))
        else:
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return paths


def _webhook_delivery_schema() -> dict[str, Any]:
    """A delivery row with its event (``outbox.list_deliveries``)."""
    from .events import EVENT_KINDS as KINDS
    from .storage.eventtables import WebhookDelivery

    schema = _resource_schema(WebhookDelivery)
    props = schema["properties"]
    for internal in ("event_id", "charge_box_id", "kind", "lease_until"):
        props.pop(internal)
    props["event"] = {"type": "object", "required": ["id", "kind", "charge_box_id", "at", "data"],
                      "properties": {"id": {"type": "integer"},
                                     "kind": {"type": "string", "enum": list(KINDS)},
                                     "charge_box_id": STR, "at": dict(TIME),
                                     "data": {"type": "object"}}}
    schema["required"] = sorted(props)
    return schema


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
                                  "charge_box_id": {"type": "string"},
                                  "operation": {"type": "string"},
                                  "status": {"type": "string", "enum": ["queued"]}}},
        **{name: copy.deepcopy(schema) for name, schema in BODIES.items()},
    }
    for name, model in _RESOURCES.items():
        schemas[name] = _resource_schema(model)
    schemas["ChargeBoxDetail"] = {"allOf": [ref("ChargeBox"), {
        "type": "object", "required": ["connectors"],
        "properties": {"connectors": {"type": "array", "items": ref("ConnectorStatus")}}}]}
    schemas["WebhookDelivery"] = _webhook_delivery_schema()
    schemas.update(sorted(ocpp.items()))
    return {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "The token of ServeOptions.api_token (OCPP_SOAP_API_TOKEN). Without"
                           " one, the API answers only when the server listens on loopback."}},
        "parameters": copy.deepcopy(PARAMETERS),
        "responses": {name: json_reply(ref("Error"), text) for name, text in _ERRORS.values()},
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
                                       "events", "meta")],
        "paths": paths,
        "components": _components(ocpp),
    }
    return json.dumps(doc, ensure_ascii=False)


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy)."""
    return json.loads(_document())


def document_bytes() -> bytes:
    return _document().encode("utf-8")
