"""What the simulated charge point does, by itself, for each CS→CP operation.

Each method takes the neutral request payload and returns the neutral reply payload, choosing the
status values of the charge point's version. Anything that sends messages back to the CS (a
StartTransaction after a RemoteStartTransaction, the message a TriggerMessage asks for, a reboot) is
deferred to the scheduler, so the reply reaches the CS first, as OCPP expects.

:class:`BuiltinOperations` holds a :class:`~ocpp_soap.chargepoint._core.ChargePointCore` and acts
on it; the core does not know this module (operations are one client of the core, as the shell
and the admin API are). It works with the core's internals (its lock, its timers) because it is
the core's own behaviour written in a module of its own: both are private to the package.
A user's override (``ChargePoint.on``) replaces one of these methods, and may still call it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from ocpp_soap.chargepoint import _transfer as transfer
from ocpp_soap.chargepoint._connector import Reservation
from ocpp_soap.chargepoint._core import ChargePointCore

log = logging.getLogger(__name__)

TRIGGERABLE = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
               "Heartbeat", "MeterValues", "StatusNotification")


class BuiltinOperations:
    """The simulator's real behaviour for every CS→CP operation of both versions."""

    def __init__(self, core: ChargePointCore) -> None:
        self.core = core

    # ---------------------------------------------------------------- helpers
    def _valid_connector(self, cid: Any, allow_zero: bool = True) -> bool:
        return isinstance(cid, int) and (0 if allow_zero else 1) <= cid <= len(self.core.connectors)

    # ---------------------------------------------------------------- transactions
    def remote_start(self, payload: dict) -> dict:
        tag = payload["idTag"]
        cid = payload.get("connectorId")
        profile = payload.get("chargingProfile")
        if profile is not None and (self.core.version == "1.5"
                                    or profile.get("chargingProfilePurpose") != "TxProfile"
                                    or profile.get("transactionId") is not None):
            return {"status": "Rejected"}
        with self.core._lock:
            if cid is not None and not self._valid_connector(cid, allow_zero=False):
                return {"status": "Rejected"}
            c = self.core._pick_connector(cid, tag)
            if c is None or (c.reservation and not c.reservation.matches(tag, None)):
                return {"status": "Rejected"}
            # claim the connector now so a second request is refused
            self.core._set_pending(c, tag, None, profile)
            cid = c.id
        self.core._defer(self._remote_start_continue, cid, tag)
        return {"status": "Accepted"}

    def _remote_start_continue(self, cid: int, tag: str) -> None:
        parent = None
        if self.core.config.bool("AuthorizeRemoteTxRequests"):
            info = self.core._authorize(tag)
            if info.get("status") != "Accepted":
                with self.core._lock:
                    c = self.core.connectors[cid]
                    if c.pending_tag == tag:
                        c.cancel_pending()
                self.core._notify_status()
                return
            parent = info.get("parentIdTag")
        start = None
        with self.core._lock:
            c = self.core.connectors[cid]
            if c.pending_tag != tag:
                return
            c.pending_parent = parent
            if c.plugged and self.core._usable(c):
                start = (c.pending_tag, parent, c.pending_profile)
                c.cancel_pending()
        self.core._notify_status()
        if start:
            self.core._start_transaction(cid, *start)

    def remote_stop(self, payload: dict) -> dict:
        tid = payload["transactionId"]
        with self.core._lock:
            for c in self.core.connectors.values():
                tx = c.transaction
                if tx is not None and tid in (tx.id, tx.transaction_id):
                    self.core._defer(self._stop_if, c.id, tx.local_id, "Remote")
                    return {"status": "Accepted"}
        return {"status": "Rejected"}

    def _stop_if(self, cid: int, local_id: int, reason: str) -> None:
        with self.core._lock:
            tx = self.core.connectors[cid].transaction
            if tx is None or tx.local_id != local_id:
                return
        self.core.stop_transaction(cid, reason)

    def unlock_connector(self, payload: dict) -> dict:
        cid = payload["connectorId"]
        if not self._valid_connector(cid, allow_zero=False):
            return {"status": "NotSupported" if self.core.version == "1.6" else "Rejected"}
        with self.core._lock:
            tx = self.core.connectors[cid].transaction
            if tx is not None:
                self.core._defer(self._stop_if, cid, tx.local_id, "UnlockCommand")
        return {"status": "Unlocked" if self.core.version == "1.6" else "Accepted"}

    # ---------------------------------------------------------------- device management
    def reset(self, payload: dict) -> dict:
        kind = payload.get("type")
        if kind not in ("Soft", "Hard"):
            return {"status": "Rejected"}
        self.core._defer(self.core._reboot, "SoftReset" if kind == "Soft" else "HardReset")
        return {"status": "Accepted"}

    def change_availability(self, payload: dict) -> dict:
        cid, kind = payload["connectorId"], payload["type"]
        if not self._valid_connector(cid) or kind not in ("Operative", "Inoperative"):
            return {"status": "Rejected"}
        target = kind == "Operative"
        scheduled = False
        with self.core._lock:
            targets = list(self.core.connectors.values()) if cid == 0 else [self.core.connectors[cid]]
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
                    self.core.box_scheduled = kind
                else:
                    self.core.box_operative = target
                    self.core.box_scheduled = None
            self.core._save()
        self.core._defer(self.core._notify_status)
        return {"status": "Scheduled" if scheduled else "Accepted"}

    def change_configuration(self, payload: dict) -> dict:
        return {"status": self.core.configure(payload["key"], str(payload["value"]))}

    def get_configuration(self, payload: dict) -> dict:
        keys = payload.get("key") or None
        with self.core._lock:
            known, unknown = self.core.config.get(keys)
        reply: dict[str, Any] = {"configurationKey": known}
        if unknown:
            reply["unknownKey"] = unknown
        return reply

    def clear_cache(self, payload: dict) -> dict:
        with self.core._lock:
            self.core.auth.clear_cache()
            self.core._save()
        return {"status": "Accepted"}

    def data_transfer(self, payload: dict) -> dict:
        vendor = self.core.sim.data_transfer_vendor or self.core.sim.vendor
        if payload.get("vendorId") != vendor:
            return {"status": "UnknownVendorId"}
        reply = {"status": "Accepted"}
        if payload.get("data") is not None:
            reply["data"] = payload["data"]  # the simulator echoes what it was sent
        return reply

    # ---------------------------------------------------------------- local authorization
    def send_local_list(self, payload: dict) -> dict:
        with self.core._lock:
            status = self.core.auth.update(
                payload.get("updateType"), payload.get("listVersion"),
                payload.get("localAuthorizationList"),
                send_max=self.core.config.int("SendLocalListMaxLength"),
                list_max=self.core.config.int("LocalAuthListMaxLength"),
                require_info_on_full=self.core.version == "1.6")
            if status == "Accepted":
                self.core._save()
        return {"status": status}

    def get_local_list_version(self, payload: dict) -> dict:
        return {"listVersion": self.core.auth.list_version}

    # ---------------------------------------------------------------- reservations
    def reserve_now(self, payload: dict) -> dict:
        cid = payload["connectorId"]
        rid = payload["reservationId"]
        expiry: datetime = payload["expiryDate"]
        if not self._valid_connector(cid) or expiry <= self.core.now():
            return {"status": "Rejected"}
        if cid == 0 and self.core.version == "1.6" and not self.core.config.bool("ReserveConnectorZeroSupported"):
            return {"status": "Rejected"}
        with self.core._lock:
            for c in self.core.connectors.values():  # same id: this replaces the old reservation
                if c.reservation and c.reservation.reservation_id == rid:
                    c.cancel_reservation()
            if cid == 0:
                free = [c for c in self.core.connectors.values() if self.core._status_of(c) == "Available"]
                if not free:
                    states = {self.core._status_of(c) for c in self.core.connectors.values()}
                    for answer in ("Faulted", "Unavailable"):
                        if states == {answer}:
                            return {"status": answer}
                    return {"status": "Occupied"}
                c = free[0]
            else:
                c = self.core.connectors[cid]
            status = self.core._status_of(c)
            if status in ("Faulted", "Unavailable"):
                return {"status": status}
            if status != "Available":
                return {"status": "Occupied"}
            c.reservation = Reservation(rid, payload["idTag"], expiry, payload.get("parentIdTag"))
            self.core._arm_reservation(c)
            self.core._save()
        self.core._defer(self.core._notify_status)
        return {"status": "Accepted"}

    def cancel_reservation(self, payload: dict) -> dict:
        rid = payload["reservationId"]
        with self.core._lock:
            for c in self.core.connectors.values():
                if c.reservation and c.reservation.reservation_id == rid:
                    c.cancel_reservation()
                    self.core._save()
                    self.core._defer(self.core._notify_status)
                    return {"status": "Accepted"}
        return {"status": "Rejected"}

    # ---------------------------------------------------------------- diagnostics and firmware
    def get_diagnostics(self, payload: dict) -> dict:
        stamp = self.core.now().strftime("%Y%m%dT%H%M%SZ")
        file_name = f"diagnostics-{self.core.identity}-{stamp}.json"
        retries = int(payload.get("retries") or 0)
        interval = int(payload.get("retryInterval") or 5)
        self.core._defer(self._upload_diagnostics, payload["location"], file_name, retries, interval, True)
        return {"fileName": file_name}

    def _diagnostics_content(self) -> bytes:
        doc = {"generated": self.core.now().isoformat(), "state": self.core.state(),
               "configuration": self.core.config.snapshot()}
        return json.dumps(doc, indent=1, default=str).encode()

    def _upload_diagnostics(self, location: str, file_name: str, retries: int,
                            interval: int, first: bool) -> None:
        if first and self.core.version == "1.6":
            self.core.diagnostics_status = "Uploading"
            self._notify("DiagnosticsStatusNotification", {"status": "Uploading"})
        try:
            transfer.upload(location, file_name, self._diagnostics_content())
        except Exception as exc:
            log.info("%s: diagnostics upload to %s failed: %s", self.core.identity, location, exc)
            if retries > 0:
                self.core.scheduler.call_later(interval, self._upload_diagnostics, location, file_name,
                                          retries - 1, interval, False)
                return
            status = "UploadFailed"
        else:
            status = "Uploaded"
        self.core.diagnostics_status = "Idle"
        self._notify("DiagnosticsStatusNotification", {"status": status})

    def update_firmware(self, payload: dict) -> dict:
        retries = int(payload.get("retries") or 0)
        interval = int(payload.get("retryInterval") or 5)
        self.core.scheduler.call_at(payload["retrieveDate"], self._download_firmware,
                               payload["location"], retries, interval)
        return {}

    def _download_firmware(self, location: str, retries: int, interval: int) -> None:
        v16 = self.core.version == "1.6"
        if v16:
            self.core.firmware_status = "Downloading"
            self._notify("FirmwareStatusNotification", {"status": "Downloading"})
        try:
            content = transfer.download(location)
        except Exception as exc:
            log.info("%s: firmware download from %s failed: %s", self.core.identity, location, exc)
            if retries > 0:
                self.core.scheduler.call_later(interval, self._download_firmware, location, retries - 1, interval)
                return
            self.core.firmware_status = "Idle"
            self._notify("FirmwareStatusNotification", {"status": "DownloadFailed"})
            return
        self._notify("FirmwareStatusNotification", {"status": "Downloaded"})
        if v16:
            self.core.firmware_status = "Installing"
            self._notify("FirmwareStatusNotification", {"status": "Installing"})
        with self.core._lock:
            self.core.firmware_version = transfer.firmware_version_of(location, content)
            self.core._save()
        self.core.firmware_status = "Idle"
        self._notify("FirmwareStatusNotification", {"status": "Installed"})
        self.core._reboot("Reboot")

    def _notify(self, action: str, payload: dict) -> None:
        try:
            self.core._call(action, payload)
        except Exception as exc:
            log.info("%s: %s not sent: %s", self.core.identity, action, exc)

    # ---------------------------------------------------------------- smart charging (1.6)
    def set_charging_profile(self, payload: dict) -> dict:
        cid = payload["connectorId"]
        profile = payload["csChargingProfiles"]
        if not self._valid_connector(cid):
            return {"status": "Rejected"}
        with self.core._lock:
            tx = self.core.connectors[cid].transaction if cid else None
            if (profile.get("chargingProfilePurpose") == "TxProfile" and tx is not None
                    and profile.get("transactionId") not in (None, tx.id, tx.transaction_id)):
                return {"status": "Rejected"}
            status = self.core.profiles.validate(
                cid, profile, len(self.core.connectors), self.core.config.int("ChargeProfileMaxStackLevel"),
                self.core.config.int("ChargingScheduleMaxPeriods"),
                self.core.config.csl("ChargingScheduleAllowedChargingRateUnit"), has_tx=tx is not None)
            if status == "Accepted":
                status = self.core.profiles.install(cid, profile, self.core.now(),
                                               self.core.config.int("MaxChargingProfilesInstalled"))
            if status == "Accepted":
                self.core._save()
        if status == "Accepted":
            self.core._refresh_power()
            self.core._defer(self.core._notify_status)
        return {"status": status}

    def clear_charging_profile(self, payload: dict) -> dict:
        with self.core._lock:
            removed = self.core.profiles.clear(payload.get("id"), payload.get("connectorId"),
                                          payload.get("chargingProfilePurpose"), payload.get("stackLevel"))
            if removed:
                self.core._save()
        if removed:
            self.core._refresh_power()
            self.core._defer(self.core._notify_status)
        return {"status": "Accepted" if removed else "Unknown"}

    def get_composite_schedule(self, payload: dict) -> dict:
        cid = payload["connectorId"]
        unit = payload.get("chargingRateUnit")
        if not self._valid_connector(cid) or unit not in (None, "A", "W"):
            return {"status": "Rejected"}
        now = self.core.now()
        with self.core._lock:
            ctx = self.core._tx_context(self.core.connectors[cid]) if cid else None
            default_w = self.core.electrical.max_power_w * (len(self.core.connectors) if cid == 0 else 1)
            schedule = self.core.profiles.composite(cid, now, int(payload["duration"]), unit, ctx, default_w)
        return {"status": "Accepted", "connectorId": cid, "scheduleStart": now,
                "chargingSchedule": schedule}

    # ---------------------------------------------------------------- remote trigger (1.6)
    def trigger_message(self, payload: dict) -> dict:
        what = payload["requestedMessage"]
        cid = payload.get("connectorId")
        if what not in TRIGGERABLE:
            return {"status": "NotImplemented"}
        if cid is not None and not self._valid_connector(cid):
            return {"status": "Rejected"}
        self.core._defer(self._send_triggered, what, cid)
        return {"status": "Accepted"}

    def _send_triggered(self, what: str, cid: int | None) -> None:
        if what == "BootNotification":
            self.core._set_timer("boot", None, self.core._boot)
            self.core._boot()
        elif what == "Heartbeat":
            self._notify("Heartbeat", {})
        elif what == "DiagnosticsStatusNotification":
            self._notify(what, {"status": self.core.diagnostics_status})
        elif what == "FirmwareStatusNotification":
            self._notify(what, {"status": self.core.firmware_status})
        elif what == "StatusNotification":
            ids = [cid] if cid is not None else [0, *self.core.connectors]
            with self.core._lock:
                todo = [(i, self.core.box_status() if i == 0 else self.core._status_of(self.core.connectors[i]),
                         self.core.box_error if i == 0 else self.core.connectors[i].error_code) for i in ids]
            for i, status, error in todo:
                self._notify("StatusNotification", self.core._status_payload(i, status, error))
        elif what == "MeterValues":
            ids = [cid] if cid else list(self.core.connectors)
            now = self.core.now()
            out = []
            with self.core._lock:
                for i in ids:
                    c = self.core.connectors[i]
                    c.meter.update(now)
                    measurands = self.core.config.csl("MeterValuesSampledData") or ["Energy.Active.Import.Register"]
                    p: dict[str, Any] = {"connectorId": i,
                                         "meterValue": [self.core._meter_value(c, measurands, "Trigger", now)]}
                    if c.transaction is not None:
                        p["transactionId"] = c.transaction.id
                    out.append(p)
            for p in out:
                self._notify("MeterValues", p)
