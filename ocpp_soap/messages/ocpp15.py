"""OCPP 1.5 (namespaces ``urn://Ocpp/Cs/2012/06/`` and ``urn://Ocpp/Cp/2012/06/``).

What differs from 1.6: ``heartbeatInterval`` in BootNotification.conf, meter values as text with
attributes, ``transactionData`` wrapping ``values``, ``localAuthorisationList`` (British spelling),
fewer enum values, no Pending registration, and no smart-charging or trigger operations.
"""

from ocpp_soap.messages import types as T
from ocpp_soap.messages.schema import (
    BOOLEAN,
    DATETIME,
    INT,
    STRING,
    Attribute,
    TextWithAttributes,
    complex_type,
    enum,
    many,
    opt,
    req,
    text,
    version_services,
)

VERSION = "1.5"

ChargeBoxSerialNumber = text("ChargeBoxSerialNumber", 25)

ChargePointErrorCode = enum(
    "ChargePointErrorCode",
    "ConnectorLockFailure HighTemperature Mode3Error NoError PowerMeterFailure PowerSwitchFailure ReaderFailure ResetFailure GroundFailure OverCurrentFailure UnderVoltage WeakSignal OtherError",
)

ChargePointModel = text("ChargePointModel", 20)

ChargePointSerialNumber = text("ChargePointSerialNumber", 25)

ChargePointStatus = enum("ChargePointStatus", "Available Occupied Faulted Unavailable Reserved")

ChargePointVendor = text("ChargePointVendor", 20)

ConfigurationStatus = enum("ConfigurationStatus", "Accepted Rejected NotSupported")

DiagnosticsStatus = enum("DiagnosticsStatus", "Uploaded UploadFailed")

FirmwareStatus = enum("FirmwareStatus", "Downloaded DownloadFailed InstallationFailed Installed")

FirmwareVersion = text("FirmwareVersion", 50)

IccidString = text("IccidString", 20)

ImsiString = text("ImsiString", 20)

Location = enum("Location", "Inlet Outlet Body")

Measurand = enum(
    "Measurand",
    "Energy.Active.Export.Register Energy.Active.Import.Register Energy.Reactive.Export.Register Energy.Reactive.Import.Register Energy.Active.Export.Interval Energy.Active.Import.Interval Energy.Reactive.Export.Interval Energy.Reactive.Import.Interval Power.Active.Export Power.Active.Import Power.Reactive.Export Power.Reactive.Import Current.Export Current.Import Voltage Temperature",
)

MeterSerialNumber = text("MeterSerialNumber", 25)

MeterType = text("MeterType", 25)

ReadingContext = enum(
    "ReadingContext",
    "Interruption.Begin Interruption.End Sample.Clock Sample.Periodic Transaction.Begin Transaction.End",
)

RegistrationStatus = enum("RegistrationStatus", "Accepted Rejected")

UnitOfMeasure = enum("UnitOfMeasure", "Wh kWh varh kvarh W kW var kvar Amp Volt Celsius")

UnlockStatus = enum("UnlockStatus", "Accepted Rejected")

UpdateStatus = enum("UpdateStatus", "Accepted Failed HashError NotSupported VersionMismatch")

AuthorisationData = complex_type(
    "AuthorisationData",
    req("idTag", T.IdToken),
    opt("idTagInfo", T.IdTagInfo),
)

BootNotificationRequest = complex_type(
    "BootNotificationRequest",
    req("chargePointVendor", ChargePointVendor),
    req("chargePointModel", ChargePointModel),
    opt("chargePointSerialNumber", ChargePointSerialNumber),
    opt("chargeBoxSerialNumber", ChargeBoxSerialNumber),
    opt("firmwareVersion", FirmwareVersion),
    opt("iccid", IccidString),
    opt("imsi", ImsiString),
    opt("meterType", MeterType),
    opt("meterSerialNumber", MeterSerialNumber),
)

BootNotificationResponse = complex_type(
    "BootNotificationResponse",
    req("status", RegistrationStatus),
    req("currentTime", DATETIME),
    req("heartbeatInterval", INT),
)

ChangeConfigurationRequest = complex_type(
    "ChangeConfigurationRequest",
    req("key", STRING),
    req("value", STRING),
)

ChangeConfigurationResponse = complex_type(
    "ChangeConfigurationResponse",
    req("status", ConfigurationStatus),
)

DataTransferRequest = complex_type(
    "DataTransferRequest",
    req("vendorId", STRING),
    opt("messageId", STRING),
    opt("data", STRING),
)

DiagnosticsStatusNotificationRequest = complex_type(
    "DiagnosticsStatusNotificationRequest",
    req("status", DiagnosticsStatus),
)

FirmwareStatusNotificationRequest = complex_type(
    "FirmwareStatusNotificationRequest",
    req("status", FirmwareStatus),
)

GetConfigurationRequest = complex_type(
    "GetConfigurationRequest",
    many("key", STRING),
)

KeyValue = complex_type(
    "KeyValue",
    req("key", STRING),
    req("readonly", BOOLEAN),
    opt("value", STRING),
)

GetConfigurationResponse = complex_type(
    "GetConfigurationResponse",
    many("configurationKey", KeyValue),
    many("unknownKey", STRING),
)

GetDiagnosticsResponse = complex_type(
    "GetDiagnosticsResponse",
    opt("fileName", STRING),
)

MeterValue = complex_type(
    "MeterValue",
    req("timestamp", DATETIME),
    many(
        "value",
        TextWithAttributes(
            STRING,
            (
                Attribute("context", ReadingContext),
                Attribute("format", T.ValueFormat),
                Attribute("measurand", Measurand),
                Attribute("location", Location),
                Attribute("unit", UnitOfMeasure),
            ),
        ),
        1,
    ),
)

MeterValuesRequest = complex_type(
    "MeterValuesRequest",
    req("connectorId", INT),
    opt("transactionId", INT),
    many("values", MeterValue),
)

RemoteStartTransactionRequest = complex_type(
    "RemoteStartTransactionRequest",
    req("idTag", T.IdToken),
    opt("connectorId", INT),
)

SendLocalListRequest = complex_type(
    "SendLocalListRequest",
    req("updateType", T.UpdateType),
    req("listVersion", INT),
    many("localAuthorisationList", AuthorisationData),
    opt("hash", STRING),
)

SendLocalListResponse = complex_type(
    "SendLocalListResponse",
    req("status", UpdateStatus),
    opt("hash", STRING),
)

StatusNotificationRequest = complex_type(
    "StatusNotificationRequest",
    req("connectorId", INT),
    req("status", ChargePointStatus),
    req("errorCode", ChargePointErrorCode),
    opt("info", STRING),
    opt("timestamp", DATETIME),
    opt("vendorId", STRING),
    opt("vendorErrorCode", STRING),
)

TransactionData = complex_type(
    "TransactionData",
    many("values", MeterValue),
)

StopTransactionRequest = complex_type(
    "StopTransactionRequest",
    req("transactionId", INT),
    opt("idTag", T.IdToken),
    req("timestamp", DATETIME),
    req("meterStop", INT),
    many("transactionData", TransactionData),
)

UnlockConnectorResponse = complex_type(
    "UnlockConnectorResponse",
    req("status", UnlockStatus),
)


SERVICES = version_services(
    VERSION, globals(), vars(T), T.CENTRAL_OPERATIONS, T.CHARGEPOINT_OPERATIONS_15
)
