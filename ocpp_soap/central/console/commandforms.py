"""Command forms generated from the message declarations, and their answers read back.

Every CS→CP operation of a box's version gets a form: one input per request field, an enum as a
choice list, the schema's required marks and maximum lengths, a nested or repeated field as a JSON
text area (with an example from the schema). Submitted values are checked with the same
``request_payload`` the API and CLI use, so the inline error names the field exactly as they do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ocpp_soap.messages import adapters, service_schema
from ocpp_soap.messages.payload import PayloadError, request_payload
from ocpp_soap.messages.schema import (
    Builtin,
    Complex,
    Field,
    Operation,
    Restricted,
    TextWithAttributes,
)
from ocpp_soap.soap.versions import CHARGEPOINT

#: Fields the Central System fills in itself when left empty.
FILLED_BY_US = {("ReserveNow", "reservationId"): "leave empty: the Central System numbers it"}


@dataclass(frozen=True)
class FormField:
    """One input of a command form."""

    name: str
    kind: str  # text | int | decimal | bool | datetime | enum | json
    required: bool
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    hint: str = ""
    example: str = ""


def operations(version: str) -> list[str]:
    """The CS→CP operations of ``version``, by name."""
    return [op.name for op in service_schema(version, CHARGEPOINT).operations]


def operation(version: str, name: str) -> Operation | None:
    schema = service_schema(version, CHARGEPOINT)
    return schema.operation(name) if schema.has(name) else None


def _base(t: Builtin | Restricted) -> str:
    return t.base.name if isinstance(t, Restricted) else t.name


def _example(t: Any, depth: int = 0) -> Any:
    """A JSON skeleton of a type, for the hint of a JSON field."""
    if isinstance(t, Complex):
        if depth > 4:
            return {}
        return {f.name: ([_example(f.type, depth + 1)] if f.repeated else
                         _example(f.type, depth + 1)) for f in t.fields if f.required} or \
            {f.name: _example(f.type, depth + 1) for f in t.fields[:2]}
    if isinstance(t, TextWithAttributes):
        return {"value": "…"}
    if isinstance(t, Restricted) and t.enumeration:
        return t.enumeration[0]
    return {"int": 0, "decimal": 0.0, "boolean": False,
            "dateTime": "2030-01-01T00:00:00Z"}.get(_base(t), "…")


def form_fields(op: Operation) -> list[FormField]:
    out = []
    for f in op.request.fields:
        hint = FILLED_BY_US.get((op.name, f.name), "")
        required = f.required and not hint
        out.append(_form_field(f, required, hint))
    return out


def _form_field(f: Field, required: bool, hint: str) -> FormField:
    t = f.type
    if f.repeated or isinstance(t, Complex | TextWithAttributes):
        example = _example(t)
        example_text = json.dumps([example] if f.repeated else example)
        kind_hint = "a JSON list" if f.repeated else "a JSON object"
        return FormField(f.name, "json", required, hint=hint or f"{kind_hint}, e.g.",
                         example=example_text)
    if isinstance(t, Restricted) and t.enumeration:
        return FormField(f.name, "enum", required, choices=t.enumeration, hint=hint)
    base = _base(t)
    kind = {"int": "int", "decimal": "decimal", "boolean": "bool",
            "dateTime": "datetime"}.get(base, "text")
    max_length = t.max_length if isinstance(t, Restricted) else None
    if kind == "datetime":
        hint = hint or "ISO 8601 in UTC, e.g. 2030-01-01T12:00:00Z"
    elif kind == "text" and base == "anyURI":
        hint = hint or "a URL"
    return FormField(f.name, kind, required, max_length=max_length, hint=hint)


def payload_from_form(version: str, op: Operation, form: Any) -> dict[str, Any]:
    """The domain-shaped payload of a submitted form (``form.get(name)``), checked as the API
    checks it. Raises PayloadError naming the field."""
    wire: dict[str, Any] = {}
    for field in form_fields(op):
        raw = form.get("f." + field.name)
        if raw is None or str(raw).strip() == "":
            continue
        raw = str(raw).strip()
        if field.kind == "json":
            try:
                wire[field.name] = json.loads(raw)
            except ValueError as exc:
                raise PayloadError(field.name, f"not valid JSON: {exc}") from None
        else:
            wire[field.name] = raw
    neutral = adapters.to_neutral(version, op.name, adapters.REQUEST, wire)
    check = dict(neutral)
    for (name, field), _ in FILLED_BY_US.items():
        if name == op.name and field not in check:
            check[field] = 0  # checked as the commander does before it numbers it
    request_payload(version, CHARGEPOINT, op.name, check)
    return neutral
