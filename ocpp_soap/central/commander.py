"""Sending CS→CP commands: the domain says where, the wire sends, the command log remembers.

Every face (HTTP API, CLI, the wake-up rule after a box talks to us) sends through ``Commander``, so
each command is checked, sent with the full OCPP-S header set and logged the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocpp_soap.messages.payload import PayloadError, request_payload
from ocpp_soap.soap.client import (
    BadReply,
    CallTimeout,
    CertificateProblem,
    OcppClient,
    RemoteFault,
    Unreachable,
)
from ocpp_soap.soap.logsafe import clean
from ocpp_soap.soap.versions import CHARGEPOINT

from .addressguard import AddressRefused
from .commands import FAILED, SENT
from .cphttp import chargepoint_session
from .domain import CentralSystem
from .errors import Conflict, NoEndpoint, NotFound, StorageUnavailable

log = logging.getLogger("ocpp_soap.central")

__all__ = ["Commander", "CommandResult", "CommandFailed", "PayloadError", "NotFound",
           "check_command"]


@dataclass
class CommandResult:
    """What became of a command: a reply, or a place in the box's queue."""

    charge_box_id: str
    operation: str
    outcome: str  # "reply" | "queued"
    reply: dict[str, Any] | None = None
    latency_ms: float | None = None
    pending_id: int | None = None
    endpoint: str | None = None
    version: str | None = None


def numbered_by_us(operation: str, payload: dict[str, Any]) -> bool:
    """A ReserveNow without reservationId: the CS numbers it from its reservations table."""
    return operation == "ReserveNow" and payload.get("reservationId") is None


def check_command(version: str, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` checked (PayloadError) and typed for ``operation``, as every face checks it
    before sending: a ReserveNow may leave out the reservationId the CS will give it."""
    if numbered_by_us(operation, payload):
        return request_payload(version, CHARGEPOINT, operation, {**payload, "reservationId": 0})
    return request_payload(version, CHARGEPOINT, operation, payload)


class CommandFailed(Exception):
    """The box answered with a fault or garbage, or did not answer (API: 502/504)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        # "fault" | "bad_reply" | "timeout" | "unreachable" | "certificate" | "refused"
        self.kind = kind


class Commander:
    """Sends commands to charge boxes for a ``CentralSystem``."""

    def __init__(self, central: CentralSystem, cs_urls: Callable[[str], str | None],
                 on_exchange: Callable | None = None,
                 on_queued: Callable[[str], None] | None = None):
        self.central = central
        self.cs_urls = cs_urls
        self.on_exchange = on_exchange
        self.on_queued = on_queued
        self._wakeups: set[str] = set()
        self._lock = threading.Lock()
        #: One session for every call: guarded (see ``cphttp``), with the TLS settings.
        self.session = chargepoint_session(central.guard, central.settings)

    def send(self, charge_box_id: str, operation: str, payload: dict[str, Any] | None = None, *,
             queue_if_unreachable: bool = False, timeout: float | None = None,
             expires_at: datetime | None = None) -> CommandResult:
        """Check, send and log one command.

        Raises NotFound (unknown box), Conflict (not Accepted / no endpoint), PayloadError (bad
        fields) or CommandFailed; with ``queue_if_unreachable`` an unreachable or timed-out box
        gets the command queued for its next message instead, until ``expires_at`` (default:
        the ``pending_expiry`` setting).
        """
        try:
            target = self.central.command_target(charge_box_id, operation)
        except NoEndpoint:
            # A box whose address we do not know yet: its next message (with its address)
            # takes the command, when the caller asked for queueing.
            if not queue_if_unreachable:
                raise
            info = self.central.admin.get_chargebox(charge_box_id)
            version = info.get("ocpp_version") or "1.6"
            checked = request_payload(version, CHARGEPOINT, operation, payload or {})
            return self._queue(charge_box_id, operation, checked, None, version,
                               "no endpoint known yet", expires_at)
        version = target.version or "1.6"
        payload = dict(payload or {})
        reservation = None
        if numbered_by_us(operation, payload):
            # The CS keeps its reservations; the stored row's id is the reservationId sent.
            fields = check_command(version, operation, payload)
            reservation = self.central.admin.add_reservation(
                charge_box_id, fields["connectorId"], fields["idTag"], fields["expiryDate"],
                parent_id_tag=fields.get("parentIdTag"))["id"]
            payload["reservationId"] = reservation
        checked = request_payload(version, CHARGEPOINT, operation, payload)
        try:
            result = self._send(target.charge_box_id, target.endpoint, version, operation,
                                checked, timeout=timeout, called=target.called_address)
            self._record_reservation(operation, checked, result.reply or {})
            return result
        except CommandFailed as exc:
            if reservation is not None:
                self.central.admin.set_reservation_status(reservation, "Failed")
            if queue_if_unreachable and exc.kind in ("timeout", "unreachable"):
                return self._queue(charge_box_id, operation, checked, target.endpoint, version,
                                   str(exc), expires_at)
            raise

    def _record_reservation(self, operation: str, request: dict[str, Any],
                            reply: dict[str, Any]) -> None:
        """Keep the reservations table in step with what the box answered."""
        if operation not in ("ReserveNow", "CancelReservation"):
            return
        status = reply.get("status")
        if operation == "CancelReservation":
            if status != "Accepted":
                return
            status = "Cancelled"
        try:
            self.central.admin.set_reservation_status(request["reservationId"], status)
        except NotFound:
            pass  # a reservation the operator numbered himself and we never stored

    def _queue(self, charge_box_id: str, operation: str, payload: dict[str, Any],
               endpoint: str | None, version: str, why: str,
               expires_at: datetime | None = None) -> CommandResult:
        pending = self.central.queue_command(charge_box_id, operation, _jsonable(payload),
                                             expires_at=expires_at)
        log.info("%s %s queued (#%d): %s", clean(charge_box_id), operation, pending, clean(why, 300))
        if self.on_queued is not None:
            self.on_queued(charge_box_id)
        return CommandResult(charge_box_id, operation, "queued", pending_id=pending,
                             endpoint=endpoint, version=version)

    def _send(self, box: str, endpoint: str, version: str, operation: str,
              payload: dict[str, Any], *, timeout: float | None = None,
              pending_id: int | None = None, called: str | None = None) -> CommandResult:
        try:
            self.central.guard.check_url(endpoint)
        except AddressRefused as exc:
            self._log_refused(box, operation, payload, version, endpoint, pending_id, str(exc))
            raise CommandFailed("refused", f"{box}: address {endpoint} refused: {exc}") from None
        # OCPP-S 3.7: From is required. Without a public_url, the address the box itself used
        # to reach us is the best we know.
        from_address = self.cs_urls(version) or called
        client = OcppClient(version, CHARGEPOINT, box, endpoint, from_address=from_address,
                            timeout=timeout or self.central.settings.command_timeout,
                            session=self.session, on_exchange=self.on_exchange)
        record: dict[str, Any] = {}

        def keep(exchange):
            record["exchange"] = exchange
            if self.on_exchange is not None:
                self.on_exchange(exchange)

        client.on_exchange = keep
        reply = fault = error = None
        timed_out = False
        try:
            reply = client.call(operation, payload)
            return CommandResult(box, operation, "reply", reply=reply,
                                 latency_ms=record["exchange"].elapsed_ms, endpoint=endpoint,
                                 version=version)
        except RemoteFault as exc:
            fault = f"{exc.fault.code}/{exc.fault.subcode}: {exc.fault.reason}"
            raise CommandFailed("fault", f"SOAP fault from {box}: {fault}") from None
        except BadReply as exc:
            error = str(exc)
            raise CommandFailed("bad_reply", f"bad reply from {box}: {exc}") from None
        except CertificateProblem as exc:
            error = str(exc)
            raise CommandFailed("certificate", f"{box}: {exc}") from None
        except CallTimeout as exc:
            timed_out, error = True, str(exc)
            raise CommandFailed("timeout", f"{box} did not answer {operation} in time") from None
        except Unreachable as exc:
            error = str(exc)
            if "refused address:" in error:
                raise CommandFailed("refused", f"{box}: {exc}") from None
            raise CommandFailed("unreachable", f"{box} cannot be reached at {endpoint}") from None
        finally:
            ex = record.get("exchange")
            try:
                self.central.record_command(
                    box, operation, _jsonable(payload), reply=_jsonable(reply), fault=fault,
                    timed_out=timed_out, error=error,
                    latency_ms=ex.elapsed_ms if ex else None, version=version,
                    message_id=ex.message_id if ex else None, endpoint=endpoint,
                    pending_command_id=pending_id)
            except Exception:  # the log must not hide the command's own outcome
                log.exception("could not write the command log")

    def _log_refused(self, box: str, operation: str, payload: dict[str, Any], version: str,
                     endpoint: str, pending_id: int | None, why: str) -> None:
        try:
            self.central.record_command(box, operation, _jsonable(payload),
                                        error=f"refused address: {why}", version=version,
                                        endpoint=endpoint, pending_command_id=pending_id)
        except Exception:
            log.exception("could not write the command log")

    def wake_up(self, charge_box_id: str) -> None:
        """After a box talked to us, send what was queued for it (OCPP-S 5: Heartbeat with From),
        in a thread of its own so the box's own request is answered first."""
        with self._lock:
            if charge_box_id in self._wakeups:
                return
            self._wakeups.add(charge_box_id)
        threading.Thread(target=self._flush, args=(charge_box_id,), daemon=True,
                         name=f"wakeup-{charge_box_id}").start()

    def _flush(self, charge_box_id: str) -> None:
        """Deliver the box's waiting commands one at a time, oldest first, each under a lease
        (``claim_pending``): ``sent`` or ``failed`` once the box answered. A command not for the
        box's state (RemoteStart to a Pending box) waits and the others go; when the box cannot
        take commands now (not Accepted, no or a refused address, unreachable) the command goes
        back to the queue. A worker that dies mid-delivery leaves its lease to run out, and the
        command is sent again on a later message (by any worker of any instance)."""
        kept: list[int] = []
        try:
            while (cmd := self.central.claim_pending(charge_box_id, exclude=kept)) is not None:
                try:
                    try:
                        target = self.central.command_target(charge_box_id, cmd.operation)
                    except NoEndpoint:
                        raise
                    except Conflict as exc:
                        # Not for a box in this state (RemoteStart to a Pending box): it
                        # waits for the box to be accepted; the others go now.
                        log.info("%s: queued %s kept: %s", clean(charge_box_id), cmd.operation,
                                 exc)
                        self.central.release_pending(cmd.id)
                        kept.append(cmd.id)
                        continue
                    version = target.version or "1.6"
                    payload = request_payload(version, CHARGEPOINT, cmd.operation, cmd.payload)
                    self._send(charge_box_id, target.endpoint, version, cmd.operation, payload,
                               pending_id=cmd.id, called=target.called_address)
                except CommandFailed as exc:
                    if exc.kind not in ("timeout", "unreachable", "refused", "certificate"):
                        self.central.finish_pending(cmd, FAILED)  # answered: delivered, logged
                        continue
                except (Conflict, NotFound) as exc:  # Rejected/Pending or no address: never called
                    log.info("%s: queued commands wait: %s", clean(charge_box_id), exc)
                except Exception:
                    log.exception("%s: pending %s failed", clean(charge_box_id), cmd.operation)
                else:
                    self.central.finish_pending(cmd, SENT)
                    continue
                self.central.release_pending(cmd.id)
                break
        except StorageUnavailable as exc:  # they stay queued for the box's next message
            log.warning("%s: queued commands not delivered now: %s", clean(charge_box_id), exc)
        except Exception:
            log.exception("%s: queued commands not delivered", clean(charge_box_id))
        finally:
            self.central.units.end_thread()  # this thread ends: its connection with it
            with self._lock:
                self._wakeups.discard(charge_box_id)


def _jsonable(value: Any) -> Any:
    """Datetimes as ISO strings, so payloads fit the JSON columns of the command log."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
