"""Check and coerce a payload that came from outside (JSON API, CLI ``field=value``).

Operators type these by hand; the wire layer would only reject a bad one later with a schema fault
from the charge point, or not at all. Checking against the declarations first gives an error that
names the field (``type: 'Sideways' is not one of Inoperative, Operative``) and turns JSON's
strings and numbers into the types the wire writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp_soap.messages import adapters, service_schema
from ocpp_soap.messages.schema import Builtin, Complex, Field, Restricted, TextWithAttributes
from ocpp_soap.messages.xsdtime import parse_xsd_datetime
from ocpp_soap.soap.convert import utc


class PayloadError(ValueError):
    """A payload field is missing, unknown or of the wrong type/value."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def _simple(path: str, t: Builtin | Restricted, value: Any) -> Any:
    base = t.base.name if isinstance(t, Restricted) else t.name
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise PayloadError(path, f"expected an integer, got {value!r}")
        try:
            value = int(value)
        except ValueError:
            raise PayloadError(path, f"expected an integer, got {value!r}") from None
        if not -(2**31) <= value < 2**31:
            raise PayloadError(path, "out of the xs:int range")
    elif base == "decimal":
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise PayloadError(path, f"expected a number, got {value!r}") from None
    elif base == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            value = value.lower() in ("true", "1")
        elif not isinstance(value, bool):
            raise PayloadError(path, f"expected true or false, got {value!r}")
    elif base == "dateTime":
        if isinstance(value, str):
            try:
                value = parse_xsd_datetime(value)
            except ValueError:
                raise PayloadError(path, f"expected an ISO 8601 date-time, got {value!r}") from None
        if not isinstance(value, datetime):
            raise PayloadError(path, f"expected an ISO 8601 date-time, got {value!r}")
        value = utc(value)
    else:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise PayloadError(path, f"expected a string, got {value!r}")
    if isinstance(t, Restricted):
        if t.enumeration and value not in t.enumeration:
            raise PayloadError(path, f"{value!r} is not one of {', '.join(t.enumeration)}")
        if t.max_length is not None and len(value) > t.max_length:
            raise PayloadError(path, f"longer than {t.max_length} characters")
    return value


def _field(path: str, f: Field, value: Any) -> Any:
    if isinstance(f.type, Complex):
        if not isinstance(value, dict):
            raise PayloadError(path, "expected an object")
        return check(value, f.type, path + ".")
    if isinstance(f.type, TextWithAttributes):
        if not isinstance(value, dict) or "value" not in value:
            raise PayloadError(path, "expected an object with a 'value'")
        return dict(value)
    return _simple(path, f.type, value)


def check(data: dict[str, Any], t: Complex, prefix: str = "") -> dict[str, Any]:
    """``data`` checked against complex type ``t``; returns the coerced copy."""
    known = {f.name for f in t.fields}
    for key in data:
        if key not in known:
            raise PayloadError(prefix + key, f"unknown field (expected: {', '.join(sorted(known)) or 'none'})")
    out: dict[str, Any] = {}
    for f in t.fields:
        path = prefix + f.name
        value = data.get(f.name)
        if value is None:
            if f.required:
                raise PayloadError(path, "required")
            continue
        if f.repeated:
            if not isinstance(value, list):
                value = [value]
            if len(value) < f.min_occurs:
                raise PayloadError(path, f"needs at least {f.min_occurs} item(s)")
            out[f.name] = [_field(f"{path}[{i}]", f, v) for i, v in enumerate(value)]
        else:
            if isinstance(value, list):
                raise PayloadError(path, "expected a single value, not a list")
            out[f.name] = _field(path, f, value)
    return out


def request_payload(version: str, service: str, operation: str,
                    data: dict[str, Any]) -> dict[str, Any]:
    """Check a request payload in the domain's shape for ``version``; return it coerced."""
    schema = service_schema(version, service)
    if not schema.has(operation):
        raise PayloadError("", f"OCPP {version} {service} has no operation {operation!r}")
    op = schema.operation(operation)
    wire = adapters.from_neutral(version, operation, adapters.REQUEST, data)
    checked = check(wire, op.request)
    return adapters.to_neutral(version, operation, adapters.REQUEST, checked)
