"""The simulated charge point: lifecycle, connectors, transactions, metering, persistence.

Plain Python, no SOAP: the wire layer hands CS→CP requests to :mod:`._routing` (which answers
them with :mod:`._operations` or a user's override) and gives this object a ``central`` link
whose ``call(action, payload)`` sends CP→CS messages and returns the reply (raising
``ConnectionError`` when the CS cannot be reached). Payloads are neutral dicts (1.6 shape, official
field names); this class only picks the enum values its version allows.

Threads: timers come from a shared scheduler, requests from the wire layer, physical actions from a
shell or an admin API. One re-entrant lock guards the state; it is never held during a network call
(a CS that answers a CP message by calling back into the CP must not deadlock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ocpp_soap.chargepoint._config import Configuration, SimConfig
from ocpp_soap.chargepoint._connector import Connector, Reservation, Transaction
from ocpp_soap.chargepoint._localauth import LocalAuth
from ocpp_soap.chargepoint._meter import Electrical
from ocpp_soap.chargepoint._outbox import Outbox
from ocpp_soap.chargepoint._profiles import ProfileStore, TxContext
from ocpp_soap.chargepoint._scheduler import Scheduler, Timer
from ocpp_soap.chargepoint._state import StateFile, to_dt

log = logging.getLogger(__name__)

ERROR_CODES = {
    "1.5": {"ConnectorLockFailure", "GroundFailure", "HighTemperature", "Mode3Error", "NoError",
            "OtherError", "OverCurrentFailure", "PowerMeterFailure", "PowerSwitchFailure",
            "ReaderFailure", "ResetFailure", "UnderVoltage", "WeakSignal"},
    "1.6": {"ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
            "InternalError", "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure",
            "OverVoltage", "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure",
            "ResetFailure", "UnderVoltage", "WeakSignal"},
}


class CentralLink(Protocol):
    """How the core reaches the Central System (the wire layer implements it with zeep)."""

    def call(self, action: str, payload: dict) -> dict: ...


class ChargePointCore:
    """The state and behaviour of one simulated charge point of OCPP ``version`` ("1.5" or "1.6").

    Private to the package: users drive a charge point through the public
    :class:`ocpp_soap.chargepoint.ChargePoint`, which owns one of these as ``core``.
    """

    def __init__(self, identity: str, version: str = "1.6", connectors: int = 1,
                 config: SimConfig | dict | None = None, state_path: str | None = None,
                 central: CentralLink | None = None, scheduler: Any = None) -> None:
        if version not in ("1.5", "1.6"):
            raise ValueError(f"unsupported OCPP version {version!r}")
        self.identity = identity
        self.version = version
        self.sim = config if isinstance(config, SimConfig) else SimConfig.from_dict(config)
        self.central = central
        self.scheduler = scheduler or Scheduler.shared()
        self.clock = self.scheduler.clock
        self.electrical = Electrical(self.sim.power_w, self.sim.voltage, self.sim.phases, self.sim.battery_wh)
        self.config = Configuration(version, connectors, identity, self.sim.keys)
        self.auth = LocalAuth()
        self.profiles = ProfileStore(self.sim.voltage, self.sim.phases)
        self.connectors: dict[int, Connector] = {
            n: Connector.fresh(n, self.electrical) for n in range(1, connectors + 1)}
        self.box_operative = True
        self.box_scheduled: str | None = None
        self.box_error = "NoError"
        self.box_last_status: str | None = None
        self.registration: str | None = None
        self.online = False
        self.running = False
        self.firmware_version = self.sim.firmware_version
        self.diagnostics_status = "Idle"
        self.firmware_status = "Idle"
        self.next_local_id = -1
        self._lock = threading.RLock()
        self._status_lock = threading.Lock()
        self._timers: dict[str, Timer] = {}
        self._aligned_wh: dict[int, float] = {}
        self._store = StateFile(state_path)
        self.outbox = Outbox(self._call, self.scheduler,
                             attempts=lambda: self.config.int("TransactionMessageAttempts"),
                             retry_interval=lambda: self.config.int("TransactionMessageRetryInterval"),
                             on_reply=self._on_tx_reply, on_change=self._save)
        self._restore()

    # ================================================================ lifecycle
    def start(self) -> None:
        """Power on: stop what a crash left running (PowerLoss), re-arm timers, boot."""
        with self._lock:
            if self.running:
                return
            self.running = True
            now = self.now()
            for c in self.connectors.values():
                if c.transaction is not None:
                    log.info("%s: transaction %s was running at power loss", self.identity, c.transaction.id)
                    self._stop_locked(c, "PowerLoss", None, now)
                if c.reservation is not None:
                    if c.reservation.expiry <= now:
                        c.reservation = None
                    else:
                        self._arm_reservation(c)
            self._save()
        self._defer(self._boot)

    def _unregistered_locked(self) -> None:
        """Not registered any more (power off, reboot): nothing is sent until the next boot is
        accepted, and no timer of this life fires."""
        self.registration = None
        self.outbox.paused = True
        self.outbox.cancel_retry()
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()

    def stop(self) -> None:
        """Power off: timers stop, state stays on disk (running transactions included)."""
        with self._lock:
            self.running = False
            self._unregistered_locked()
            for c in self.connectors.values():
                for t in (c.sample_timer, c.pending_timer, c.reservation_timer):
                    if t:
                        t.cancel()
                c.meter.update(self.now())
            self._save()

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    # ================================================================ plumbing
    def _defer(self, fn: Callable, *args: Any) -> Timer:
        """Run after the current request has been answered (OCPP: reply first, then act)."""
        return self.scheduler.call_later(0, fn, *args)

    def _set_timer(self, name: str, delay: float | None, fn: Callable, *args: Any) -> None:
        old = self._timers.pop(name, None)
        if old:
            old.cancel()
        if delay is not None and self.running:
            self._timers[name] = self.scheduler.call_later(delay, fn, *args)

    def _call(self, action: str, payload: dict) -> dict:
        """Send one CP→CS message; track whether the CS is reachable."""
        if self.central is None:
            raise ConnectionError("no central system configured")
        try:
            reply = self.central.call(action, payload)
        except ConnectionError:
            self.online = False
            raise
        was_online, self.online = self.online, True
        if not was_online and self.registration == "Accepted":
            self._defer(self._back_online)
        return reply or {}

    def send(self, action: str, payload: dict) -> dict:
        """Send any CP→CS message as given (the shell's raw commands); transaction messages queue."""
        return self._call(action, payload)

    def _back_online(self) -> None:
        self.outbox.kick()
        self._notify_status()

    def _save(self) -> None:
        with self._lock:
            self._store.save({
                "format": 1,
                "identity": self.identity,
                "version": self.version,
                "config": self.config.snapshot(),
                "box": {"operative": self.box_operative, "scheduled": self.box_scheduled},
                "connectors": {str(n): c.snapshot() for n, c in self.connectors.items()},
                "auth": self.auth.snapshot(),
                "profiles": self.profiles.snapshot(),
                "outbox": self.outbox.snapshot(),
                "next_local_id": self.next_local_id,
                "firmware_version": self.firmware_version,
            })

    def _restore(self) -> None:
        data = self._store.load()
        if not data:
            return
        self.config.restore(data.get("config", {}))
        box = data.get("box", {})
        self.box_operative = box.get("operative", True)
        self.box_scheduled = box.get("scheduled")
        for key, cd in data.get("connectors", {}).items():
            c = self.connectors.get(int(key))
            if c is None:
                continue
            c.operative = cd.get("operative", True)
            c.scheduled = cd.get("scheduled")
            c.meter.energy_wh = float(cd.get("energy_wh", 0.0))
            if cd.get("transaction"):
                c.transaction = Transaction.restore(cd["transaction"])
            if cd.get("reservation"):
                r = dict(cd["reservation"])
                r["expiry"] = to_dt(r["expiry"])
                c.reservation = Reservation(**r)
        self.auth.restore(data.get("auth"))
        self.profiles.restore(data.get("profiles"))
        self.outbox.restore(data.get("outbox"))
        self.next_local_id = int(data.get("next_local_id", -1))
        self.firmware_version = data.get("firmware_version", self.firmware_version)

    # ================================================================ configuration
    def configure(self, key: str, value: str) -> str:
        """Change configuration key ``key`` and apply what it drives (heartbeat, sampling, clock
        alignment); returns the ChangeConfiguration status. The Central System's
        ChangeConfiguration and the local faces (shell, scenario, admin API) all come here."""
        with self._lock:
            status = self.config.change(key, str(value))
            if status in ("Accepted", "RebootRequired"):
                self._save()
        if status not in ("Accepted", "RebootRequired"):
            return status
        name = key if key != "HeartBeatInterval" else "HeartbeatInterval"
        if name == "HeartbeatInterval" and self.registration == "Accepted":
            self._schedule_heartbeat()
        elif name == "ClockAlignedDataInterval" and self.registration == "Accepted":
            self._schedule_aligned()
        elif name == "MeterValueSampleInterval":
            with self._lock:
                for c in self.connectors.values():
                    self._schedule_sample(c)
        return status

    # ================================================================ boot and heartbeat
    def boot_payload(self) -> dict:
        s = self.sim
        payload = {"chargePointVendor": s.vendor, "chargePointModel": s.model,
                   "firmwareVersion": self.firmware_version}
        for key, value in (("chargePointSerialNumber", s.charge_point_serial),
                           ("chargeBoxSerialNumber", s.charge_box_serial), ("iccid", s.iccid),
                           ("imsi", s.imsi), ("meterType", s.meter_type),
                           ("meterSerialNumber", s.meter_serial)):
            if value:
                payload[key] = value
        return payload

    def _boot(self) -> None:
        if not self.running:
            return
        try:
            reply = self._call("BootNotification", self.boot_payload())
        except Exception as exc:
            log.info("%s: BootNotification failed (%s); retrying", self.identity, exc)
            self._set_timer("boot", self.sim.boot_retry_s, self._boot)
            return
        status = reply.get("status", "Rejected")
        interval = int(reply.get("interval") or 0)
        self.registration = status
        if status != "Accepted":
            self._set_timer("boot", interval or self.sim.boot_retry_s, self._boot)
            return
        with self._lock:
            if interval > 0:
                self.config.values[self.config.wire_name("HeartbeatInterval")] = str(interval)
            self.box_last_status = None
            for c in self.connectors.values():
                c.last_status = None
            self._save()
        self._schedule_heartbeat()
        self._schedule_aligned()
        self._refresh_power()
        # Transaction messages queued while down (a PowerLoss stop) go before the status
        # notifications, so the Central System never sees Available beside a running session.
        self.outbox.paused = False
        self.outbox.kick()
        self._notify_status()

    def _schedule_heartbeat(self) -> None:
        interval = self.config.int("HeartbeatInterval")
        self._set_timer("heartbeat", interval if interval > 0 else None, self._heartbeat)

    def _heartbeat(self) -> None:
        if not self.running or self.registration != "Accepted":
            return
        try:
            self._call("Heartbeat", {})
        except Exception as exc:
            log.info("%s: Heartbeat failed: %s", self.identity, exc)
        self._schedule_heartbeat()

    def _reboot(self, reason: str) -> None:
        """Stop transactions with ``reason`` (1.6), then go through a fresh boot."""
        now = self.now()
        with self._lock:
            for c in self.connectors.values():
                if c.transaction is not None:
                    self._stop_locked(c, reason, None, now)
        self.outbox.drain()
        self._notify_status()
        with self._lock:
            self._unregistered_locked()
            for c in self.connectors.values():
                c.cancel_pending()
            self._save()
        self._set_timer("boot", self.sim.reboot_delay_s, self._boot)

    # ================================================================ status
    def box_status(self) -> str:
        if self.box_error != "NoError":
            return "Faulted"
        if not self.box_operative:
            return "Unavailable"
        if self.version == "1.5":
            states = {self._status_of(c) for c in self.connectors.values()}
            if states == {"Occupied"}:
                return "Occupied"
            if states == {"Reserved"}:
                return "Reserved"
        return "Available"

    def _status_of(self, c: Connector) -> str:
        return c.status(self.version, self.box_operative, self.box_error != "NoError")

    def _status_payload(self, cid: int, status: str, error: str) -> dict:
        return {"connectorId": cid, "status": status, "errorCode": error, "timestamp": self.now()}

    def _notify_status(self, force: list[int] | None = None) -> None:
        """Send a StatusNotification for every connector whose status changed (or is forced)."""
        if self.registration != "Accepted":
            return
        with self._status_lock:
            with self._lock:
                todo = []
                status = self.box_status()
                if status != self.box_last_status or (force and 0 in force):
                    todo.append((0, status, self.box_error))
                for c in self.connectors.values():
                    status = self._status_of(c)
                    if status != c.last_status or (force and c.id in force):
                        todo.append((c.id, status, c.error_code))
            for cid, status, error in todo:
                try:
                    self._call("StatusNotification", self._status_payload(cid, status, error))
                except ConnectionError:
                    return  # resent when the CS is back
                except Exception as exc:
                    log.warning("%s: StatusNotification failed: %s", self.identity, exc)
                with self._lock:
                    if cid == 0:
                        self.box_last_status = status
                    else:
                        self.connectors[cid].last_status = status

    # ================================================================ authorization
    def _authorize(self, tag: str) -> dict:
        """IdTagInfo for ``tag``: local list/cache first if LocalPreAuthorize, else the CS, else offline rules."""
        now = self.now()
        local, _src = self.auth.lookup(tag, now, self.config.bool("LocalAuthListEnabled"),
                                       self.config.bool("AuthorizationCacheEnabled"))
        if self.registration == "Accepted":
            if self.online and self.config.bool("LocalPreAuthorize") and local and local["status"] == "Accepted":
                return local
            try:
                info = self._call("Authorize", {"idTag": tag}).get("idTagInfo") or {"status": "Invalid"}
                with self._lock:
                    self.auth.remember(tag, info, now)
                    self._save()
                return info
            except Exception as exc:
                log.info("%s: Authorize failed (%s); deciding offline", self.identity, exc)
        if local is not None:
            if self.config.bool("LocalAuthorizeOffline") or local["status"] != "Accepted":
                return local
            return {"status": "Invalid"}
        if self.config.bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return {"status": "Invalid"}

    # ================================================================ physical actions
    def connector(self, n: int) -> Connector:
        try:
            return self.connectors[int(n)]
        except (KeyError, ValueError):
            raise ValueError(f"no connector {n} (this charge point has {len(self.connectors)})") from None

    @property
    def may_charge(self) -> bool:
        """False once the Central System answered Rejected or Pending (OCPP 1.6 4.2: no
        charging before it has been accepted). Before any answer (offline since power-on) the
        offline rules decide."""
        return self.registration not in ("Rejected", "Pending")

    def _usable(self, c: Connector) -> bool:
        return (not c.faulted and self.box_error == "NoError" and c.operative and self.box_operative
                and c.transaction is None and self.may_charge)

    def plug(self, n: int) -> None:
        """The driver plugs the cable into connector ``n``."""
        start = None
        with self._lock:
            c = self.connector(n)
            if c.plugged:
                return
            c.plugged = True
            if c.pending_tag and self._usable(c):
                start = (c.pending_tag, c.pending_parent, c.pending_profile)
                c.cancel_pending()
        self._notify_status()
        if start:
            self._start_transaction(n, *start)

    def unplug(self, n: int) -> None:
        """The driver pulls the cable out (stopping a running transaction: EVDisconnected)."""
        with self._lock:
            c = self.connector(n)
            if not c.plugged:
                return
            c.plugged = False
            if c.transaction is not None:
                if self.version == "1.5" or self.config.bool("StopTransactionOnEVSideDisconnect"):
                    self._stop_locked(c, "EVDisconnected", None, self.now())
                else:
                    c.ev_suspended = True
            c.finishing = False
            self._save()
        self._refresh_power()
        self.outbox.drain()
        self._notify_status()

    def suspend_ev(self, n: int, suspended: bool = True) -> None:
        """The EV stops (or resumes) drawing power: SuspendedEV in 1.6."""
        with self._lock:
            self.connector(n).ev_suspended = suspended
        self._refresh_power()
        self._notify_status()

    def swipe(self, tag: str, n: int | None = None) -> str:
        """An RFID card is presented; returns what happened: started/stopped/waiting/rejected."""
        with self._lock:
            for c in self.connectors.values():
                if c.transaction and (n is None or c.id == n) and c.transaction.id_tag.lower() == tag.lower():
                    self._stop_locked(c, "Local", tag, self.now())
                    stopped = True
                    break
            else:
                stopped = False
        if stopped:
            self._refresh_power()
            self._notify_status()
            self.outbox.drain()
            return "stopped"
        with self._lock:
            c = self._pick_connector(n, tag)
            if c is None:
                return "rejected"
            cid = c.id
        info = self._authorize(tag)
        if info.get("status") != "Accepted":
            return "rejected"
        parent = info.get("parentIdTag")
        with self._lock:
            c = self.connectors[cid]
            if not self._usable(c) or (c.reservation and not c.reservation.matches(tag, parent)):
                return "rejected"
            if not c.plugged:
                self._set_pending(c, tag, parent, None)
                start = False
            else:
                start = True
        self._notify_status()
        if start:
            self._start_transaction(cid, tag, parent, None)
            return "started"
        return "waiting"

    def _pick_connector(self, n: int | None, tag: str) -> Connector | None:
        if n is not None:
            c = self.connector(n)
            return c if self._usable(c) and not c.pending_tag else None
        candidates = [c for c in self.connectors.values() if self._usable(c) and not c.pending_tag
                      and (c.reservation is None or c.reservation.matches(tag, None))]
        candidates.sort(key=lambda c: (not c.plugged, c.reservation is None))
        return candidates[0] if candidates else None

    def _set_pending(self, c: Connector, tag: str, parent: str | None, profile: dict | None) -> None:
        """Authorized, waiting ``ConnectionTimeOut`` seconds for the cable."""
        c.cancel_pending()
        c.pending_tag, c.pending_parent, c.pending_profile = tag, parent, profile
        timeout = self.config.int("ConnectionTimeOut")
        if timeout > 0:
            c.pending_timer = self.scheduler.call_later(timeout, self._pending_expired, c.id, tag)

    def _pending_expired(self, cid: int, tag: str) -> None:
        with self._lock:
            c = self.connectors[cid]
            if c.pending_tag != tag or c.transaction is not None:
                return
            log.info("%s: connector %d: %s timed out waiting for the cable", self.identity, cid, tag)
            c.cancel_pending()
        self._notify_status()

    def fault(self, n: int, code: str = "OtherError") -> None:
        """A hardware error on connector ``n`` (0: the whole box); a running transaction stops."""
        if code not in ERROR_CODES[self.version] or code == "NoError":
            raise ValueError(f"not a {self.version} error code: {code}")
        with self._lock:
            targets = list(self.connectors.values()) if int(n) == 0 else [self.connector(n)]
            if int(n) == 0:
                self.box_error = code
            else:
                targets[0].error_code = code
            for c in targets:
                if c.transaction is not None:
                    self._stop_locked(c, "Other", None, self.now())
                c.cancel_pending()
                c.cancel_reservation()
            self._save()
        self._refresh_power()
        self.outbox.drain()
        self._notify_status()

    def clear_fault(self, n: int) -> None:
        with self._lock:
            if int(n) == 0:
                self.box_error = "NoError"
            else:
                self.connector(n).error_code = "NoError"
        self._notify_status()

    # ================================================================ transactions
    def _start_transaction(self, cid: int, tag: str, parent: str | None, profile: dict | None) -> None:
        now = self.now()
        with self._lock:
            c = self.connectors[cid]
            if c.transaction is not None:
                return
            c.meter.update(now)
            reservation_id = None
            if c.reservation and c.reservation.matches(tag, parent):
                reservation_id = c.reservation.reservation_id
                c.cancel_reservation()
            tx = Transaction(local_id=self.next_local_id, connector_id=cid, id_tag=tag,
                             meter_start=c.meter.register_wh, started=now,
                             reservation_id=reservation_id, parent_id_tag=parent,
                             last_periodic_wh=c.meter.energy_wh)
            self.next_local_id -= 1
            c.transaction = tx
            c.finishing = False
            c.ev_suspended = False
            if profile and self.version == "1.6":
                self.profiles.install(cid, profile, now, self.config.int("MaxChargingProfilesInstalled"))
            stop_data = self.config.csl("StopTxnSampledData")
            if stop_data:
                tx.data.append(self._meter_value(c, stop_data, "Transaction.Begin", now))
            payload = {"connectorId": cid, "idTag": tag, "meterStart": tx.meter_start, "timestamp": now}
            if reservation_id is not None:
                payload["reservationId"] = reservation_id
            self.outbox.put("StartTransaction", payload, local_tx=tx.local_id)
            self._schedule_sample(c)
            self._save()
            self._arm_persist()
        self._refresh_power()
        self.outbox.drain()
        self._notify_status()

    def _arm_persist(self) -> None:
        """Keep the meter register on disk every ``persist_interval_s`` (SimConfig) while
        charging, whatever the sample interval: a power cut loses at most that much energy."""
        if any(c.transaction is not None for c in self.connectors.values()):
            self._set_timer("persist", self.sim.persist_interval_s, self._persist)

    def _persist(self) -> None:
        if not self.running:
            return
        now = self.now()
        with self._lock:
            for c in self.connectors.values():
                if c.transaction is not None:
                    c.meter.update(now)
            self._save()
        self._arm_persist()

    def _stop_locked(self, c: Connector, reason: str, tag: str | None, now: datetime) -> None:
        """End the transaction on ``c`` and queue its StopTransaction (caller holds the lock)."""
        tx = c.transaction
        if tx is None:
            return
        c.meter.update(now)
        stop_data = self.config.csl("StopTxnSampledData")
        if stop_data:
            tx.data.append(self._meter_value(c, stop_data, "Transaction.End", now))
        payload: dict[str, Any] = {"transactionId": tx.id, "timestamp": now,
                                   "meterStop": c.meter.register_wh}
        if tag:
            payload["idTag"] = tag
        if self.version == "1.6":
            payload["reason"] = reason
        if tx.data:
            payload["transactionData"] = list(tx.data)
        c.transaction = None
        if c.sample_timer:
            c.sample_timer.cancel()
            c.sample_timer = None
        c.ev_suspended = c.evse_suspended = False
        c.finishing = c.plugged
        c.meter.set_power(now, False, None)
        self.profiles.drop_tx_profiles(c.id)
        self._apply_scheduled(c)
        self.outbox.put("StopTransaction", payload,
                        local_tx=tx.local_id if tx.transaction_id is None else None)
        self._save()

    def _apply_scheduled(self, c: Connector) -> None:
        """ChangeAvailability answered Scheduled takes effect once the transaction is over."""
        if c.scheduled:
            c.operative = c.scheduled == "Operative"
            c.scheduled = None
        if self.box_scheduled and not any(x.transaction for x in self.connectors.values()):
            self.box_operative = self.box_scheduled == "Operative"
            self.box_scheduled = None

    def stop_transaction(self, n: int, reason: str = "Local") -> bool:
        """Stop the transaction on connector ``n`` (a local stop button)."""
        with self._lock:
            c = self.connector(n)
            if c.transaction is None:
                return False
            self._stop_locked(c, reason, None, self.now())
        self._refresh_power()
        self.outbox.drain()
        self._notify_status()
        return True

    def _on_tx_reply(self, item: dict, payload: dict, reply: dict | None) -> None:
        """A queued transaction message was answered (reply None: given up)."""
        action = item["action"]
        if reply is None or action == "MeterValues":
            return
        info = reply.get("idTagInfo")
        now = self.now()
        deauthorize = None
        with self._lock:
            if action == "StartTransaction":
                self.auth.remember(payload["idTag"], info, now)
                for c in self.connectors.values():
                    tx = c.transaction
                    if tx is not None and tx.local_id == item["local_tx"]:
                        tx.transaction_id = reply.get("transactionId")
                        if (info and info.get("status") != "Accepted"
                                and self.config.bool("StopTransactionOnInvalidId")):
                            deauthorize = c
            elif info and payload.get("idTag"):
                self.auth.remember(payload["idTag"], info, now)
            if deauthorize is not None:
                self._stop_locked(deauthorize, "DeAuthorized", None, now)
            self._save()
        if deauthorize is not None:
            self._defer(self._notify_status)

    # ================================================================ metering
    def _soc(self, c: Connector) -> float:
        tx = c.transaction
        delivered = c.meter.energy_wh - tx.meter_start if tx else 0.0
        return min(100.0, self.sim.initial_soc + 100.0 * delivered / max(1.0, self.electrical.battery_wh))

    def _meter_value(self, c: Connector, measurands: list[str], context: str, now: datetime,
                     start_wh: float | None = None) -> dict:
        values = c.meter.sampled_values(measurands, context, self.version, start_wh, self._soc(c))
        return {"timestamp": now, "sampledValue": values}

    def _tx_context(self, c: Connector) -> TxContext | None:
        tx = c.transaction
        return TxContext(tx.transaction_id, tx.started) if tx else None

    def limit_w(self, n: int) -> float | None:
        """The charging-profile limit on connector ``n`` right now (None: unlimited)."""
        with self._lock:
            c = self.connector(n)
            share = sum(1 for x in self.connectors.values() if x.transaction and not x.ev_suspended)
            return self.profiles.limit_w(n, self.now(), self._tx_context(c), max(1, share))

    def _refresh_power(self) -> None:
        """Re-evaluate each connector's power (profiles, suspension) and when to look again."""
        now = self.now()
        with self._lock:
            share = max(1, sum(1 for c in self.connectors.values() if c.transaction and not c.ev_suspended))
            next_change = None
            for c in self.connectors.values():
                if c.transaction is None:
                    c.meter.set_power(now, False, None)
                    c.evse_suspended = False
                    continue
                limit = None
                if self.version == "1.6":
                    ctx = self._tx_context(c)
                    limit = self.profiles.limit_w(c.id, now, ctx, share)
                    nxt = self.profiles.next_change(now, ctx)
                    if nxt and (next_change is None or nxt < next_change):
                        next_change = nxt
                c.evse_suspended = limit is not None and limit <= 0
                c.meter.set_power(now, not c.ev_suspended, limit)
            delay = (next_change - now).total_seconds() if next_change else None
        self._set_timer("power", delay, self._power_tick)

    def _power_tick(self) -> None:
        self._refresh_power()
        self._notify_status()

    def _schedule_sample(self, c: Connector) -> None:
        if c.sample_timer:
            c.sample_timer.cancel()
            c.sample_timer = None
        interval = self.config.int("MeterValueSampleInterval")
        if interval > 0 and c.transaction is not None and self.running:
            c.sample_timer = self.scheduler.call_later(interval, self._sample, c.id, c.transaction.local_id)

    def _sample(self, cid: int, local_id: int) -> None:
        """Periodic sample of a running transaction: MeterValues and StopTxnSampledData."""
        self._refresh_power()
        now = self.now()
        with self._lock:
            c = self.connectors[cid]
            tx = c.transaction
            if tx is None or tx.local_id != local_id:
                return
            c.meter.update(now)
            stop_data = self.config.csl("StopTxnSampledData")
            if stop_data:
                tx.data.append(self._meter_value(c, stop_data, "Sample.Periodic", now))
                del tx.data[:-200]  # a very long session must not grow without bound
            sampled = self.config.csl("MeterValuesSampledData")
            if sampled:
                mv = self._meter_value(c, sampled, "Sample.Periodic", now, tx.last_periodic_wh)
                self.outbox.put("MeterValues", {"connectorId": cid, "transactionId": tx.id,
                                                "meterValue": [mv]},
                                local_tx=tx.local_id if tx.transaction_id is None else None)
            tx.last_periodic_wh = c.meter.energy_wh
            self._schedule_sample(c)
            self._save()
        self.outbox.drain()
        self._notify_status()

    def _schedule_aligned(self) -> None:
        interval = self.config.int("ClockAlignedDataInterval")
        if interval <= 0:
            self._set_timer("aligned", None, self._aligned)
            return
        now = self.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        since = (now - midnight).total_seconds()
        delay = interval - (since % interval)
        self._set_timer("aligned", delay, self._aligned)

    def _aligned(self) -> None:
        """Clock-aligned readings: MeterValues per connector and StopTxnAlignedData."""
        if not self.running or self.registration != "Accepted":
            return
        self._refresh_power()
        now = self.now()
        direct = []
        with self._lock:
            measurands = self.config.csl("MeterValuesAlignedData")
            stop_data = self.config.csl("StopTxnAlignedData")
            for c in self.connectors.values():
                c.meter.update(now)
                start_wh = self._aligned_wh.get(c.id, c.meter.energy_wh)
                self._aligned_wh[c.id] = c.meter.energy_wh
                tx = c.transaction
                if tx is not None and stop_data:
                    tx.data.append(self._meter_value(c, stop_data, "Sample.Clock", now, start_wh))
                if not measurands:
                    continue
                payload = {"connectorId": c.id,
                           "meterValue": [self._meter_value(c, measurands, "Sample.Clock", now, start_wh)]}
                if tx is not None:
                    payload["transactionId"] = tx.id
                    self.outbox.put("MeterValues", payload,
                                    local_tx=tx.local_id if tx.transaction_id is None else None)
                else:
                    direct.append(payload)
            self._save()
        for payload in direct:
            try:
                self._call("MeterValues", payload)
            except Exception as exc:
                log.info("%s: clock-aligned MeterValues not sent: %s", self.identity, exc)
        self.outbox.drain()
        self._schedule_aligned()

    # ================================================================ reservations
    def _arm_reservation(self, c: Connector) -> None:
        if c.reservation_timer:
            c.reservation_timer.cancel()
        r = c.reservation
        if r is not None and self.running:
            c.reservation_timer = self.scheduler.call_at(r.expiry, self._reservation_expired, c.id, r.reservation_id)

    def _reservation_expired(self, cid: int, rid: int) -> None:
        with self._lock:
            c = self.connectors[cid]
            if c.reservation is None or c.reservation.reservation_id != rid:
                return
            c.reservation = None
            c.reservation_timer = None
            self._save()
        self._notify_status()

    # ================================================================ snapshot
    def state(self) -> dict:
        """A JSON-friendly picture for the shell and the admin API."""
        now = self.now()
        with self._lock:
            conns = []
            for c in self.connectors.values():
                c.meter.update(now)
                tx = c.transaction
                r = c.reservation
                conns.append({
                    "id": c.id,
                    "status": self._status_of(c),
                    "error_code": c.error_code,
                    "plugged": c.plugged,
                    "availability": "Operative" if c.operative else "Inoperative",
                    "scheduled_availability": c.scheduled,
                    "meter_wh": round(c.meter.energy_wh, 1),
                    "power_w": round(c.meter.power_w, 1),
                    "pending_id_tag": c.pending_tag,
                    "transaction": None if tx is None else {
                        "id": tx.id, "confirmed": tx.transaction_id is not None,
                        "id_tag": tx.id_tag, "meter_start": tx.meter_start,
                        "started": tx.started.isoformat(), "reservation_id": tx.reservation_id},
                    "reservation": None if r is None else {
                        "id": r.reservation_id, "id_tag": r.id_tag, "expiry": r.expiry.isoformat()},
                })
            return {
                "identity": self.identity,
                "version": self.version,
                "running": self.running,
                "registration": self.registration,
                "online": self.online,
                "status": self.box_status(),
                "error_code": self.box_error,
                "availability": "Operative" if self.box_operative else "Inoperative",
                "scheduled_availability": self.box_scheduled,
                "connectors": conns,
                "queue_length": len(self.outbox),
                "local_list_version": self.auth.list_version,
                "firmware_version": self.firmware_version,
                "diagnostics_status": self.diagnostics_status,
                "firmware_status": self.firmware_status,
                "heartbeat_interval": self.config.int("HeartbeatInterval"),
            }
