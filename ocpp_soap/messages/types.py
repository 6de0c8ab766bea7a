"""Types that OCPP 1.5 and 1.6 define identically, declared once.

A type lands here only when both versions give it the same name, facets and fields (down to the types
it refers to); anything that differs lives in ``ocpp15`` or ``ocpp16``.
"""

from ocpp_soap.messages.schema import (
    ANYURI,
    DATETIME,
    INT,
    STRING,
    complex_type,
    enum,
    opt,
    req,
    text,
)

AuthorizationStatus = enum("AuthorizationStatus", "Accepted Blocked Expired Invalid ConcurrentTx")

AvailabilityStatus = enum("AvailabilityStatus", "Accepted Rejected Scheduled")

AvailabilityType = enum("AvailabilityType", "Inoperative Operative")

CancelReservationStatus = enum("CancelReservationStatus", "Accepted Rejected")

ClearCacheStatus = enum("ClearCacheStatus", "Accepted Rejected")

DataTransferStatus = enum(
    "DataTransferStatus", "Accepted Rejected UnknownMessageId UnknownVendorId"
)

IdToken = text("IdToken", 20)

RemoteStartStopStatus = enum("RemoteStartStopStatus", "Accepted Rejected")

ReservationStatus = enum("ReservationStatus", "Accepted Faulted Occupied Rejected Unavailable")

ResetStatus = enum("ResetStatus", "Accepted Rejected")

ResetType = enum("ResetType", "Hard Soft")

UpdateType = enum("UpdateType", "Differential Full")

ValueFormat = enum("ValueFormat", "Raw SignedData")

AuthorizeRequest = complex_type(
    "AuthorizeRequest",
    req("idTag", IdToken),
)

IdTagInfo = complex_type(
    "IdTagInfo",
    req("status", AuthorizationStatus),
    opt("expiryDate", DATETIME),
    opt("parentIdTag", IdToken),
)

AuthorizeResponse = complex_type(
    "AuthorizeResponse",
    req("idTagInfo", IdTagInfo),
)

CancelReservationRequest = complex_type(
    "CancelReservationRequest",
    req("reservationId", INT),
)

CancelReservationResponse = complex_type(
    "CancelReservationResponse",
    req("status", CancelReservationStatus),
)

ChangeAvailabilityRequest = complex_type(
    "ChangeAvailabilityRequest",
    req("connectorId", INT),
    req("type", AvailabilityType),
)

ChangeAvailabilityResponse = complex_type(
    "ChangeAvailabilityResponse",
    req("status", AvailabilityStatus),
)

ClearCacheRequest = complex_type("ClearCacheRequest")

ClearCacheResponse = complex_type(
    "ClearCacheResponse",
    req("status", ClearCacheStatus),
)

DataTransferResponse = complex_type(
    "DataTransferResponse",
    req("status", DataTransferStatus),
    opt("data", STRING),
)

DiagnosticsStatusNotificationResponse = complex_type("DiagnosticsStatusNotificationResponse")

FirmwareStatusNotificationResponse = complex_type("FirmwareStatusNotificationResponse")

GetDiagnosticsRequest = complex_type(
    "GetDiagnosticsRequest",
    req("location", ANYURI),
    opt("startTime", DATETIME),
    opt("stopTime", DATETIME),
    opt("retries", INT),
    opt("retryInterval", INT),
)

GetLocalListVersionRequest = complex_type("GetLocalListVersionRequest")

GetLocalListVersionResponse = complex_type(
    "GetLocalListVersionResponse",
    req("listVersion", INT),
)

HeartbeatRequest = complex_type("HeartbeatRequest")

HeartbeatResponse = complex_type(
    "HeartbeatResponse",
    req("currentTime", DATETIME),
)

MeterValuesResponse = complex_type("MeterValuesResponse")

RemoteStartTransactionResponse = complex_type(
    "RemoteStartTransactionResponse",
    req("status", RemoteStartStopStatus),
)

RemoteStopTransactionRequest = complex_type(
    "RemoteStopTransactionRequest",
    req("transactionId", INT),
)

RemoteStopTransactionResponse = complex_type(
    "RemoteStopTransactionResponse",
    req("status", RemoteStartStopStatus),
)

ReserveNowRequest = complex_type(
    "ReserveNowRequest",
    req("connectorId", INT),
    req("expiryDate", DATETIME),
    req("idTag", IdToken),
    opt("parentIdTag", IdToken),
    req("reservationId", INT),
)

ReserveNowResponse = complex_type(
    "ReserveNowResponse",
    req("status", ReservationStatus),
)

ResetRequest = complex_type(
    "ResetRequest",
    req("type", ResetType),
)

ResetResponse = complex_type(
    "ResetResponse",
    req("status", ResetStatus),
)

StartTransactionRequest = complex_type(
    "StartTransactionRequest",
    req("connectorId", INT),
    req("idTag", IdToken),
    req("timestamp", DATETIME),
    req("meterStart", INT),
    opt("reservationId", INT),
)

StartTransactionResponse = complex_type(
    "StartTransactionResponse",
    req("transactionId", INT),
    req("idTagInfo", IdTagInfo),
)

StatusNotificationResponse = complex_type("StatusNotificationResponse")

StopTransactionResponse = complex_type(
    "StopTransactionResponse",
    opt("idTagInfo", IdTagInfo),
)

UnlockConnectorRequest = complex_type(
    "UnlockConnectorRequest",
    req("connectorId", INT),
)

UpdateFirmwareRequest = complex_type(
    "UpdateFirmwareRequest",
    req("retrieveDate", DATETIME),
    req("location", ANYURI),
    opt("retries", INT),
    opt("retryInterval", INT),
)

UpdateFirmwareResponse = complex_type("UpdateFirmwareResponse")


#: The CP→CS operations: the same ten in 1.5 and 1.6.
CENTRAL_OPERATIONS = """Authorize BootNotification DataTransfer DiagnosticsStatusNotification
    FirmwareStatusNotification Heartbeat MeterValues StartTransaction StatusNotification
    StopTransaction"""

#: The CS→CP operations of 1.5; 1.6 adds smart charging and remote trigger.
CHARGEPOINT_OPERATIONS_15 = """CancelReservation ChangeAvailability ChangeConfiguration ClearCache
    DataTransfer GetConfiguration GetDiagnostics GetLocalListVersion RemoteStartTransaction
    RemoteStopTransaction ReserveNow Reset SendLocalList UnlockConnector UpdateFirmware"""
CHARGEPOINT_OPERATIONS_16 = CHARGEPOINT_OPERATIONS_15 + """
    ClearChargingProfile GetCompositeSchedule SetChargingProfile TriggerMessage"""
