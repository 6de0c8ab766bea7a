"""OCPP 1.6 (namespaces ``urn://Ocpp/Cs/2015/10/`` and ``urn://Ocpp/Cp/2015/10/``).

What differs from 1.5: ``interval`` in BootNotification.conf, ``SampledValue`` with child elements,
``transactionData`` as a list of MeterValue, stop reasons, Pending registration, the 1.6 connector
states, ``localAuthorizationList``, and the smart-charging and remote-trigger operations.
"""

from ocpp_soap.messages import types as T
from ocpp_soap.messages.schema import (
    BOOLEAN,
    DATETIME,
    DECIMAL,
    INT,
    STRING,
    Restricted,
    complex_type,
    enum,
    many,
    opt,
    req,
    text,
    version_services,
)

VERSION = "1.6"

ChargePointErrorCode = enum(
    "ChargePointErrorCode",
    "ConnectorLockFailure EVCommunicationError GroundFailure HighTemperature InternalError LocalListConflict NoError OtherError OverCurrentFailure OverVoltage PowerMeterFailure PowerSwitchFailure ReaderFailure ResetFailure UnderVoltage WeakSignal",
)

ChargePointStatus = enum(
    "ChargePointStatus",
    "Available Preparing Charging SuspendedEV SuspendedEVSE Finishing Reserved Faulted Unavailable",
)

ChargingProfileKindType = enum("ChargingProfileKindType", "Absolute Recurring Relative")

ChargingProfilePurposeType = enum(
    "ChargingProfilePurposeType", "ChargePointMaxProfile TxDefaultProfile TxProfile"
)

ChargingProfileStatus = enum("ChargingProfileStatus", "Accepted Rejected NotSupported")

ChargingRateUnitType = enum("ChargingRateUnitType", "W A")

CiString20Type = text("CiString20Type", 20)

CiString255Type = text("CiString255Type", 255)

CiString25Type = text("CiString25Type", 25)

CiString500Type = text("CiString500Type", 500)

CiString50Type = text("CiString50Type", 50)

ClearChargingProfileStatus = enum("ClearChargingProfileStatus", "Accepted Unknown")

ConfigurationStatus = enum("ConfigurationStatus", "Accepted NotSupported RebootRequired Rejected")

DecimalOne = Restricted("DecimalOne", DECIMAL, fraction_digits=1)

DiagnosticsStatus = enum("DiagnosticsStatus", "Idle Uploaded UploadFailed Uploading")

FirmwareStatus = enum(
    "FirmwareStatus",
    "Downloaded DownloadFailed Downloading Idle InstallationFailed Installed Installing",
)

GetCompositeScheduleStatus = enum("GetCompositeScheduleStatus", "Accepted Rejected")

Location = enum("Location", "Body Cable EV Inlet Outlet")

Measurand = enum(
    "Measurand",
    "Current.Export Current.Import Current.Offered Energy.Active.Export.Register Energy.Active.Import.Register Energy.Reactive.Export.Register Energy.Reactive.Import.Register Energy.Active.Export.Interval Energy.Active.Import.Interval Energy.Reactive.Export.Interval Energy.Reactive.Import.Interval Frequency Power.Active.Export Power.Active.Import Power.Factor Power.Offered Power.Reactive.Export Power.Reactive.Import RPM SoC Temperature Voltage",
)

MessageTrigger = enum(
    "MessageTrigger",
    "BootNotification DiagnosticsStatusNotification FirmwareStatusNotification Heartbeat MeterValues StatusNotification",
)

Phase = enum("Phase", "L1 L2 L3 N L1-N L2-N L3-N L1-L2 L2-L3 L3-L1")

ReadingContext = enum(
    "ReadingContext",
    "Interruption.Begin Interruption.End Other Sample.Clock Sample.Periodic Transaction.Begin Transaction.End Trigger",
)

Reason = enum(
    "Reason",
    "EmergencyStop EVDisconnected HardReset Local Other PowerLoss Reboot Remote SoftReset UnlockCommand DeAuthorized",
)

RecurrencyKindType = enum("RecurrencyKindType", "Daily Weekly")

RegistrationStatus = enum("RegistrationStatus", "Accepted Pending Rejected")

TriggerMessageStatus = enum("TriggerMessageStatus", "Accepted Rejected NotImplemented")

UnitOfMeasure = enum(
    "UnitOfMeasure",
    "Celsius Fahrenheit Wh kWh varh kvarh W kW VA kVA var kvar A V K Percent",
)

UnlockStatus = enum("UnlockStatus", "Unlocked UnlockFailed NotSupported")

UpdateStatus = enum("UpdateStatus", "Accepted Failed NotSupported VersionMismatch")

AuthorizationData = complex_type(
    "AuthorizationData",
    req("idTag", T.IdToken),
    opt("idTagInfo", T.IdTagInfo),
)

BootNotificationRequest = complex_type(
    "BootNotificationRequest",
    req("chargePointVendor", CiString20Type),
    req("chargePointModel", CiString20Type),
    opt("chargePointSerialNumber", CiString25Type),
    opt("chargeBoxSerialNumber", CiString25Type),
    opt("firmwareVersion", CiString50Type),
    opt("iccid", CiString20Type),
    opt("imsi", CiString20Type),
    opt("meterType", CiString25Type),
    opt("meterSerialNumber", CiString25Type),
)

BootNotificationResponse = complex_type(
    "BootNotificationResponse",
    req("status", RegistrationStatus),
    req("currentTime", DATETIME),
    req("interval", INT),
)

ChangeConfigurationRequest = complex_type(
    "ChangeConfigurationRequest",
    req("key", CiString50Type),
    req("value", CiString500Type),
)

ChangeConfigurationResponse = complex_type(
    "ChangeConfigurationResponse",
    req("status", ConfigurationStatus),
)

ChargingSchedulePeriod = complex_type(
    "ChargingSchedulePeriod",
    req("startPeriod", INT),
    req("limit", DecimalOne),
    opt("numberPhases", INT),
)

ChargingSchedule = complex_type(
    "ChargingSchedule",
    opt("duration", INT),
    opt("startSchedule", DATETIME),
    req("chargingRateUnit", ChargingRateUnitType),
    many("chargingSchedulePeriod", ChargingSchedulePeriod, 1),
    opt("minChargingRate", DecimalOne),
)

ChargingProfile = complex_type(
    "ChargingProfile",
    req("chargingProfileId", INT),
    opt("transactionId", INT),
    req("stackLevel", INT),
    req("chargingProfilePurpose", ChargingProfilePurposeType),
    req("chargingProfileKind", ChargingProfileKindType),
    opt("recurrencyKind", RecurrencyKindType),
    opt("validFrom", DATETIME),
    opt("validTo", DATETIME),
    req("chargingSchedule", ChargingSchedule),
)

ClearChargingProfileRequest = complex_type(
    "ClearChargingProfileRequest",
    opt("id", INT),
    opt("connectorId", INT),
    opt("chargingProfilePurpose", ChargingProfilePurposeType),
    opt("stackLevel", INT),
)

ClearChargingProfileResponse = complex_type(
    "ClearChargingProfileResponse",
    req("status", ClearChargingProfileStatus),
)

DataTransferRequest = complex_type(
    "DataTransferRequest",
    req("vendorId", CiString255Type),
    opt("messageId", CiString50Type),
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

GetCompositeScheduleRequest = complex_type(
    "GetCompositeScheduleRequest",
    req("connectorId", INT),
    req("duration", INT),
    opt("chargingRateUnit", ChargingRateUnitType),
)

GetCompositeScheduleResponse = complex_type(
    "GetCompositeScheduleResponse",
    req("status", GetCompositeScheduleStatus),
    opt("connectorId", INT),
    opt("scheduleStart", DATETIME),
    opt("chargingSchedule", ChargingSchedule),
)

GetConfigurationRequest = complex_type(
    "GetConfigurationRequest",
    many("key", CiString50Type),
)

KeyValue = complex_type(
    "KeyValue",
    req("key", CiString50Type),
    req("readonly", BOOLEAN),
    opt("value", CiString500Type),
)

GetConfigurationResponse = complex_type(
    "GetConfigurationResponse",
    many("configurationKey", KeyValue),
    many("unknownKey", CiString50Type),
)

GetDiagnosticsResponse = complex_type(
    "GetDiagnosticsResponse",
    opt("fileName", CiString255Type),
)

SampledValue = complex_type(
    "SampledValue",
    req("value", STRING),
    opt("context", ReadingContext),
    opt("format", T.ValueFormat),
    opt("measurand", Measurand),
    opt("phase", Phase),
    opt("location", Location),
    opt("unit", UnitOfMeasure),
)

MeterValue = complex_type(
    "MeterValue",
    req("timestamp", DATETIME),
    many("sampledValue", SampledValue, 1),
)

MeterValuesRequest = complex_type(
    "MeterValuesRequest",
    req("connectorId", INT),
    opt("transactionId", INT),
    many("meterValue", MeterValue),
)

RemoteStartTransactionRequest = complex_type(
    "RemoteStartTransactionRequest",
    opt("connectorId", INT),
    req("idTag", T.IdToken),
    opt("chargingProfile", ChargingProfile),
)

SendLocalListRequest = complex_type(
    "SendLocalListRequest",
    req("listVersion", INT),
    many("localAuthorizationList", AuthorizationData),
    req("updateType", T.UpdateType),
)

SendLocalListResponse = complex_type(
    "SendLocalListResponse",
    req("status", UpdateStatus),
)

SetChargingProfileRequest = complex_type(
    "SetChargingProfileRequest",
    req("connectorId", INT),
    req("csChargingProfiles", ChargingProfile),
)

SetChargingProfileResponse = complex_type(
    "SetChargingProfileResponse",
    req("status", ChargingProfileStatus),
)

StatusNotificationRequest = complex_type(
    "StatusNotificationRequest",
    req("connectorId", INT),
    req("status", ChargePointStatus),
    req("errorCode", ChargePointErrorCode),
    opt("info", CiString50Type),
    opt("timestamp", DATETIME),
    opt("vendorId", CiString255Type),
    opt("vendorErrorCode", CiString50Type),
)

StopTransactionRequest = complex_type(
    "StopTransactionRequest",
    req("transactionId", INT),
    opt("idTag", T.IdToken),
    req("timestamp", DATETIME),
    req("meterStop", INT),
    opt("reason", Reason),
    many("transactionData", MeterValue),
)

TriggerMessageRequest = complex_type(
    "TriggerMessageRequest",
    req("requestedMessage", MessageTrigger),
    opt("connectorId", INT),
)

TriggerMessageResponse = complex_type(
    "TriggerMessageResponse",
    req("status", TriggerMessageStatus),
)

UnlockConnectorResponse = complex_type(
    "UnlockConnectorResponse",
    req("status", UnlockStatus),
)


SERVICES = version_services(
    VERSION, globals(), vars(T), T.CENTRAL_OPERATIONS, T.CHARGEPOINT_OPERATIONS_16
)
