"""Translate between each version's message shape and the one shape the domain sees.

The domain speaks the OCPP 1.6 shape for both versions. OCPP 1.5 differs in a handful of places,
each translated here, once, in both directions:

- BootNotification.conf ``heartbeatInterval`` ↔ ``interval``; 1.5 knows no ``Pending`` (→ Rejected);
- MeterValues.req ``values[{timestamp, value[text@attrs]}]`` ↔ ``meterValue[{timestamp, sampledValue[]}]``;
- StopTransaction.req ``transactionData[{values[]}]`` ↔ ``transactionData[meterValue]``;
- SendLocalList.req ``localAuthorisationList`` ↔ ``localAuthorizationList``.

Fields a version lacks (a 1.6 stop ``reason`` sent to a 1.5 peer) are dropped by the writer, which
only writes what the version declares.
"""

from __future__ import annotations

from typing import Any

REQUEST = "request"
RESPONSE = "response"


def _sampled_from_15(value: dict[str, Any]) -> dict[str, Any]:
    return dict(value)


def _meter_values_from_15(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"timestamp": mv.get("timestamp"), "sampledValue": [_sampled_from_15(v) for v in mv.get("value", [])]}
        for mv in values
    ]


def _meter_values_to_15(meter_values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for mv in meter_values:
        samples = []
        for sv in mv.get("sampledValue", []):
            sample = {k: v for k, v in sv.items() if k != "phase"}
            samples.append(sample)
        out.append({"timestamp": mv.get("timestamp"), "value": samples})
    return out


def to_neutral(version: str, operation: str, direction: str, data: dict[str, Any]) -> dict[str, Any]:
    """A message read from the wire of ``version`` → the domain's shape."""
    if version != "1.5":
        return data
    data = dict(data)
    if operation == "BootNotification" and direction == RESPONSE and "heartbeatInterval" in data:
        data["interval"] = data.pop("heartbeatInterval")
    elif operation == "MeterValues" and direction == REQUEST:
        data["meterValue"] = _meter_values_from_15(data.pop("values", []))
    elif operation == "StopTransaction" and direction == REQUEST and "transactionData" in data:
        flat: list[dict[str, Any]] = []
        for td in data.pop("transactionData"):
            flat.extend(_meter_values_from_15(td.get("values", [])))
        data["transactionData"] = flat
    elif operation == "SendLocalList" and direction == REQUEST and "localAuthorisationList" in data:
        data["localAuthorizationList"] = data.pop("localAuthorisationList")
    return data


def from_neutral(version: str, operation: str, direction: str, data: dict[str, Any]) -> dict[str, Any]:
    """A message in the domain's shape → what ``version`` puts on the wire."""
    if version != "1.5":
        return data
    data = dict(data)
    if operation == "BootNotification" and direction == RESPONSE:
        if "interval" in data:
            data["heartbeatInterval"] = data.pop("interval")
        if data.get("status") == "Pending":
            data["status"] = "Rejected"
    elif operation == "MeterValues" and direction == REQUEST and "meterValue" in data:
        data["values"] = _meter_values_to_15(data.pop("meterValue"))
    elif operation == "StopTransaction" and direction == REQUEST and "transactionData" in data:
        values = _meter_values_to_15(data.pop("transactionData"))
        if values:
            data["transactionData"] = [{"values": values}]
    elif operation == "SendLocalList" and direction == REQUEST and "localAuthorizationList" in data:
        data["localAuthorisationList"] = data.pop("localAuthorizationList")
    return data
