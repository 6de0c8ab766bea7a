"""The JSON API without a token, over real HTTP: what a hostile web page can no longer do.

A browser on the operator's machine reaches a loopback API. A page elsewhere could send a
``text/plain`` POST or a form POST (no CORS preflight for those) with a foreign Origin, or rebind
its own name to 127.0.0.1 and read the API under its own Host. Without a token each of these is
refused (403 before anything else, 415 for a body that is not JSON); with a token, the token is
what protects the API.
"""

from __future__ import annotations

import requests

from ocpp_soap.central.serve import ServeError, ServePlan
from tests.central.test_api_support import assert_error, running_api

EVIL = "http://evil.example"


def test_csrf_posts_are_refused(tmp_path):
    with running_api(tmp_path) as api:
        # text/plain, no Origin (old browsers, or a sandboxed frame): a body that is not JSON
        r = requests.post(api.base + "/chargeboxes", data='{"charge_box_id": "EVIL"}',
                          headers={"Content-Type": "text/plain"}, timeout=10)
        assert_error(r, 415, "application/json")
        # the same with a foreign Origin and Host, as the issue saw it
        r = requests.post(api.base + "/chargeboxes", data='{"charge_box_id": "EVIL"}',
                          headers={"Content-Type": "text/plain", "Origin": EVIL,
                                   "Host": "evil.example"}, timeout=10)
        assert_error(r, 403, "Host")
        # a form POST sending a Reset, from a page elsewhere
        api.admin.add_chargebox("CB1", endpoint="http://127.0.0.1:9/", ocpp_version="1.6")
        r = requests.post(api.base + "/chargeboxes/CB1/operations/Reset", data={"type": "Hard"},
                          headers={"Origin": EVIL}, timeout=10)
        assert_error(r, 403, "Origin")
        r = requests.post(api.base + "/chargeboxes/CB1/operations/Reset", data={"type": "Hard"},
                          timeout=10)
        assert_error(r, 415)
        r = requests.post(api.base + "/idtags/T1/block", data="x=1",
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          timeout=10)
        assert_error(r, 415)
        for origin in ("null", "http://127.0.0.1.evil.example", "file://"):
            r = requests.get(api.base + "/chargeboxes", headers={"Origin": origin}, timeout=10)
            assert_error(r, 403, "Origin")
        assert [b["charge_box_id"] for b in api.admin.list_chargeboxes()] == ["CB1"]
        assert api.admin.list_commands() == []


def test_dns_rebinding_reads_are_refused_before_anything_else(tmp_path):
    with running_api(tmp_path) as api:
        port = api.server.port
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.io:{port}", ""):
            for path in ("/chargeboxes", "/nothing-here", "/openapi.json"):
                r = requests.get(api.base + path, headers={"Host": host}, timeout=10)
                assert_error(r, 403, "Host")


def test_proxied_requests_need_a_token(tmp_path):
    with running_api(tmp_path) as api:
        for header in ({"X-Forwarded-For": "198.51.100.7"}, {"Forwarded": "for=198.51.100.7"}):
            assert_error(api.get("/chargeboxes", headers=header), 403, "proxied")


def test_own_pages_loopback_names_and_the_public_host_are_served(tmp_path):
    with running_api(tmp_path, public_url="https://cs.example.org") as api:
        port = api.server.port
        own = f"127.0.0.1:{port}"
        assert api.get("/chargeboxes", headers={"Origin": f"http://{own}"}).status_code == 200
        for host in (own, f"localhost:{port}", f"[::1]:{port}", "cs.example.org",
                     "CS.EXAMPLE.ORG."):
            r = requests.get(api.base + "/chargeboxes", headers={"Host": host}, timeout=10)
            assert r.status_code == 200, (host, r.text)
        assert api.post("/chargeboxes", {"charge_box_id": "OK"}).status_code == 201


def test_with_a_token_the_token_protects(tmp_path):
    with running_api(tmp_path, api_token="tok") as api:
        r = api.get("/chargeboxes", headers={"Host": "cs.behind.proxy", "Origin": EVIL})
        assert r.status_code == 200
        r = requests.get(api.base + "/chargeboxes", headers={"Host": "evil.example"}, timeout=10)
        assert_error(r, 401)
        # still JSON only
        r = api.request("POST", "/chargeboxes", data="charge_box_id=X",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_error(r, 415)


def test_token_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    with running_api(tmp_path, api_token_file=str(token_file), listen_host="0.0.0.0") as api:
        assert_error(api.get("/chargeboxes"), 401)
        assert api.get("/chargeboxes", token="from-a-file").status_code == 200
    plan = ServePlan(host="0.0.0.0", serve_overrides={"api_token_file": str(token_file)},
                     settings_overrides={"db_url": f"sqlite:///{tmp_path / 'x.db'}"})
    plan.check({})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path in (str(empty), str(tmp_path / "missing")):
        bad = ServePlan(host="0.0.0.0", serve_overrides={"api_token_file": path})
        try:
            bad.check({})
        except ServeError as exc:
            assert "token file" in str(exc)
        else:
            raise AssertionError("a bad token file was accepted")


def test_bind_message_does_not_suggest_a_tokenless_proxy(tmp_path):
    try:
        ServePlan(host="0.0.0.0").check({})
    except ServeError as exc:
        text = str(exc)
    assert "--api-token-file" in text and "loopback behind a proxy" not in text


def test_credentials_through_the_api(tmp_path):
    with running_api(tmp_path, api_token="tok") as api:
        r = api.post("/chargeboxes", {"charge_box_id": "CB1", "allow_from": "10.0.0.0/8",
                                      "cert_fingerprint": "AB:" * 31 + "AB"})
        assert r.status_code == 201, r.text
        assert r.json()["allow_from"] == "10.0.0.0/8"
        assert r.json()["cert_fingerprint"] == "ab" * 32
        assert_error(api.patch("/chargeboxes/CB1", {"allow_from": "10.0.0.0/33"}), 422, "CIDR")
        assert_error(api.patch("/chargeboxes/CB1", {"cert_fingerprint": "xyz"}), 422, "SHA-256")
        r = api.patch("/chargeboxes/CB1", {"allow_from": None, "cert_fingerprint": None})
        assert r.status_code == 200 and r.json()["allow_from"] is None
        assert r.json()["cert_fingerprint"] is None
        assert api.get("/chargeboxes/CB1/events").json() == {"items": [], "count": 0}
        assert_error(api.get("/chargeboxes/CB1/events", params={"since": "soon"}), 400, "since")
