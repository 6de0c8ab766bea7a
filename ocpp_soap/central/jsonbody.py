"""A JSON request body checked against its route's schema, with jsonschema.

The schemas are the OpenAPI 3.0 ones of ``routes.BODIES`` (the document publishes exactly what is
checked). OpenAPI 3.0 spells "or null" as ``nullable``, which JSON Schema does not know, so a
schema is translated once (``nullable`` → a ``null`` type) and checked as draft 4, the draft
OpenAPI 3.0 builds on: there 2.0 is no integer, as a stored count must not be.

The first problem found becomes a ``BodyError`` naming the field (a dotted path when nested) and
saying what is wrong in the words the API has always used: unknown fields first, then missing
ones, then the values in the order the body gives them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .routes import BODIES, HTTP_URL, NOT_BLANK
from .timeutil import parse_time


class BodyError(ValueError):
    """A body field is missing, unknown or invalid; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def _date_time(value: Any) -> bool:
    if isinstance(value, str):
        parse_time(value)  # ValueError: not a date-time
    return True


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date-time", raises=ValueError)(_date_time)


def json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema (``nullable`` made a ``null`` type)."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: json_schema(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _validator(name: str) -> Draft4Validator:
    return Draft4Validator(json_schema(BODIES[name]), format_checker=_FORMATS)


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    """``body`` if it fits ``BODIES[name]``; else ``BodyError`` for the first problem."""
    errors = list(_validator(name).iter_errors(body))
    if not errors:
        return body
    order = {key: i for i, key in enumerate(body)}
    first = min(errors, key=lambda e: _rank(e, order))
    raise _explain(first)


_OBJECT_LEVEL = {"additionalProperties": 0, "required": 1}


def _rank(error: ValidationError, order: dict[str, int]) -> tuple[int, int, int]:
    path = list(error.absolute_path)
    top = order.get(path[0], len(order)) if path else -1
    return (_OBJECT_LEVEL.get(str(error.validator), 2), top, len(path))


def _name(error: ValidationError, key: str | None = None) -> str:
    return ".".join(str(p) for p in [*error.absolute_path, *([key] if key else [])])


def _article(kind: str) -> str:
    return "an" if kind[:1] in "aeiou" else "a"


def _explain(error: ValidationError) -> BodyError:
    kind = str(error.validator)
    value = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "additionalProperties":
        props = list(schema.get("properties", {}))
        key = next(k for k in value if k not in props)
        return BodyError(_name(error, key), f"unknown field (expected: {', '.join(props)})")
    if kind == "required":
        key = next(k for k in error.validator_value if k not in value)
        return BodyError(_name(error, key), "required")
    field = _name(error)
    if value is None:
        return BodyError(field, "must not be null")
    if kind == "type":
        types = error.validator_value
        wanted = next(t for t in ([types] if isinstance(types, str) else types) if t != "null")
        return BodyError(field, f"expected {_article(wanted)} {wanted}, got {value!r}")
    if kind == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value if v is not None)
        return BodyError(field, f"{value!r} is not one of {allowed}")
    if (kind == "minLength" and error.validator_value == 1) or (
            kind == "pattern" and error.validator_value == NOT_BLANK):
        return BodyError(field, "must not be empty")
    if kind == "minLength":
        return BodyError(field, f"shorter than {error.validator_value} characters")
    if kind == "pattern" and error.validator_value == HTTP_URL:
        return BodyError(field, f"must be an http(s) URL, not {value!r}")
    if kind == "format" and error.validator_value == "date-time":
        return BodyError(field, f"expected an ISO 8601 date-time, got {value!r}")
    if kind == "minimum":
        return BodyError(field, f"must be at least {error.validator_value}")
    if kind == "maximum":
        return BodyError(field, f"must be at most {error.validator_value}")
    if kind == "maxLength":
        return BodyError(field, f"longer than {error.validator_value} characters")
    return BodyError(field, error.message)
