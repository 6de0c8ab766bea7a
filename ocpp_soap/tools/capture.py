"""Write every envelope a role sends or receives to a folder (``--capture DIR``).

A user chasing a misunderstanding between a charger and a Central System wants the envelopes of a
live exchange as files, to run ``ocpp-soap diff --sample FILE`` on them. The two hooks plug into
the wire layer's exchange callbacks::

    capture = CaptureWriter("captures")
    OcppEndpoint(service, handlers, on_exchange=capture.incoming)    # requests we answered
    OcppClient(..., on_exchange=capture.outgoing)                    # requests we sent

Each envelope becomes one file named by UTC time, charge box, operation and direction, so a folder
listing reads like a log (the request's time is when it started, the reply's when it ended)::

    20261128T114801.123456Z_CB-1001_BootNotification_in.req.xml    # a request we received
    20261128T114801.131072Z_CB-1001_BootNotification_out.conf.xml  # our reply
    20261128T114805.002113Z_CB-1001_Reset_out.req.xml              # a request we sent
    20261128T114805.090210Z_CB-1001_Reset_in.conf.xml              # its reply
    ..._in.fault.xml / ..._out.fault.xml                           # a reply that is a SOAP fault

The bytes are the envelope as it was on the wire, decompressed when it travelled gzip- or
deflate-encoded. Capturing must never break the exchange it watches: the hooks log errors and
return. They may be called from any number of threads.
"""

from __future__ import annotations

import logging
import re
import threading
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ocpp_soap.soap.client import OutgoingExchange
from ocpp_soap.soap.server import Exchange

log = logging.getLogger("ocpp_soap.capture")

IN = "in"
OUT = "out"
#: Inflated envelopes larger than this are cut off (no real envelope comes near it).
MAX_INFLATED = 16 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def decode(data: bytes) -> bytes:
    """``data`` inflated if it is gzip or zlib (deflate) encoded; otherwise unchanged."""
    try:
        if data[:2] == b"\x1f\x8b":
            return _inflate(zlib.decompressobj(16 + zlib.MAX_WBITS), data)
        if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
            return _inflate(zlib.decompressobj(), data)
    except zlib.error:
        return data  # not compressed after all: keep what was on the wire
    return data


def _inflate(inflater, data: bytes) -> bytes:
    out = inflater.decompress(data, MAX_INFLATED)
    if inflater.unconsumed_tail:
        log.warning("capture: envelope larger than %d bytes once inflated, cut off", MAX_INFLATED)
    return out


def _safe(part: str | None, fallback: str) -> str:
    """A file-name component: no separators, no leading dot, bounded length."""
    text = _UNSAFE.sub("_", part or "").strip("._")[:64]
    return text or fallback


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


class CaptureWriter:
    """Writes captured envelopes under ``directory`` (created if missing; that may raise, so a
    bad ``--capture`` argument fails at start-up rather than on the first message)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.written = 0  # files written so far

    # -- hooks ---------------------------------------------------------------------------------
    def incoming(self, exchange: Exchange) -> None:
        """Hook for ``OcppEndpoint(on_exchange=...)``: a request we received and our reply."""
        try:
            end = datetime.now(UTC)
            start = end - timedelta(milliseconds=exchange.elapsed_ms or 0)
            box, action = exchange.charge_box_id, exchange.action
            reply = "fault" if exchange.fault or exchange.status >= 400 else "conf"
            self._write(start, box, action, IN, "req", exchange.request)
            self._write(end, box, action, OUT, reply, exchange.response)
        except Exception:
            log.exception("capture: cannot write the envelopes of an incoming exchange")

    def outgoing(self, exchange: OutgoingExchange) -> None:
        """Hook for ``OcppClient(on_exchange=...)``: a request we sent and the reply we got."""
        try:
            end = datetime.now(UTC)
            start = end - timedelta(milliseconds=exchange.elapsed_ms or 0)
            box, action = exchange.charge_box_id, exchange.operation
            self._write(start, box, action, OUT, "req", exchange.request)
            if exchange.response is not None:
                failed = exchange.status is not None and exchange.status >= 400
                self._write(end, box, action, IN, "fault" if failed else "conf",
                            exchange.response)
        except Exception:
            log.exception("capture: cannot write the envelopes of an outgoing exchange")

    def __call__(self, exchange: Exchange | OutgoingExchange) -> None:
        """Either hook, chosen by the exchange's type."""
        if isinstance(exchange, OutgoingExchange):
            self.outgoing(exchange)
        else:
            self.incoming(exchange)

    # -- files ---------------------------------------------------------------------------------
    def file_name(self, moment: datetime, box: str | None, action: str | None, direction: str,
                  kind: str) -> str:
        """``20261128T114801.123456Z_CB-1001_BootNotification_in.req.xml``."""
        return (f"{_stamp(moment)}_{_safe(box, 'unknown')}_{_safe(action, 'unknown')}_"
                f"{direction}.{kind}.xml")

    def _write(self, moment: datetime, box: str | None, action: str | None, direction: str,
               kind: str, data: bytes | None) -> Path | None:
        if not data:
            return None  # nothing went over the wire (e.g. a connection refused)
        data = decode(data)
        name = self.file_name(moment, box, action, direction, kind)
        stem, suffix = name[: -len(f".{kind}.xml")], f".{kind}.xml"
        with self._lock:
            for attempt in range(1, 1000):
                path = self.directory / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
                try:
                    with open(path, "xb") as handle:
                        handle.write(data)
                except FileExistsError:
                    continue  # same microsecond, box, action and direction: number it
                self.written += 1
                return path
        log.error("capture: no free file name for %s", name)
        return None


__all__ = ["IN", "OUT", "CaptureWriter", "decode"]
