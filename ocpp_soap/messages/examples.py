"""A realistic request and reply for every operation of both versions, in the domain's shape.

They feed the envelope samples in ``samples/``, the round-trip tests over HTTP for every operation,
and the ``--example`` of the CLI. Values look like a real session: one charge box ``CB-1001``,
tag ``04A2B3C4D5``, transaction 4711, a meter around 1,234 kWh.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
EXPIRY = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
TAG = "04A2B3C4D5"

_SAMPLES_16 = [
    {"value": "1234567", "context": "Sample.Periodic", "format": "Raw",
     "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"},
    {"value": "7360", "context": "Sample.Periodic", "format": "Raw",
     "measurand": "Power.Active.Import", "location": "Outlet", "unit": "W"},
    {"value": "16.0", "context": "Sample.Periodic", "measurand": "Current.Import",
     "phase": "L1", "location": "Outlet", "unit": "A"},
]
_SAMPLES_15 = [
    {"value": "1234567", "context": "Sample.Periodic", "format": "Raw",
     "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"},
    {"value": "7360", "context": "Sample.Periodic", "format": "Raw",
     "measurand": "Power.Active.Import", "location": "Outlet", "unit": "W"},
]
_PROFILE = {
    "chargingProfileId": 12,
    "transactionId": 4711,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": {
        "duration": 3600,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
            {"startPeriod": 1800, "limit": 10.0, "numberPhases": 3},
        ],
        "minChargingRate": 6.0,
    },
}

CENTRAL: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "Authorize": ({"idTag": TAG},
                  {"idTagInfo": {"status": "Accepted", "expiryDate": EXPIRY, "parentIdTag": "FLEET01"}}),
    "BootNotification": (
        {"chargePointVendor": "ACME Charging", "chargePointModel": "WallBox 22",
         "chargePointSerialNumber": "WB22-000123", "chargeBoxSerialNumber": "CB-1001-A",
         "firmwareVersion": "4.2.1", "iccid": "8931440400012345678", "imsi": "204043712345678",
         "meterType": "Eastron SDM630", "meterSerialNumber": "SDM-77810"},
        {"status": "Accepted", "currentTime": T0, "interval": 300}),
    "DataTransfer": ({"vendorId": "com.acme", "messageId": "CableTemperature", "data": "41.5"},
                     {"status": "Accepted", "data": "ok"}),
    "DiagnosticsStatusNotification": ({"status": "Uploaded"}, {}),
    "FirmwareStatusNotification": ({"status": "Installed"}, {}),
    "Heartbeat": ({}, {"currentTime": T0}),
    "MeterValues": ({"connectorId": 1, "transactionId": 4711,
                     "meterValue": [{"timestamp": T0, "sampledValue": _SAMPLES_16}]}, {}),
    "StartTransaction": ({"connectorId": 1, "idTag": TAG, "timestamp": T0, "meterStart": 1234000,
                          "reservationId": 88},
                         {"transactionId": 4711, "idTagInfo": {"status": "Accepted", "expiryDate": EXPIRY}}),
    "StatusNotification": ({"connectorId": 1, "status": "Charging", "errorCode": "NoError",
                            "info": "cable locked", "timestamp": T0, "vendorId": "com.acme",
                            "vendorErrorCode": "0"}, {}),
    "StopTransaction": ({"transactionId": 4711, "idTag": TAG, "timestamp": T0, "meterStop": 1246500,
                         "reason": "Local",
                         "transactionData": [{"timestamp": T0, "sampledValue": _SAMPLES_16[:1]}]},
                        {"idTagInfo": {"status": "Accepted"}}),
}

CHARGEPOINT: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "CancelReservation": ({"reservationId": 88}, {"status": "Accepted"}),
    "ChangeAvailability": ({"connectorId": 0, "type": "Inoperative"}, {"status": "Scheduled"}),
    "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "600"}, {"status": "Accepted"}),
    "ClearCache": ({}, {"status": "Accepted"}),
    "ClearChargingProfile": ({"id": 12, "connectorId": 1, "chargingProfilePurpose": "TxProfile",
                              "stackLevel": 1}, {"status": "Accepted"}),
    "DataTransfer": ({"vendorId": "com.acme", "messageId": "SetLedColour", "data": "green"},
                     {"status": "Accepted", "data": "done"}),
    "GetCompositeSchedule": ({"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
                             {"status": "Accepted", "connectorId": 1, "scheduleStart": T0,
                              "chargingSchedule": {"duration": 3600, "startSchedule": T0,
                                                   "chargingRateUnit": "W",
                                                   "chargingSchedulePeriod": [
                                                       {"startPeriod": 0, "limit": 11000.0},
                                                       {"startPeriod": 1800, "limit": 6900.0}]}}),
    "GetConfiguration": ({"key": ["HeartbeatInterval", "MeterValueSampleInterval", "NoSuchKey"]},
                         {"configurationKey": [
                             {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                             {"key": "MeterValueSampleInterval", "readonly": False, "value": "120"}],
                          "unknownKey": ["NoSuchKey"]}),
    "GetDiagnostics": ({"location": "ftp://diag.example.com/uploads/", "startTime": T0,
                        "stopTime": EXPIRY, "retries": 3, "retryInterval": 60},
                       {"fileName": "diagnostics-CB-1001-20260314.zip"}),
    "GetLocalListVersion": ({}, {"listVersion": 7}),
    # OCPP 1.6 5.16: the TxProfile of a RemoteStart has no transactionId (there is none yet).
    "RemoteStartTransaction": ({"connectorId": 1, "idTag": TAG, "chargingProfile": {
        k: v for k, v in _PROFILE.items() if k != "transactionId"}}, {"status": "Accepted"}),
    "RemoteStopTransaction": ({"transactionId": 4711}, {"status": "Accepted"}),
    "ReserveNow": ({"connectorId": 1, "expiryDate": EXPIRY, "idTag": TAG,
                    "parentIdTag": "FLEET01", "reservationId": 88}, {"status": "Accepted"}),
    "Reset": ({"type": "Hard"}, {"status": "Accepted"}),
    "SendLocalList": ({"listVersion": 8, "updateType": "Differential",
                       "localAuthorizationList": [
                           {"idTag": TAG, "idTagInfo": {"status": "Accepted", "expiryDate": EXPIRY}},
                           {"idTag": "DEADBEEF01", "idTagInfo": {"status": "Blocked"}}]},
                      {"status": "Accepted"}),
    "SetChargingProfile": ({"connectorId": 1, "csChargingProfiles": _PROFILE}, {"status": "Accepted"}),
    "TriggerMessage": ({"requestedMessage": "StatusNotification", "connectorId": 1},
                       {"status": "Accepted"}),
    "UnlockConnector": ({"connectorId": 1}, {"status": "Unlocked"}),
    "UpdateFirmware": ({"retrieveDate": T0, "location": "https://fw.example.com/wallbox-4.3.0.bin",
                        "retries": 2, "retryInterval": 300}, {}),
}

# Where 1.5 differs in values (not in shape), its own examples say so.
_OVERRIDES_15: dict[tuple[str, str], tuple[dict[str, Any] | None, dict[str, Any] | None]] = {
    ("CentralSystemService", "MeterValues"): (
        {"connectorId": 1, "transactionId": 4711,
         "meterValue": [{"timestamp": T0, "sampledValue": _SAMPLES_15}]}, None),
    ("CentralSystemService", "StatusNotification"): (
        {"connectorId": 1, "status": "Occupied", "errorCode": "NoError", "info": "cable locked",
         "timestamp": T0, "vendorId": "com.acme", "vendorErrorCode": "0"}, None),
    ("CentralSystemService", "StopTransaction"): (
        {"transactionId": 4711, "idTag": TAG, "timestamp": T0, "meterStop": 1246500,
         "transactionData": [{"timestamp": T0, "sampledValue": _SAMPLES_15[:1]}]}, None),
    ("CentralSystemService", "DiagnosticsStatusNotification"): ({"status": "Uploaded"}, None),
    ("ChargePointService", "RemoteStartTransaction"): ({"connectorId": 1, "idTag": TAG}, None),
    ("ChargePointService", "UnlockConnector"): (None, {"status": "Accepted"}),
    ("ChargePointService", "SendLocalList"): (
        {"listVersion": 8, "updateType": "Differential",
         "localAuthorizationList": [
             {"idTag": TAG, "idTagInfo": {"status": "Accepted", "expiryDate": EXPIRY}},
             {"idTag": "DEADBEEF01", "idTagInfo": {"status": "Blocked"}}],
         "hash": "5a1b3c9d"}, {"status": "Accepted", "hash": "5a1b3c9d"}),
}


def example(version: str, service: str, operation: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, reply) for ``operation``: fresh copies the caller may change."""
    table = CENTRAL if service == "CentralSystemService" else CHARGEPOINT
    request, reply = table[operation]
    if version == "1.5":
        req15, reply15 = _OVERRIDES_15.get((service, operation), (None, None))
        request = req15 if req15 is not None else request
        reply = reply15 if reply15 is not None else reply
    return copy.deepcopy(request), copy.deepcopy(reply)
