"""How the simulator shows payloads to people and to JSON: one readable line per message, ISO
datetimes, indented envelopes.

Shared by the charge point's message log, the shell, scenarios and the admin API; it knows nothing
of any of them, so each can import it without importing the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree

_KEY_FIELDS = (
    ("connectorId", "connector"), ("idTag", "idTag"), ("transactionId", "txId"),
    ("meterStart", "meterStart"), ("meterStop", "meterStop"), ("reason", "reason"),
    ("status", "status"), ("errorCode", "errorCode"), ("type", "type"), ("key", "key"),
    ("value", "value"), ("chargePointVendor", "vendor"), ("chargePointModel", "model"),
    ("firmwareVersion", "firmware"), ("reservationId", "reservationId"), ("vendorId", "vendorId"),
    ("messageId", "messageId"), ("requestedMessage", "message"), ("listVersion", "listVersion"),
    ("updateType", "updateType"), ("location", "location"), ("interval", "interval"),
    ("fileName", "file"), ("duration", "duration"),
)


def _fmt(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def summarize(payload: dict | None, reply: bool = False) -> str:
    """The key fields of a payload as ``name=value`` words (a reply leads with its status)."""
    if not payload:
        return ""
    words: list[str] = []
    if reply:
        status = payload.get("status") or (payload.get("idTagInfo") or {}).get("status")
        if status:
            words.append(str(status))
    for name, short in _KEY_FIELDS:
        if name in payload and not (reply and name == "status") and not isinstance(payload[name], list):
            words.append(f"{short}={_fmt(payload[name])}")
    if isinstance(payload.get("key"), list):
        words.append(f"keys={','.join(payload['key'])}")
    if "configurationKey" in payload:
        words.append(f"keys={len(payload['configurationKey'])}")
    if payload.get("unknownKey"):
        words.append(f"unknown={','.join(payload['unknownKey'])}")
    if "chargingProfile" in payload:
        words.append(f"profile={(payload['chargingProfile'] or {}).get('chargingProfilePurpose')}")
    for mv in (payload.get("meterValue") or [])[:1]:
        for sv in (mv.get("sampledValue") or [])[:3]:
            unit = sv.get("unit") or ""
            words.append(f"{sv.get('measurand') or 'Energy.Active.Import.Register'}={sv.get('value')}{unit}")
    if payload.get("transactionData"):
        words.append(f"samples={len(payload['transactionData'])}")
    if not reply and not words:
        return ""
    return " ".join(words)


def to_json(value: Any) -> Any:
    """A payload or state with datetimes as ISO text (for JSON and the shell)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value



def pretty(data: bytes) -> str:
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True,
                                                      remove_blank_text=True))
        return etree.tostring(root, pretty_print=True, encoding="unicode")
    except etree.XMLSyntaxError:
        return data.decode("utf-8", "replace")
