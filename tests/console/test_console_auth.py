"""The console's door: login, the session cookie, idle timeout, CSRF, Origin, roles, rate limits,
and that ``/api/v1`` and ``/healthz`` keep their own rules. Real HTTP against a real server."""

from __future__ import annotations

import time

import pytest
import requests
from werkzeug.test import Client

from ocpp_soap.central.accounts import MAX_FAILURES
from ocpp_soap.central.console.sessions import COOKIE, Session, SessionCodec
from ocpp_soap.central.storage.models import CommandLog
from tests.central.test_e2e_support import rows
from tests.console.browser_support import ConsoleCS, csrf_of, requests_login

PAGES = ["/ui/", "/ui/boxes/CB1", "/ui/transactions", "/ui/transactions.csv",
         "/ui/transactions/1", "/ui/tags", "/ui/tags/T1", "/ui/reservations", "/ui/messages",
         "/ui/messages/1", "/ui/messages/1/download", "/ui/users", "/ui/nowhere"]


@pytest.fixture
def cs(tmp_path):
    with ConsoleCS(tmp_path / "cs.db", api_token="api-secret", listen_host="0.0.0.0") as server:
        server.admin.add_chargebox("CB1", ocpp_version="1.6")
        server.admin.add_tag("T1")
        yield server


def test_root_redirects_to_the_console_and_healthz_needs_no_login(cs):
    r = requests.get(cs.url + "/", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/ui/"
    r = requests.get(cs.url + "/ui", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/ui/"
    r = requests.get(cs.url + "/healthz", timeout=10)
    assert r.status_code == 200 and "Central System" in r.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_redirects_to_login_without_a_session(cs, path):
    r = requests.get(cs.url + path, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/ui/login?next=")
    login = requests.get(cs.url + r.headers["Location"], timeout=10)
    assert login.status_code == 200 and "Log in" in login.text and 'name="password"' in login.text


@pytest.mark.parametrize("path", ["/ui/live/overview", "/ui/live/box?id=CB1",
                                  "/ui/live/transaction?id=1"])
def test_live_endpoints_answer_401_json_without_a_session(cs, path):
    r = requests.get(cs.url + path, allow_redirects=False, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "not logged in"


def test_posts_without_a_session_change_nothing(cs):
    r = requests.post(cs.url + "/ui/do/tag/block", data={"tag": "T1"}, allow_redirects=False,
                      timeout=10)
    assert r.status_code == 303 and r.headers["Location"].startswith("/ui/login")
    assert cs.admin.get_tag("T1")["status"] == "Accepted"


def test_login_sets_a_strict_httponly_cookie_and_wrong_passwords_say_so(cs):
    s = requests.Session()
    page = s.get(cs.url + "/ui/login", timeout=10)
    token = csrf_of(page.text)
    bad = s.post(cs.url + "/ui/login", data={"csrf": token, "name": "admin",
                                             "password": "nope"}, timeout=10)
    assert bad.status_code == 401 and "Wrong user name or password." in bad.text
    good = s.post(cs.url + "/ui/login", allow_redirects=False, timeout=10, data={
        "csrf": token, "name": "admin", "password": "admin password",
        "next": "/ui/tags?q=T"})
    assert good.status_code == 303 and good.headers["Location"] == "/ui/tags?q=T"
    cookie = next(c for c in good.raw.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "="))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "path"} <= attrs and "samesite=strict" in cookie.lower()
    assert "secure" not in attrs  # plain HTTP here
    page = s.get(cs.url + "/ui/", timeout=10)
    assert page.status_code == 200 and ">admin<" in page.text and "Overview" in page.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/api/v1/x",
                                    "/ui/\\evil", "javascript:alert(1)"])
def test_login_never_redirects_off_the_console(cs, target):
    s = requests.Session()
    token = csrf_of(s.get(cs.url + "/ui/login", timeout=10).text)
    r = s.post(cs.url + "/ui/login", allow_redirects=False, timeout=10, data={
        "csrf": token, "name": "viewer", "password": "viewer password", "next": target})
    assert r.status_code == 303 and r.headers["Location"] == "/ui/"


def test_cookie_is_secure_under_tls(cs):
    client = Client(cs.app)
    page = client.get("/ui/login", base_url="https://cs.example")
    token = csrf_of(page.get_data(as_text=True))
    r = client.post("/ui/login", base_url="https://cs.example", data={
        "csrf": token, "name": "admin", "password": "admin password"})
    assert r.status_code == 303
    cookie = next(v for k, v in r.headers.items() if k == "Set-Cookie" and v.startswith(COOKIE))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_form_needs_its_csrf_token(cs):
    r = requests.post(cs.url + "/ui/login", timeout=10, data={
        "name": "admin", "password": "admin password"})
    assert r.status_code == 403 and "CSRF" in r.text and COOKIE not in r.cookies


def test_a_forged_or_altered_cookie_is_no_session(cs):
    s = requests_login(cs.url, "viewer")
    value = s.cookies[COOKIE]
    body, sig = value.split(".")
    for forged in (body + "." + sig[:-2] + "AA", "x" + value, "garbage", body + ".", "." * 5000):
        r = requests.get(cs.url + "/ui/", cookies={COOKIE: forged}, allow_redirects=False,
                         timeout=10)
        assert r.status_code == 303 and r.headers["Location"].startswith("/ui/login")


def test_idle_session_ends(cs):
    codec = SessionCodec(cs.app.central.accounts.signing_key(),
                         cs.app.settings.console_idle_timeout)
    epoch = cs.app.central.accounts.get("viewer").session_epoch
    fresh = codec.dump(Session.new("viewer", epoch))
    assert requests.get(cs.url + "/ui/", cookies={COOKIE: fresh}, timeout=10,
                        allow_redirects=False).status_code == 200
    idle = Session.new("viewer", epoch, now=time.time() - cs.app.settings.console_idle_timeout
                       - 5)
    r = requests.get(cs.url + "/ui/tags", cookies={COOKIE: codec.dump(idle)}, timeout=10,
                     allow_redirects=False)
    assert r.status_code == 303 and "expired=1" in r.headers["Location"]
    page = requests.get(cs.url + r.headers["Location"], timeout=10)
    assert "session ended after a time without activity" in page.text


def test_logout_ends_the_session_even_for_a_copied_cookie(cs):
    s = requests_login(cs.url, "operator")
    copied = s.cookies[COOKIE]
    page = s.get(cs.url + "/ui/", timeout=10)
    r = s.post(cs.url + "/ui/logout", data={"csrf": csrf_of(page.text)}, allow_redirects=False,
               timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/ui/login"
    r = requests.get(cs.url + "/ui/", cookies={COOKIE: copied}, allow_redirects=False, timeout=10)
    assert r.status_code == 303


def test_password_change_by_an_admin_ends_the_users_sessions(cs):
    viewer = requests_login(cs.url, "viewer")
    admin = requests_login(cs.url, "admin")
    token = csrf_of(admin.get(cs.url + "/ui/users", timeout=10).text)
    r = admin.post(cs.url + "/ui/do/user/password", timeout=10, data={
        "csrf": token, "name": "viewer", "password": "brand new password"})
    assert r.status_code == 200 and "Password of viewer changed" in r.text
    assert viewer.get(cs.url + "/ui/", allow_redirects=False, timeout=10).status_code == 303


def test_post_without_or_with_a_wrong_csrf_token_is_refused(cs):
    s = requests_login(cs.url, "admin")
    for data in ({"tag": "T1"}, {"tag": "T1", "csrf": "not-the-token"}, {"tag": "T1", "csrf": ""}):
        r = s.post(cs.url + "/ui/do/tag/block", data=data, allow_redirects=False, timeout=10)
        assert r.status_code == 403
        assert "missing or wrong CSRF token" in r.text and "Traceback" not in r.text
    assert cs.admin.get_tag("T1")["status"] == "Accepted"
    token = csrf_of(s.get(cs.url + "/ui/tags", timeout=10).text)
    r = s.post(cs.url + "/ui/do/tag/block", data={"tag": "T1", "csrf": token}, timeout=10)
    assert r.status_code == 200 and "Tag T1 is blocked" in r.text
    assert cs.admin.get_tag("T1")["status"] == "Blocked"


def test_post_from_another_origin_is_refused(cs):
    s = requests_login(cs.url, "admin")
    token = csrf_of(s.get(cs.url + "/ui/tags", timeout=10).text)
    r = s.post(cs.url + "/ui/do/tag/block", data={"tag": "T1", "csrf": token}, timeout=10,
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.text
    assert cs.admin.get_tag("T1")["status"] == "Accepted"


def test_a_viewer_cannot_command_even_by_a_hand_made_post(cs):
    s = requests_login(cs.url, "viewer")
    page = s.get(cs.url + "/ui/boxes/CB1", timeout=10)
    assert page.status_code == 200
    assert "Send Reset" not in page.text and "reads only" in page.text
    token = csrf_of(page.text)
    r = s.post(cs.url + "/ui/do/box/command", timeout=10, data={
        "csrf": token, "box": "CB1", "op": "Reset", "f.type": "Hard"})
    assert r.status_code == 403 and "Your role (viewer) cannot do this" in r.text
    assert rows(cs.db_url, CommandLog) == []
    for path, data in (("/ui/do/tag/block", {"tag": "T1"}), ("/ui/do/box/remove", {"box": "CB1"}),
                       ("/ui/do/user/add", {"name": "x", "role": "admin", "password": "12345678"})):
        r = s.post(cs.url + path, data={**data, "csrf": token}, timeout=10)
        assert r.status_code == 403, path
    assert cs.admin.get_tag("T1")["status"] == "Accepted"
    assert cs.admin.get_chargebox("CB1")
    assert [u["name"] for u in cs.app.central.accounts.list()] == ["admin", "operator", "viewer"]


def test_an_operator_cannot_manage_boxes_or_users(cs):
    s = requests_login(cs.url, "operator")
    token = csrf_of(s.get(cs.url + "/ui/", timeout=10).text)
    assert s.get(cs.url + "/ui/users", timeout=10).status_code == 403
    for path, data in (("/ui/do/box/remove", {"box": "CB1"}),
                       ("/ui/do/box/registration", {"box": "CB1", "status": "Rejected"}),
                       ("/ui/do/user/remove", {"name": "viewer"})):
        r = s.post(cs.url + path, data={**data, "csrf": token}, timeout=10)
        assert r.status_code == 403 and "needs the admin role" in r.text
    assert cs.admin.get_chargebox("CB1")["registration_status"] == "Accepted"
    # Tags are an operator's job.
    r = s.post(cs.url + "/ui/do/tag/block", data={"tag": "T1", "csrf": token}, timeout=10)
    assert r.status_code == 200 and cs.admin.get_tag("T1")["status"] == "Blocked"


def test_failed_logins_are_rate_limited(cs):
    s = requests.Session()
    token = csrf_of(s.get(cs.url + "/ui/login", timeout=10).text)
    for _ in range(MAX_FAILURES):
        r = s.post(cs.url + "/ui/login", data={"csrf": token, "name": "admin",
                                               "password": "guess"}, timeout=10)
        assert r.status_code == 401
    r = s.post(cs.url + "/ui/login", data={"csrf": token, "name": "admin",
                                           "password": "admin password"}, timeout=10)
    assert r.status_code == 429 and "Too many failed logins" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 61


def test_the_api_ignores_the_console_cookie(cs):
    s = requests_login(cs.url, "admin")
    r = s.get(cs.url + "/api/v1/chargeboxes", timeout=10)
    assert r.status_code == 401 and "bearer" in r.json()["error"]
    r = requests.get(cs.url + "/api/v1/chargeboxes", timeout=10,
                     headers={"Authorization": "Bearer api-secret"})
    assert r.status_code == 200 and r.json()["count"] == 1


def test_pages_carry_protective_headers(cs):
    s = requests_login(cs.url, "viewer")
    r = s.get(cs.url + "/ui/", timeout=10)
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"


def test_unknown_methods_and_pages_get_readable_errors(cs):
    s = requests_login(cs.url, "viewer")
    r = s.get(cs.url + "/ui/nowhere", timeout=10)
    assert r.status_code == 404 and "There is no page at /ui/nowhere" in r.text
    r = s.put(cs.url + "/ui/tags", timeout=10)
    assert r.status_code == 405 and "not allowed" in r.text
    r = s.get(cs.url + "/ui/boxes/NOPE", timeout=10)
    assert r.status_code == 404 and "unknown charge box" in r.text and "Traceback" not in r.text


def test_sessions_and_login_limits_hold_across_gunicorn_workers(tmp_path):
    """Under ``serve`` several worker processes answer: each must accept the others' cookies
    (one key, in the database) and count the same failed logins."""
    from ocpp_soap.central.accounts import Accounts
    from ocpp_soap.central.storage.store import Store
    from tests.central.test_e2e_support import GunicornCS

    db = tmp_path / "cs.db"
    store = Store.open(f"sqlite:///{db}")
    Accounts(store).add("alice", "viewer", "alice password")
    store.dispose()
    with GunicornCS(db, workers=2) as cs:
        s = requests_login(cs.url, "alice", "alice password")
        for _ in range(12):  # new connections: both workers take some
            with requests.Session() as fresh:
                fresh.cookies.update(s.cookies)
                r = fresh.get(cs.url + "/ui/", allow_redirects=False, timeout=10)
                assert r.status_code == 200 and ">alice<" in r.text
        for _ in range(MAX_FAILURES):
            with requests.Session() as fresh:
                token = csrf_of(fresh.get(cs.url + "/ui/login", timeout=10).text)
                r = fresh.post(cs.url + "/ui/login", timeout=10, data={
                    "csrf": token, "name": "alice", "password": "guess"})
                assert r.status_code == 401
        with requests.Session() as fresh:
            token = csrf_of(fresh.get(cs.url + "/ui/login", timeout=10).text)
            r = fresh.post(cs.url + "/ui/login", timeout=10, data={
                "csrf": token, "name": "alice", "password": "alice password"})
            assert r.status_code == 429


def _login_via_proxy(url, headers, password="admin password"):
    s = requests.Session()
    token = csrf_of(s.get(url + "/ui/login", timeout=10, headers=headers).text)
    return s, s.post(url + "/ui/login", allow_redirects=False, timeout=10, headers=headers,
                     data={"csrf": token, "name": "admin", "password": password})


def test_behind_a_trusted_proxy(tmp_path):
    with ConsoleCS(tmp_path / "cs.db", trusted_proxies=["127.0.0.1"]) as cs:
        # TLS ended at the proxy: the cookie is Secure.
        s, r = _login_via_proxy(cs.url, {"X-Forwarded-Proto": "https"})
        cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
        assert "Secure" in cookie
        # Failed logins count per browser address, not per proxy.
        for _ in range(MAX_FAILURES):
            _, r = _login_via_proxy(cs.url, {"X-Forwarded-For": "198.51.100.1"}, "guess")
            assert r.status_code == 401
        assert _login_via_proxy(cs.url, {"X-Forwarded-For": "198.51.100.1"})[1].status_code \
            == 429
        assert _login_via_proxy(cs.url, {"X-Forwarded-For": "198.51.100.2"})[1].status_code \
            == 429  # the account itself is locked now too
        # The browser's origin as the proxy saw it is this server.
        cs.app.central.accounts.add("bob", "operator", "bob password")
        cs.admin.add_tag("T1")
        bob = requests_login(cs.url, "bob", "bob password")
        token = csrf_of(bob.get(cs.url + "/ui/tags", timeout=10).text)
        r = bob.post(cs.url + "/ui/do/tag/block", data={"tag": "T1", "csrf": token}, timeout=10,
                     headers={"Origin": "https://cs.example", "X-Forwarded-Host": "cs.example"})
        assert r.status_code == 200 and cs.admin.get_tag("T1")["status"] == "Blocked"


def test_forwarded_headers_from_anyone_else_are_ignored(cs):
    s, r = _login_via_proxy(cs.url, {"X-Forwarded-Proto": "https"})
    cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    assert "Secure" not in cookie
    token = csrf_of(s.get(cs.url + "/ui/tags", timeout=10).text)
    r = s.post(cs.url + "/ui/do/tag/block", data={"tag": "T1", "csrf": token}, timeout=10,
               headers={"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"})
    assert r.status_code == 403 and cs.admin.get_tag("T1")["status"] == "Accepted"
    # A forged X-Forwarded-For does not buy fresh login attempts.
    for i in range(MAX_FAILURES):
        assert _login_via_proxy(cs.url, {"X-Forwarded-For": f"203.0.113.{i}"},
                                "guess")[1].status_code == 401
    assert _login_via_proxy(cs.url, {"X-Forwarded-For": "203.0.113.99"})[1].status_code == 429
