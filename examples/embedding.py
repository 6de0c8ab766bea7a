"""Embedding the ocpp-soap Central System in your own Python program.

What it shows:
- tags decided by your own code (here a dict) instead of the database's tag table: Authorize,
  StartTransaction and StopTransaction all ask it, for OCPP 1.5 and 1.6 alike;
- a vendor's DataTransfer answered by a handler that gets the payload as snake_case keywords;
- work after a StartTransaction was answered, and events (a callback here; HTTP webhooks come
  from the ``webhooks`` setting).

Run it directly (SQLite file ``embedding.db`` in the current directory, port 8180):

    python examples/embedding.py

or under gunicorn with ``serve``'s flags, workers and TLS:

    ocpp-soap central serve --app examples/embedding.py:make_app --db sqlite:///embedding.db
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from ocpp_soap.central import (
    Authorization,
    AuthorizationRequest,
    CentralSystem,
    Context,
    Event,
    create_app,
)

log = logging.getLogger("embedding-example")

VENDOR = "com.example.meter"

#: Your tag list (a CRM, a billing system …): idTag → status.
TAGS: dict[str, str] = {
    "04E8C2A1": "Accepted",
    "STOLEN01": "Blocked",
}


class DictAuthorizer:
    """An ``Authorizer``: one method, asked for every idTag a box presents."""

    def __init__(self, tags: Mapping[str, str]):
        self.tags = tags

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        # idTags are case-insensitive in OCPP
        status = self.tags.get(request.id_tag.upper(), "Invalid")
        return Authorization(status=status, parent_id_tag="FLEET-1" if status == "Accepted"
                             else None)


def log_event(event: Event) -> None:
    log.info("event %s from %s: %s", event.kind, event.charge_box_id, event.data)


def make_app(settings: Mapping[str, Any] | None = None, *,
             tags: Mapping[str, str] = TAGS, on_event: Any = log_event) -> CentralSystem:
    """The application factory (``serve --app`` calls it without arguments)."""
    central = create_app(settings, authorizer=DictAuthorizer(tags), on_event=on_event)

    @central.on("DataTransfer")
    def data_transfer(context: Context, vendor_id: str, message_id: str | None = None,
                      data: str | None = None) -> dict[str, Any]:
        if vendor_id != VENDOR:
            return {"status": "UnknownVendorId"}
        if message_id != "Hello":
            return {"status": "UnknownMessageId"}
        return {"status": "Accepted", "data": f"hello {context.charge_box_id}, you said {data}"}

    @central.after("StartTransaction")
    def started(context: Context, id_tag: str, connector_id: int, **_: Any) -> None:
        transaction = (context.reply or {}).get("transaction_id")
        log.info("%s started transaction %s on connector %s for %s", context.charge_box_id,
                 transaction, connector_id, id_tag)

    return central


def main(argv: list[str]) -> int:
    from werkzeug.serving import run_simple

    logging.basicConfig(level=logging.INFO)
    port = int(argv[1]) if len(argv) > 1 else 8180
    app = make_app({"db_url": "sqlite:///embedding.db", "unknown_chargebox": "accept"})
    try:
        run_simple("127.0.0.1", port, app, threaded=True)
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
