"""DataTransfer from charge points goes to vendor handlers that deployments plug in.

A handler is ``handler(request: DataTransferRequest) -> dict`` returning the reply payload
(``{"status": "Accepted", "data": "..."}``). Vendors without a handler get ``UnknownVendorId``, as
the spec asks; a handler that crashes answers ``Rejected`` rather than a fault, so one buggy
plug-in cannot make a box retry forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DATA_TRANSFER_STATUSES = ("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId")


@dataclass(frozen=True)
class DataTransferRequest:
    charge_box_id: str
    version: str
    vendor_id: str
    message_id: str | None
    data: str | None


VendorHandler = Callable[[DataTransferRequest], dict[str, Any]]


class VendorRegistry:
    """vendorId → handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, VendorHandler] = {}

    def register(self, vendor_id: str, handler: VendorHandler) -> None:
        self._handlers[vendor_id] = handler

    def unregister(self, vendor_id: str) -> None:
        self._handlers.pop(vendor_id, None)

    def vendors(self) -> list[str]:
        return sorted(self._handlers)

    def handle(self, request: DataTransferRequest) -> dict[str, Any]:
        handler = self._handlers.get(request.vendor_id)
        if handler is None:
            return {"status": "UnknownVendorId"}
        try:
            reply = dict(handler(request) or {})
        except Exception:
            log.exception("DataTransfer handler for %s failed", request.vendor_id)
            return {"status": "Rejected"}
        if reply.get("status") not in DATA_TRANSFER_STATUSES:
            log.error("DataTransfer handler for %s gave bad status %r", request.vendor_id, reply)
            return {"status": "Rejected"}
        return {k: v for k, v in reply.items() if k in ("status", "data") and v is not None}
