"""Who a charge box is: its credentials, the limits on guessing them, and the events they leave.

A box proves its identity by any of: an HTTP Basic password (``auth_secret_hash``), a TLS client
certificate (subject CN or a DNS SAN equal to its identity, or the SHA-256 fingerprint stored on
the box), or the source network it talks from (``allow_from``). ``require_auth = any`` refuses
boxes that prove nothing.

scrypt is slow on purpose (~75 ms); running it on every message would make each box's own
Heartbeats slow and let a handful of guessing clients take a worker's CPU. So a verified password
is remembered (``VerifiedSecrets``: keyed by a hash of what was presented *and* the stored hash,
so a secret changed elsewhere is a miss at once), and failures close the door for a time that
doubles with each one (``FailureLimiter``, per box and per source IP). Both live in the process:
several workers each keep their own.

Faults for unknown and unauthenticated boxes share one wording (``NOT_AUTHORIZED``); what really
happened goes to the log and, for known boxes, to the box's events.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolViolation, SecurityError
from .passwords import verify_secret

#: The longest chargeBoxIdentity stored (the column's width).
MAX_IDENTITY = 255
NOT_AUTHORIZED = "charge box not authorized (unknown identity or failed authentication)"

# Event kinds (the ``box_events.kind`` column).
ENDPOINT_CHANGED = "endpoint_changed"
ENDPOINT_REFUSED = "endpoint_refused"
ENDPOINT_IGNORED = "endpoint_ignored"
AUTH_FAILED = "auth_failed"
RATE_LIMITED = "rate_limited"
REGISTERED = "registered"
EVENT_KINDS = (ENDPOINT_CHANGED, ENDPOINT_REFUSED, ENDPOINT_IGNORED, AUTH_FAILED, RATE_LIMITED,
               REGISTERED)


def check_identity(charge_box_id: str | None) -> None:
    """A chargeBoxIdentity too long to store is a protocol error, before anything is stored."""
    if charge_box_id is not None and len(charge_box_id) > MAX_IDENTITY:
        raise ProtocolViolation(f"chargeBoxIdentity longer than {MAX_IDENTITY} characters")


class Refused(SecurityError):
    """A SecurityError fault (always worded ``NOT_AUTHORIZED`` unless ``public`` says more)
    that leaves an event for the box: ``kind``, ``detail`` (for the operator, never the wire)."""

    def __init__(self, charge_box_id: str, kind: str, detail: str, *, public: str | None = None,
                 record: bool = True, throttle_key: tuple | None = None):
        super().__init__(public or NOT_AUTHORIZED)
        self.throttle_key = throttle_key
        self.charge_box_id = charge_box_id
        self.kind = kind
        self.detail = detail
        self.record = record


def secret_key(presented: str, stored: str) -> bytes:
    return hashlib.sha256(presented.encode("utf-8", "surrogatepass") + b"\0"
                          + stored.encode()).digest()


class VerifiedSecrets:
    """Passwords verified in this process (bounded LRU of ``secret_key``s)."""

    def __init__(self, size: int = 4096, verify: Callable[[str, str], bool] = verify_secret):
        self.size = size
        self.verify_fn = verify
        self.scrypt_runs = 0
        self._known: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, presented: str, stored: str) -> bool:
        key = secret_key(presented, stored)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return True
        return False

    def verify(self, presented: str, stored: str) -> bool:
        if self.known(presented, stored):
            return True
        self.scrypt_runs += 1
        if not self.verify_fn(presented, stored):
            return False
        with self._lock:
            self._known[secret_key(presented, stored)] = None
            while len(self._known) > self.size:
                self._known.popitem(last=False)
        return True


class FailureLimiter:
    """After a failure, a key (a box, a source IP) is closed for ``base`` seconds, doubling
    with each further failure up to ``ceiling``; a success opens it again. Bounded."""

    def __init__(self, base: float = 1.0, ceiling: float = 60.0, size: int = 10000,
                 clock: Callable[[], float] = time.monotonic):
        self.base, self.ceiling, self.size, self.clock = base, ceiling, size, clock
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def closed_for(self, key: str | None) -> float:
        """Seconds the key stays closed (0 when open)."""
        if key is None:
            return 0.0
        with self._lock:
            state = self._state.get(key)
        return max(0.0, state[1] - self.clock()) if state else 0.0

    def failed(self, key: str | None) -> None:
        if key is None:
            return
        with self._lock:
            count, _ = self._state.pop(key, (0, 0.0))
            count += 1
            delay = min(self.ceiling, self.base * 2 ** (count - 1))
            self._state[key] = (count, self.clock() + delay)
            while len(self._state) > self.size:
                self._state.popitem(last=False)

    def succeeded(self, key: str | None) -> None:
        if key is None:
            return
        with self._lock:
            self._state.pop(key, None)


class RegistrationLimiter:
    """At most ``per_ip`` auto-registrations per source IP and ``overall`` in all per
    ``window`` seconds (a sliding window of registration times)."""

    def __init__(self, per_ip: int, overall: int, window: float,
                 clock: Callable[[], float] = time.monotonic):
        self.per_ip, self.overall, self.window, self.clock = per_ip, overall, window, clock
        self._all: deque[float] = deque()
        self._by_ip: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, ip: str | None) -> str | None:
        """None when one more registration may happen (and counts it), else why not."""
        now = self.clock()
        with self._lock:
            self._expire(self._all, now)
            key = ip or "-"
            mine = self._by_ip.setdefault(key, deque())
            self._expire(mine, now)
            if len(self._all) >= self.overall:
                return f"more than {self.overall} registrations in {self.window:g} s"
            if len(mine) >= self.per_ip:
                return f"more than {self.per_ip} registrations from {key} in {self.window:g} s"
            self._all.append(now)
            mine.append(now)
            if len(self._by_ip) > 10000:
                self._by_ip = {k: v for k, v in self._by_ip.items() if v}
            return None

    def _expire(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= self.window:
            times.popleft()


@dataclass
class EventThrottle:
    """The same event (box, kind, what) is written at most once per ``interval`` seconds per
    process: a box (or an attacker) repeating itself must not fill the table."""

    interval: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[tuple, float] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, key: tuple) -> bool:
        now = self.clock()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self.interval:
                return False
            self._seen[key] = now
            self._seen.move_to_end(key)
            while len(self._seen) > 10000:
                self._seen.popitem(last=False)
            return True


def in_networks(ip: str | None, cidrs: str | None) -> bool:
    """Whether ``ip`` lies in one of the comma-separated ``cidrs``."""
    if not ip or not cidrs:
        return False
    try:
        addr = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for part in cidrs.split(","):
        try:
            net = ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            continue
        if addr.version == net.version and addr in net:
            return True
    return False


def check_allow_from(text: str | None) -> str | None:
    """The canonical form of a ``--allow-from`` value (CIDRs, comma separated), or ValueError."""
    if text is None or not text.strip():
        return None
    nets = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            nets.append(str(ipaddress.ip_network(part.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"allow_from: {part.strip()!r} is not an IP network (CIDR)") from None
    return ",".join(nets) or None


def check_fingerprint(text: str | None) -> str | None:
    """A SHA-256 fingerprint as 64 lower-case hex digits (colons and case accepted)."""
    if text is None or not text.strip():
        return None
    clean = text.strip().replace(":", "").lower()
    if len(clean) != 64 or any(c not in "0123456789abcdef" for c in clean):
        raise ValueError("cert_fingerprint must be a SHA-256 fingerprint (64 hex digits)")
    return clean


def cert_names_match(cert: dict[str, Any] | None, charge_box_id: str) -> bool:
    """The presented (verified) client certificate names this box (CN or a DNS SAN)."""
    if not cert:
        return False
    return any(hmac.compare_digest(name, charge_box_id) for name in cert.get("names", ()))


def cert_fingerprint_matches(cert: dict[str, Any] | None, stored: str) -> bool:
    if not cert or not cert.get("fingerprint"):
        return False
    return hmac.compare_digest(cert["fingerprint"], stored)
