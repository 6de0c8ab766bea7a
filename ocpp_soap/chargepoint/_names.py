"""Python names for OCPP payloads: ``idTag`` ↔ ``id_tag``, both ways, at any depth.

An override (``ChargePoint.on``) is written in Python, so it gets the request's fields as
snake_case keyword arguments and returns a dict with snake_case keys. The wire names come back from
the reply's own schema, so a key the reply does not have is caught here, naming the field, rather
than being dropped silently on the way out. Every field name of OCPP 1.5 and 1.6 converts both ways
without loss (``tests/chargepoint/test_names.py`` checks all of them).

Values are not converted: datetimes stay datetimes, enum values stay the official strings
(``"Accepted"``), and must be ones the version has.
"""

from __future__ import annotations

import re
from typing import Any

from ocpp_soap.messages.schema import Complex, Restricted, TextWithAttributes

_UPPER = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """``chargingProfilePurpose`` → ``charging_profile_purpose``."""
    return _UPPER.sub(r"_\1", name).lower()


def camel(name: str) -> str:
    """``charging_profile_purpose`` → ``chargingProfilePurpose``."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def to_snake(value: Any) -> Any:
    """A neutral payload (official names) with every key in snake_case."""
    if isinstance(value, dict):
        return {snake(k): to_snake(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_snake(v) for v in value]
    return value


def _short(value: Any) -> str:
    """A value for an error message, cut short (the message goes into a fault and a log)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_wire(value: Any, t: Any, where: str) -> Any:
    """A snake_case payload back to the official names of type ``t`` (a schema Complex).

    A key that is no field of ``t``, a required field left out, a value outside the version's
    enumeration or over its length raise ``ValueError`` naming the field, so a mistake in an
    override is found at its first call rather than sent to a Central System as a message the
    version does not have.
    """
    if isinstance(t, Complex):
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a dict, not {type(value).__name__}")
        out = {}
        for key, item in value.items():
            name = camel(str(key))
            try:
                f = t.field(name)
            except KeyError:
                known = ", ".join(snake(f.name) for f in t.fields) or "none"
                raise ValueError(f"{where} has no field {key!r} (fields: {known})") from None
            here = f"{where}.{snake(name)}"
            if f.repeated and isinstance(item, list | tuple):
                out[name] = [to_wire(x, f.type, f"{here}[{i}]") for i, x in enumerate(item)]
            else:
                out[name] = to_wire(item, f.type, here)
        missing = [snake(f.name) for f in t.fields if f.required and out.get(f.name) is None]
        if missing:
            raise ValueError(f"{where} lacks required {', '.join(missing)}")
        return out
    if isinstance(t, TextWithAttributes) and isinstance(value, dict):
        return {camel(str(k)): v for k, v in value.items()}
    if isinstance(t, Restricted) and value is not None:
        if t.enumeration and value not in t.enumeration:
            raise ValueError(f"{where} is {_short(value)}, not one of: {', '.join(t.enumeration)}")
        if t.max_length is not None and isinstance(value, str) and len(value) > t.max_length:
            raise ValueError(f"{where} is longer than {t.max_length} characters")
    return value
