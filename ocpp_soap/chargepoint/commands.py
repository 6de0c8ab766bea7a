"""What the simulated charge point does for each CS→CP operation.

Each method takes the neutral request payload and returns the neutral reply payload, choosing the
status values of the charge point's version. Anything that sends messages back to the CS (a
StartTransaction after a RemoteStartTransaction, the message a TriggerMessage asks for, a reboot) is
deferred to the scheduler, so the reply reaches the CS first, as OCPP expects.

This is a mixin of :class:`ocpp_soap.chargepoint.core.ChargePoint`; it uses the core's state and
helpers directly.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocpp_soap.chargepoint import transfer
from ocpp_soap.chargepoint.connector import Reservation

if TYPE_CHECKING:
    from ocpp_soap.chargepoint.core import ChargePoint

log = logging.getLogger(__name__)

TRIGGERABLE = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
               "Heartbeat", "MeterValues", "StatusNotification")


class Commands:
    """CS→CP operations (mixed into ChargePoint)."""

    # ---------------------------------------------------------------- helpers
    def _valid_connector(self: ChargePoint, cid: Any, allow_zero: bool = True) -> bool:
        return isinstance(cid, int) and (0 if allow_zero else 1) <= cid <= len(self.connectors)

    # ---------------------------------------------------------------- transactions
    def remote_start(self: ChargePoint, payload: dict) -> dict:
        tag = payload["idTag"]
        cid = payload.get("connectorId")
        profile = payload.get("chargingProfile")
        if profile is not None and (self.version == "1.5"
                                    or profile.get("chargingProfilePurpose") != "TxProfile"
                                    or profile.get("transactionId") is not None):
            return {"status": "Rejected"}
        with self._lock:
            if cid is not None and not self._valid_connector(cid, allow_zero=False):
                return {"status": "Rejected"}
            c = self._pick_connector(cid, tag)
            if c is None or (c.reservation and not c.reservation.matches(tag, None)):
                return {"status": "Rejected"}
            # claim the connector now so a second request is refused
            self._set_pending(c, tag, None, profile)
            cid = c.id
        self._defer(self._remote_start_continue, cid, tag)
        return {"status": "Accepted"}

    def _remote_start_continue(self: ChargePoint, cid: int, tag: str) -> None:
        parent = None
        if self.config.bool("AuthorizeRemoteTxRequests"):
            info = self._authorize(tag)
            if info.get("status") != "Accepted":
                with self._lock:
                    c = self.connectors[cid]
                    if c.pending_tag == tag:
                        c.cancel_pending()
                self._notify_status()
                return
            parent = info.get("parentIdTag")
        start = None
        with self._lock:
            c = self.connectors[cid]
            if c.pending_tag != tag:
                return
            c.pending_parent = parent
            if c.plugged and self._usable(c):
                start = (c.pending_tag, parent, c.pending_profile)
                c.cancel_pending()
        self._notify_status()
        if start:
            self._start_transaction(cid, *start)

    def remote_stop(self: ChargePoint, payload: dict) -> dict:
        tid = payload["transactionId"]
        with self._lock:
            for c in self.connectors.values():
                tx = c.transaction
                if tx is not None and tid in (tx.id, tx.transaction_id):
                    self._defer(self._stop_if, c.id, tx.local_id, "Remote")
                    return {"status": "Accepted"}
        return {"status": "Rejected"}

    def _stop_if(self: ChargePoint, cid: int, local_id: int, reason: str) -> None:
        with self._lock:
            tx = self.connectors[cid].transaction
            if tx is None or tx.local_id != local_id:
                return
        self.stop_transaction(cid, reason)

    def unlock_connector(self: ChargePoint, payload: dict) -> dict:
        cid = payload["connectorId"]
        if not self._valid_connector(cid, allow_zero=False):
            return {"status": "NotSupported" if self.version == "1.6" else "Rejected"}
        with self._lock:
            tx = self.connectors[cid].transaction
            if tx is not None:
                self._defer(self._stop_if, cid, tx.local_id, "UnlockCommand")
        return {"status": "Unlocked" if self.version == "1.6" else "Accepted"}

    # ---------------------------------------------------------------- device management
    def reset(self: ChargePoint, payload: dict) -> dict:
        kind = payload.get("type")
        if kind not in ("Soft", "Hard"):
            return {"status": "Rejected"}
        self._defer(self._reboot, "SoftReset" if kind == "Soft" else "HardReset")
        return {"status": "Accepted"}

    def change_availability(self: ChargePoint, payload: dict) -> dict:
        cid, kind = payload["connectorId"], payload["type"]
        if not self._valid_connector(cid) or kind not in ("Operative", "Inoperative"):
            return {"status": "Rejected"}
        target = kind == "Operative"
        scheduled = False
        with self._lock:
            targets = list(self.connectors.values()) if cid == 0 else [self.connectors[cid]]
            for c in targets:
                if c.transaction is not None and not target:
                    c.scheduled = kind
                    scheduled = True
                else:
                    c.operative = target
                    c.scheduled = None
                    if not target:
                        c.cancel_pending()
                        c.cancel_reservation()
            if cid == 0:
                if scheduled:
                    self.box_scheduled = kind
                else:
                    self.box_operative = target
                    self.box_scheduled = None
            self._save()
        self._defer(self._notify_status)
        return {"status": "Scheduled" if scheduled else "Accepted"}

    def change_configuration(self: ChargePoint, payload: dict) -> dict:
        key, value = payload["key"], str(payload["value"])
        with self._lock:
            status = self.config.change(key, value)
            if status in ("Accepted", "RebootRequired"):
                self._save()
        if status in ("Accepted", "RebootRequired"):
            name = key if key != "HeartBeatInterval" else "HeartbeatInterval"
            if name == "HeartbeatInterval" and self.registration == "Accepted":
                self._schedule_heartbeat()
            elif name == "ClockAlignedDataInterval" and self.registration == "Accepted":
                self._schedule_aligned()
            elif name == "MeterValueSampleInterval":
                with self._lock:
                    for c in self.connectors.values():
                        self._schedule_sample(c)
        return {"status": status}

    def get_configuration(self: ChargePoint, payload: dict) -> dict:
        keys = payload.get("key") or None
        with self._lock:
            known, unknown = self.config.get(keys)
        reply: dict[str, Any] = {"configurationKey": known}
        if unknown:
            reply["unknownKey"] = unknown
        return reply

    def clear_cache(self: ChargePoint, payload: dict) -> dict:
        with self._lock:
            self.auth.clear_cache()
            self._save()
        return {"status": "Accepted"}

    def data_transfer(self: ChargePoint, payload: dict) -> dict:
        vendor = self.sim.data_transfer_vendor or self.sim.vendor
        if payload.get("vendorId") != vendor:
            return {"status": "UnknownVendorId"}
        reply = {"status": "Accepted"}
        if payload.get("data") is not None:
            reply["data"] = payload["data"]  # the simulator echoes what it was sent
        return reply

    # ---------------------------------------------------------------- local authorization
    def send_local_list(self: ChargePoint, payload: dict) -> dict:
        with self._lock:
            status = self.auth.update(
                payload.get("updateType"), payload.get("listVersion"),
                payload.get("localAuthorizationList"),
                send_max=self.config.int("SendLocalListMaxLength"),
                list_max=self.config.int("LocalAuthListMaxLength"),
                require_info_on_full=self.version == "1.6")
            if status == "Accepted":
                self._save()
        return {"status": status}

    def get_local_list_version(self: ChargePoint, payload: dict) -> dict:
        return {"listVersion": self.auth.list_version}

    # ---------------------------------------------------------------- reservations
    def reserve_now(self: ChargePoint, payload: dict) -> dict:
        cid = payload["connectorId"]
        rid = payload["reservationId"]
        expiry: datetime = payload["expiryDate"]
        if not self._valid_connector(cid) or expiry <= self.now():
            return {"status": "Rejected"}
        if cid == 0 and self.version == "1.6" and not self.config.bool("ReserveConnectorZeroSupported"):
            return {"status": "Rejected"}
        with self._lock:
            for c in self.connectors.values():  # same id: this replaces the old reservation
                if c.reservation and c.reservation.reservation_id == rid:
                    c.cancel_reservation()
            if cid == 0:
                free = [c for c in self.connectors.values() if self._status_of(c) == "Available"]
                if not free:
                    states = {self._status_of(c) for c in self.connectors.values()}
                    for answer in ("Faulted", "Unavailable"):
                        if states == {answer}:
                            return {"status": answer}
                    return {"status": "Occupied"}
                c = free[0]
            else:
                c = self.connectors[cid]
            status = self._status_of(c)
            if status in ("Faulted", "Unavailable"):
                return {"status": status}
            if status != "Available":
                return {"status": "Occupied"}
            c.reservation = Reservation(rid, payload["idTag"], expiry, payload.get("parentIdTag"))
            self._arm_reservation(c)
            self._save()
        self._defer(self._notify_status)
        return {"status": "Accepted"}

    def cancel_reservation(self: ChargePoint, payload: dict) -> dict:
        rid = payload["reservationId"]
        with self._lock:
            for c in self.connectors.values():
                if c.reservation and c.reservation.reservation_id == rid:
                    c.cancel_reservation()
                    self._save()
                    self._defer(self._notify_status)
                    return {"status": "Accepted"}
        return {"status": "Rejected"}

    # ---------------------------------------------------------------- diagnostics and firmware
    def get_diagnostics(self: ChargePoint, payload: dict) -> dict:
        stamp = self.now().strftime("%Y%m%dT%H%M%SZ")
        file_name = f"diagnostics-{self.identity}-{stamp}.json"
        retries = int(payload.get("retries") or 0)
        interval = int(payload.get("retryInterval") or 5)
        self._defer(self._upload_diagnostics, payload["location"], file_name, retries, interval, True)
        return {"fileName": file_name}

    def _diagnostics_content(self: ChargePoint) -> bytes:
        doc = {"generated": self.now().isoformat(), "state": self.state(),
               "configuration": self.config.snapshot()}
        return json.dumps(doc, indent=1, default=str).encode()

    def _upload_diagnostics(self: ChargePoint, location: str, file_name: str, retries: int,
                            interval: int, first: bool) -> None:
        if first and self.version == "1.6":
            self.diagnostics_status = "Uploading"
            self._notify("DiagnosticsStatusNotification", {"status": "Uploading"})
        try:
            transfer.upload(location, file_name, self._diagnostics_content())
        except Exception as exc:
            log.info("%s: diagnostics upload to %s failed: %s", self.identity, location, exc)
            if retries > 0:
                self.scheduler.call_later(interval, self._upload_diagnostics, location, file_name,
                                          retries - 1, interval, False)
                return
            status = "UploadFailed"
        else:
            status = "Uploaded"
        self.diagnostics_status = "Idle"
        self._notify("DiagnosticsStatusNotification", {"status": status})

    def update_firmware(self: ChargePoint, payload: dict) -> dict:
        retries = int(payload.get("retries") or 0)
        interval = int(payload.get("retryInterval") or 5)
        self.scheduler.call_at(payload["retrieveDate"], self._download_firmware,
                               payload["location"], retries, interval)
        return {}

    def _download_firmware(self: ChargePoint, location: str, retries: int, interval: int) -> None:
        v16 = self.version == "1.6"
        if v16:
            self.firmware_status = "Downloading"
            self._notify("FirmwareStatusNotification", {"status": "Downloading"})
        try:
            content = transfer.download(location)
        except Exception as exc:
            log.info("%s: firmware download from %s failed: %s", self.identity, location, exc)
            if retries > 0:
                self.scheduler.call_later(interval, self._download_firmware, location, retries - 1, interval)
                return
            self.firmware_status = "Idle"
            self._notify("FirmwareStatusNotification", {"status": "DownloadFailed"})
            return
        self._notify("FirmwareStatusNotification", {"status": "Downloaded"})
        if v16:
            self.firmware_status = "Installing"
            self._notify("FirmwareStatusNotification", {"status": "Installing"})
        with self._lock:
            self.firmware_version = transfer.firmware_version_of(location, content)
            self._save()
        self.firmware_status = "Idle"
        self._notify("FirmwareStatusNotification", {"status": "Installed"})
        self._reboot("Reboot")

    def _notify(self: ChargePoint, action: str, payload: dict) -> None:
        try:
            self._call(action, payload)
        except Exception as exc:
            log.info("%s: %s not sent: %s", self.identity, action, exc)

    # ---------------------------------------------------------------- smart charging (1.6)
    def set_charging_profile(self: ChargePoint, payload: dict) -> dict:
        cid = payload["connectorId"]
        profile = payload["csChargingProfiles"]
        if not self._valid_connector(cid):
            return {"status": "Rejected"}
        with self._lock:
            tx = self.connectors[cid].transaction if cid else None
            if (profile.get("chargingProfilePurpose") == "TxProfile" and tx is not None
                    and profile.get("transactionId") not in (None, tx.id, tx.transaction_id)):
                return {"status": "Rejected"}
            status = self.profiles.validate(
                cid, profile, len(self.connectors), self.config.int("ChargeProfileMaxStackLevel"),
                self.config.int("ChargingScheduleMaxPeriods"),
                self.config.csl("ChargingScheduleAllowedChargingRateUnit"), has_tx=tx is not None)
            if status == "Accepted":
                status = self.profiles.install(cid, profile, self.now(),
                                               self.config.int("MaxChargingProfilesInstalled"))
            if status == "Accepted":
                self._save()
        if status == "Accepted":
            self._refresh_power()
            self._defer(self._notify_status)
        return {"status": status}

    def clear_charging_profile(self: ChargePoint, payload: dict) -> dict:
        with self._lock:
            removed = self.profiles.clear(payload.get("id"), payload.get("connectorId"),
                                          payload.get("chargingProfilePurpose"), payload.get("stackLevel"))
            if removed:
                self._save()
        if removed:
            self._refresh_power()
            self._defer(self._notify_status)
        return {"status": "Accepted" if removed else "Unknown"}

    def get_composite_schedule(self: ChargePoint, payload: dict) -> dict:
        cid = payload["connectorId"]
        unit = payload.get("chargingRateUnit")
        if not self._valid_connector(cid) or unit not in (None, "A", "W"):
            return {"status": "Rejected"}
        now = self.now()
        with self._lock:
            ctx = self._tx_context(self.connectors[cid]) if cid else None
            default_w = self.electrical.max_power_w * (len(self.connectors) if cid == 0 else 1)
            schedule = self.profiles.composite(cid, now, int(payload["duration"]), unit, ctx, default_w)
        return {"status": "Accepted", "connectorId": cid, "scheduleStart": now,
                "chargingSchedule": schedule}

    # ---------------------------------------------------------------- remote trigger (1.6)
    def trigger_message(self: ChargePoint, payload: dict) -> dict:
        what = payload["requestedMessage"]
        cid = payload.get("connectorId")
        if what not in TRIGGERABLE:
            return {"status": "NotImplemented"}
        if cid is not None and not self._valid_connector(cid):
            return {"status": "Rejected"}
        self._defer(self._send_triggered, what, cid)
        return {"status": "Accepted"}

    def _send_triggered(self: ChargePoint, what: str, cid: int | None) -> None:
        if what == "BootNotification":
            self._set_timer("boot", None, self._boot)
            self._boot()
        elif what == "Heartbeat":
            self._notify("Heartbeat", {})
        elif what == "DiagnosticsStatusNotification":
            self._notify(what, {"status": self.diagnostics_status})
        elif what == "FirmwareStatusNotification":
            self._notify(what, {"status": self.firmware_status})
        elif what == "StatusNotification":
            ids = [cid] if cid is not None else [0, *self.connectors]
            with self._lock:
                todo = [(i, self.box_status() if i == 0 else self._status_of(self.connectors[i]),
                         self.box_error if i == 0 else self.connectors[i].error_code) for i in ids]
            for i, status, error in todo:
                self._notify("StatusNotification", self._status_payload(i, status, error))
        elif what == "MeterValues":
            ids = [cid] if cid else list(self.connectors)
            now = self.now()
            out = []
            with self._lock:
                for i in ids:
                    c = self.connectors[i]
                    c.meter.update(now)
                    measurands = self.config.csl("MeterValuesSampledData") or ["Energy.Active.Import.Register"]
                    p: dict[str, Any] = {"connectorId": i,
                                         "meterValue": [self._meter_value(c, measurands, "Trigger", now)]}
                    if c.transaction is not None:
                        p["transactionId"] = c.transaction.id
                    out.append(p)
            for p in out:
                self._notify("MeterValues", p)
