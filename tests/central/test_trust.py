"""The trust building blocks, each rule once (``ocpp_soap.central.trust``); the end-to-end view
is in test_e2e_credentials and test_e2e_endpoint_trust."""

from __future__ import annotations

import pytest

from ocpp_soap.central.errors import ProtocolViolation
from ocpp_soap.central.passwords import hash_secret
from ocpp_soap.central.trust import (
    EventThrottle,
    FailureLimiter,
    RegistrationLimiter,
    VerifiedSecrets,
    cert_names_match,
    check_allow_from,
    check_fingerprint,
    check_identity,
    in_networks,
)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failure_delay_doubles_and_a_success_reopens():
    clock = Clock()
    limiter = FailureLimiter(base=1, ceiling=8, clock=clock)
    waits = []
    for _ in range(6):
        limiter.failed("box:CB1")
        waits.append(limiter.closed_for("box:CB1"))
    assert waits == [1, 2, 4, 8, 8, 8]
    clock.now += 8
    assert limiter.closed_for("box:CB1") == 0
    limiter.failed("box:CB1")
    limiter.succeeded("box:CB1")
    assert limiter.closed_for("box:CB1") == 0
    assert limiter.closed_for(None) == 0


def test_failure_limiter_is_bounded():
    limiter = FailureLimiter(size=100)
    for n in range(1000):
        limiter.failed(f"ip:{n}")
    assert len(limiter._state) == 100


def test_verified_secrets_cache_by_presented_and_stored():
    stored = hash_secret("pw")
    secrets = VerifiedSecrets(size=2)
    assert secrets.verify("pw", stored) and secrets.verify("pw", stored)
    assert secrets.scrypt_runs == 1
    assert not secrets.verify("other", stored) and not secrets.verify("other", stored)
    assert secrets.scrypt_runs == 3  # failures are never cached
    assert not secrets.known("pw", hash_secret("pw"))  # a new stored hash: a miss
    for n in range(5):
        secrets._known[bytes([n]) * 32] = None
    assert secrets.verify("pw", stored) and len(secrets._known) <= 2 + 5


def test_registration_window_per_ip_and_overall():
    clock = Clock()
    limits = RegistrationLimiter(per_ip=2, overall=3, window=60, clock=clock)
    assert [limits.allow("a"), limits.allow("a")] == [None, None]
    assert "from a" in limits.allow("a")
    assert limits.allow("b") is None
    assert "more than 3" in limits.allow("c")
    clock.now += 60
    assert limits.allow("a") is None


def test_event_throttle():
    clock = Clock()
    throttle = EventThrottle(interval=60, clock=clock)
    assert throttle.admit(("CB1", "auth_failed"))
    assert not throttle.admit(("CB1", "auth_failed"))
    assert throttle.admit(("CB2", "auth_failed"))
    clock.now += 60
    assert throttle.admit(("CB1", "auth_failed"))


def test_identity_limit_and_credential_values():
    check_identity("B" * 255)
    with pytest.raises(ProtocolViolation, match="255"):
        check_identity("B" * 256)
    assert check_allow_from(" 10.0.0.0/8 , 192.0.2.7,2001:db8::/32 ") == \
        "10.0.0.0/8,192.0.2.7/32,2001:db8::/32"
    assert check_allow_from("") is None
    with pytest.raises(ValueError, match="CIDR"):
        check_allow_from("10.0.0.0/8,everywhere")
    assert in_networks("10.1.2.3", "10.0.0.0/8") and in_networks("::ffff:10.1.2.3", "10.0.0.0/8")
    assert not in_networks("11.0.0.1", "10.0.0.0/8") and not in_networks(None, "10.0.0.0/8")
    assert check_fingerprint("AA:" * 31 + "AA") == "aa" * 32
    with pytest.raises(ValueError):
        check_fingerprint("aa" * 31)
    assert cert_names_match({"names": ["vendor", "CB1"]}, "CB1")
    assert not cert_names_match({"names": ["CB10"]}, "CB1") and not cert_names_match(None, "CB1")
