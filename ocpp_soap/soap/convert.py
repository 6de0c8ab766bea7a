"""Plain dicts → Spyne reply objects, driven by the message declarations.

Handlers answer with dicts keyed by the official field names; Spyne serializes model instances.
Walking the declaration (not the Spyne class) keeps the conversion exact: a repeated field is always
a list, an absent optional field is absent, datetimes go out in UTC without microseconds. (Requests
come in the other way, straight from the element tree: see ``xmlmap``.)
"""

from __future__ import annotations

import decimal
from datetime import UTC, datetime
from typing import Any

from ocpp_soap.messages.schema import Builtin, Complex, Field, Restricted, TextWithAttributes
from ocpp_soap.messages.xsdtime import parse_xsd_datetime
from ocpp_soap.soap.spyne_models import ModelSet


def utc(value: datetime) -> datetime:
    """Aware UTC, whatever Spyne or a caller handed us (naive means UTC on the OCPP wire)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def simple_out(t: Builtin | Restricted, value: Any) -> Any:
    base = t.base.name if isinstance(t, Restricted) else t.name
    if base == "dateTime":
        if isinstance(value, str):
            value = parse_xsd_datetime(value)
        return utc(value).replace(microsecond=0)
    if base == "decimal":
        return decimal.Decimal(str(value))
    if base == "int":
        return int(value)
    if base == "boolean":
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)
    return value if isinstance(value, str) else str(value)


def from_dict(data: dict[str, Any] | None, t: Complex, models: ModelSet) -> Any:
    """A Spyne instance of complex type ``t`` built from ``data`` (unknown keys ignored)."""
    cls = models.complex(t)
    obj = cls()
    data = data or {}
    for f in t.fields:
        if f.name not in data or data[f.name] is None:
            continue
        value = data[f.name]
        if f.repeated:
            if not isinstance(value, list | tuple):
                value = [value]
            setattr(obj, f.name, [_field_out(t, f, v, models) for v in value])
        else:
            setattr(obj, f.name, _field_out(t, f, value, models))
    return obj


def _field_out(owner: Complex, f: Field, value: Any, models: ModelSet) -> Any:
    t = f.type
    if isinstance(t, Complex):
        return from_dict(value, t, models)
    if isinstance(t, TextWithAttributes):
        cls = models.complex(owner)._type_info[f.name]
        item = cls()
        if isinstance(value, dict):
            item.value = None if value.get("value") is None else str(value["value"])
            for a in t.attributes:
                if value.get(a.name) is not None:
                    setattr(item, a.name, value[a.name])
        else:
            item.value = str(value)
        return item
    return simple_out(t, value)
