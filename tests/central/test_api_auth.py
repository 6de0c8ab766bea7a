"""API auth over real HTTP: a bearer token when one is configured, compared in constant time;
without one the API answers only when the server listens on loopback."""

from __future__ import annotations

import pytest

from ocpp_soap.central import api as api_module
from ocpp_soap.central.api import is_loopback
from tests.central.test_api_support import assert_error, running_api

TOKEN = "s3cret-t0ken-for-tests"


def test_token_required_when_configured(tmp_path):
    with running_api(tmp_path, api_token=TOKEN) as api:
        r = api.get("/chargeboxes", token="")
        assert_error(r, 401, "bearer")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(api.get("/chargeboxes", token="wrong"), 401, "invalid")
        assert_error(api.get("/chargeboxes", token=TOKEN + "x"), 401)
        r = api.request("GET", "/chargeboxes", token="",
                        headers={"Authorization": f"Basic {TOKEN}"})
        assert_error(r, 401)
        assert_error(api.post("/chargeboxes", {"charge_box_id": "X"}, token="nope"), 401)
        assert api.admin.list_chargeboxes() == []

        assert api.get("/chargeboxes").status_code == 200
        r = api.request("GET", "/chargeboxes", token="",
                        headers={"Authorization": f"bearer {TOKEN}"})
        assert r.status_code == 200
        assert api.post("/chargeboxes", {"charge_box_id": "X"}).status_code == 201
        # the document is public: it holds no data
        assert api.get("/openapi.json", token="").status_code == 200


def test_token_works_on_any_listen_address(tmp_path):
    with running_api(tmp_path, api_token=TOKEN, listen_host="0.0.0.0") as api:
        assert api.get("/idtags").status_code == 200
        assert_error(api.get("/idtags", token="wrong"), 401)


def test_no_token_on_loopback_is_open(tmp_path):
    with running_api(tmp_path, api_token="", listen_host="localhost") as api:
        assert api.get("/idtags").json() == {"items": [], "count": 0}
        # a token sent anyway does no harm
        assert api.get("/idtags", token="whatever").status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "cs.example.org"])
def test_no_token_off_loopback_is_refused(tmp_path, host):
    with running_api(tmp_path, api_token="", listen_host=host) as api:
        for r in (api.get("/chargeboxes"), api.post("/idtags", {"id_tag": "T"}),
                  api.post("/chargeboxes/X/operations/Reset", {"type": "Soft"}),
                  api.get("/chargeboxes", token="guess")):
            assert_error(r, 403, "token", "loopback")
        assert api.admin.list_tags() == []
        assert api.get("/openapi.json").status_code == 200
        assert api.get("/nothing").status_code == 404


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("10.0.0.1", False),
    ("localhost.evil.example", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_tokens_are_compared_in_constant_time(tmp_path, monkeypatch):
    seen = []
    real = api_module.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api_module.hmac, "compare_digest", spy)
    with running_api(tmp_path, api_token=TOKEN) as api:
        assert api.get("/chargeboxes", token="wrong").status_code == 401
        assert api.get("/chargeboxes").status_code == 200
    assert seen == [(b"wrong", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]
