"""Each version's services, found by version and service name: ``service_schema("1.6", …)``.

The version modules (``ocpp15``, ``ocpp16``) are written in ``schema``'s vocabulary, so the
look-up cannot live in ``schema`` without it importing its own users; it lives here, above all
three. A version module is imported on its first use: a tool that reads 1.6 only never builds 1.5.
"""

from __future__ import annotations

from functools import cache

from .schema import ServiceSchema


@cache
def service_schema(version: str, service: str) -> ServiceSchema:
    """The declarations for ``version`` ("1.5"/"1.6") and ``service``."""
    if version == "1.5":
        from . import ocpp15 as declared
    elif version == "1.6":
        from . import ocpp16 as declared
    else:
        raise ValueError(f"no OCPP version {version!r} is declared (1.5 or 1.6)")
    return declared.SERVICES[service]
