"""The address guard's rules, one per test (the end-to-end view is test_e2e_ssrf)."""

from __future__ import annotations

import pytest

from ocpp_soap.central.addressguard import AddressGuard, AddressRefused, parse_networks
from ocpp_soap.central.settings import CentralSettings


def exposed(**kw) -> AddressGuard:
    return AddressGuard(listen_host="192.0.2.1", listen_port=8180, **kw)


def dev(**kw) -> AddressGuard:
    return AddressGuard(listen_host="127.0.0.1", listen_port=8180, **kw)


@pytest.mark.parametrize("url", [
    "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://017700000001/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/",
    "http://localhost./", "http://LOCALHOST/", "http://a.b.localhost/", "http://[::1]/",
    "http://169.254.169.254/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1%25eth0]/",
    "http://0.0.0.0/", "http://[::]/", "http://224.0.0.251/", "http://[ff02::1]/",
    "http://240.0.0.1/", "http://[2002:7f00:1::]/",
])
def test_inside_addresses_are_refused_beyond_development(url):
    with pytest.raises(AddressRefused):
        exposed().check_url(url)


@pytest.mark.parametrize("url", ["ftp://10.0.0.1/", "file:///etc/passwd", "gopher://x/",
                                 "http://user:pw@10.0.0.1/", "http://@10.0.0.1/", "http:///x",
                                 "http://10.0.0.1:99999/", "http://10.0.0.1/a b"])
def test_schemes_userinfo_and_garbage_are_refused(url):
    with pytest.raises(AddressRefused):
        exposed().check_url(url)


def test_public_and_private_addresses_pass():
    for url in ("http://10.1.2.3:8080/ocpp", "https://198.51.100.7/", "http://[2001:db8::5]/"):
        assert exposed().check_url(url) == url


def test_every_resolved_address_is_checked():
    guard = exposed(resolver=lambda host, port: ["198.51.100.7", "127.0.0.1"])
    with pytest.raises(AddressRefused, match="loopback"):
        guard.check_url("http://cp.example/")
    guard = exposed(resolver=lambda host, port: ["198.51.100.7"])
    assert guard.check_url("http://cp.example/")


def test_zoned_link_local_is_refused_even_unresolved():
    with pytest.raises(AddressRefused):
        exposed().check_url("http://[fe80::1%25eth0]/", unresolved_ok=True)


def test_unresolvable_names_pass_only_when_asked():
    def fail(host, port):
        raise OSError("no such name")

    guard = exposed(resolver=fail)
    with pytest.raises(AddressRefused, match="cannot be resolved"):
        guard.check_url("http://nowhere.example/")
    assert guard.check_url("http://nowhere.example/", unresolved_ok=True)


def test_development_allows_loopback_but_not_our_own_port():
    assert dev().check_url("http://127.0.0.1:8280/ocpp/ChargePointService")
    assert dev().check_url("http://localhost:8280/")
    for own in ("http://127.0.0.1:8180/api/v1/", "http://127.1:8180/", "http://localhost.:8180/",
                "http://[::1]:8180/", "http://[::ffff:127.0.0.1]:8180/"):
        with pytest.raises(AddressRefused, match="own address"):
            dev().check_url(own)
    with pytest.raises(AddressRefused):  # the relaxation is for loopback only
        dev().check_url("http://169.254.169.254/")


def test_deny_wins_over_everything():
    guard = dev(deny=parse_networks(["127.0.0.0/8", "10.9.0.0/16"], "endpoint_deny"))
    for url in ("http://127.0.0.1:8280/", "http://[::ffff:127.0.0.1]:8280/", "http://10.9.1.1/"):
        with pytest.raises(AddressRefused, match="endpoint_deny"):
            guard.check_url(url)
    allowed = exposed(networks=parse_networks(["10.0.0.0/8"], "x"),
                      deny=parse_networks(["10.9.0.0/16"], "x"))
    assert allowed.check_url("http://10.1.1.1/")
    with pytest.raises(AddressRefused, match="endpoint_deny"):
        allowed.check_url("http://10.9.1.1/")


def test_wildcard_listener_refuses_this_machines_addresses():
    guard = AddressGuard(listen_host="0.0.0.0", listen_port=8180)
    with pytest.raises(AddressRefused):
        guard.check_url("http://127.0.0.1:9000/")


def test_settings_check_the_networks():
    with pytest.raises(ValueError, match="endpoint_deny"):
        CentralSettings(endpoint_deny=["not-a-net"])
    with pytest.raises(ValueError, match="endpoint_change"):
        CentralSettings(endpoint_change="sometimes")
    s = CentralSettings.from_env({"OCPP_SOAP_ENDPOINT_NETWORKS": "10.0.0.0/8, 192.0.2.0/24"})
    assert s.endpoint_networks == ["10.0.0.0/8", "192.0.2.0/24"]


def test_names_are_resolved_once_per_ttl_failures_too():
    calls = []

    def resolver(host, port):
        calls.append(host)
        if host == "gone.example":
            raise OSError("no such name")
        return ["198.51.100.7"]

    guard = exposed(resolver=resolver)
    guard.prefetch("http://cp.example:8080/")
    guard.prefetch("http://gone.example/")
    guard.prefetch("http://10.0.0.1/")  # a literal: nothing to resolve
    assert guard.check_url("http://cp.example:8080/x")
    with pytest.raises(AddressRefused, match="cannot be resolved"):
        guard.check_url("http://gone.example/")
    assert calls == ["cp.example", "gone.example"]


def test_behind_a_proxy_loopback_is_not_development():
    settings = CentralSettings(trusted_proxies=["127.0.0.1"], public_url="https://CS.example.com")
    guard = AddressGuard.from_settings(settings, "127.0.0.1", 8180)
    with pytest.raises(AddressRefused, match="loopback"):
        guard.check_url("http://127.0.0.1:6379/")  # a local service, reached through a box
    with pytest.raises(AddressRefused, match="public address"):
        guard.check_url("https://cs.example.com./api/v1/chargeboxes")
    # another port is another service
    assert guard.check_url("https://cs.example.com:8443/", unresolved_ok=True)


def test_a_cli_process_assumes_serves_listen_address(monkeypatch):
    guard = AddressGuard.from_settings(CentralSettings())
    with pytest.raises(AddressRefused, match="own address"):
        guard.check_url("http://127.0.0.1:8180/api/v1/chargeboxes")
    monkeypatch.setenv("OCPP_SOAP_PORT", "9000")
    guard = AddressGuard.from_settings(CentralSettings())
    with pytest.raises(AddressRefused, match="own address"):
        guard.check_url("http://localhost:9000/api/v1/chargeboxes")
