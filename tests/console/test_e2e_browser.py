"""The console in a real browser (headless Chromium from Debian, driven by Selenium) against the
Central System and a simulated charge point over real HTTP.

One walk through an operator's day, each step checked on the page: log in, watch the box come
online, open it, Reset it and see it boot again, RemoteStart and watch the chart grow, stop it,
block a tag, read an envelope and its comparison with the specification's sample; then a viewer
who cannot command, even with a hand-made POST, and a POST without the CSRF token. The
screenshots taken on the way are the README's images (``docs/screenshots/``).
"""

from __future__ import annotations

import pytest

from ocpp_soap.central.storage.models import CommandLog
from tests.central.test_e2e_support import rows
from tests.chargepoint.test_e2e_support import close_cp
from tests.console.browser_support import (
    ConsoleCS,
    browser_login,
    chromium,
    screenshot,
    wait_for,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _start_cp(cs_url: str):
    from ocpp_soap.chargepoint import ChargePoint, Scheduler

    config = {"vendor": "Alfen", "model": "NG910", "power_w": 11000.0,
              "keys": {"MeterValueSampleInterval": 1,
                       "MeterValuesSampledData": "Energy.Active.Import.Register,"
                                                 "Power.Active.Import"}}
    cp = ChargePoint("CB1", cs_url, "1.6", 2, config, None,
                     scheduler=Scheduler(workers=4), timeout=5.0)
    cp.serve("127.0.0.1", 0)
    cp.start()
    return cp


@pytest.fixture
def cs(tmp_path):
    with ConsoleCS(tmp_path / "cs.db", envelope_log=True) as server:
        server.admin.add_chargebox("CB1", description="Garage, left bay")
        server.admin.add_tag("TAG1", max_active_transactions=None)
        yield server


def _by(driver):
    from selenium.webdriver.common.by import By

    return By


def _text(driver, css: str) -> str:
    return driver.find_element(_by(driver).CSS_SELECTOR, css).text


def _send(driver, op: str, fields: dict[str, str]) -> str:
    """Choose ``op`` in the box page's command form, fill ``fields``, send, return the result."""
    from selenium.webdriver.support.ui import Select

    by = _by(driver)
    from selenium.common.exceptions import StaleElementReferenceException

    Select(driver.find_element(by.ID, "op")).select_by_visible_text(op)
    try:  # a pointer choice may already have opened the form (the page is then new)
        driver.find_element(by.CSS_SELECTOR, ".op-choice button").click()
    except StaleElementReferenceException:
        pass
    wait_for(lambda: _text(driver, ".command-form h3") == op, what=f"{op} form")
    for name, value in fields.items():
        element = driver.find_element(by.ID, "f-" + name)
        if element.tag_name == "select":
            Select(element).select_by_visible_text(value)
        else:
            element.clear()
            element.send_keys(value)
    driver.find_element(by.CSS_SELECTOR, ".command-form button[type=submit]").click()
    return wait_for(lambda: _text(driver, "#command-result"), what=f"{op} result")


def test_operator_day_in_the_browser(cs):
    cp = None
    with chromium() as driver:
        by = _by(driver)
        try:
            # -- log in ------------------------------------------------------------------------
            driver.get(cs.url + "/")
            assert "/ui/login" in driver.current_url
            assert driver.find_element(by.ID, "password").get_attribute("type") == "password"
            screenshot(driver, "login")
            browser_login(driver, cs.url, "admin")
            assert _text(driver, "h1") == "Overview"

            # -- the overview shows the box come online (live, without reloading) ---------------
            row = "tr[data-box='CB1']"
            assert "never seen" in _text(driver, row + " .presence")
            marker = driver.execute_script("window.__same_page = 1; return window.__same_page")
            cp = _start_cp(cs.soap_url("1.6"))
            wait_for(lambda: "online" == _text(driver, row + " .presence"), timeout=30,
                     what="CB1 online on the overview")
            assert driver.execute_script("return window.__same_page") == marker  # no reload
            assert "Alfen" in _text(driver, row) and "Available" in _text(driver, row)
            assert _text(driver, "#n-online") == "1"
            screenshot(driver, "overview")

            # -- open the box page -------------------------------------------------------------
            driver.find_element(by.LINK_TEXT, "CB1").click()
            wait_for(lambda: _text(driver, "#box-id") == "CB1", what="box page")
            assert "Accepted" in _text(driver, "#registration-status")
            assert "Alfen / NG910" in _text(driver, "#registration")
            assert "/ocpp/ChargePointService" in _text(driver, "#endpoint")
            wait_for(lambda: "Available" in _text(driver, "tr[data-connector='1']"),
                     what="connector 1 Available")
            screenshot(driver, "box")

            # -- Reset, and see the box boot again ---------------------------------------------
            boot_time = driver.find_element(by.CSS_SELECTOR, "#last-boot time")
            booted = boot_time.get_attribute("datetime")
            # Shown in the browser's zone by the script, with UTC on hover.
            assert boot_time.get_attribute("title").startswith("UTC: ")
            assert "UTC" not in boot_time.text
            result = _send(driver, "Reset", {"type": "Soft"})
            assert "CB1 answered Reset" in result and '"status": "Accepted"' in result
            screenshot(driver, "command-reply")
            wait_for(lambda: driver.find_element(by.CSS_SELECTOR, "#last-boot time")
                     .get_attribute("datetime") > booted, timeout=30, what="a new boot shown")

            # -- an invalid field is named inline ----------------------------------------------
            driver.get(cs.url + "/ui/boxes/CB1?op=ChangeAvailability")
            driver.find_element(by.ID, "f-connectorId").send_keys("one")
            driver.find_element(by.CSS_SELECTOR, ".command-form button[type=submit]").click()
            error = wait_for(lambda: _text(driver, "#f-connectorId-error"), what="inline error")
            assert "connectorId" in error and "integer" in error

            # -- RemoteStart: the transaction appears, its chart grows -------------------------
            result = _send(driver, "RemoteStartTransaction", {"idTag": "TAG1",
                                                              "connectorId": "1"})
            assert '"status": "Accepted"' in result
            cp.plug(1)  # the driver plugs in
            tx_link = wait_for(lambda: driver.find_element(
                by.CSS_SELECTOR, "#transactions tr[data-tx] a"), timeout=30,
                what="the transaction on the box page")
            assert "open" in _text(driver, "#transactions")
            tx_link.click()
            wait_for(lambda: "open" in _text(driver, "#tx-state"), what="transaction page")

            def dots() -> int:
                return len(driver.find_elements(by.CSS_SELECTOR, "#chart circle.dot.energy"))

            first = wait_for(dots, timeout=30, what="a first meter value in the chart")
            wait_for(lambda: dots() >= first + 2, timeout=40, what="the chart to grow")
            assert driver.find_elements(by.CSS_SELECTOR, "#chart polyline.line.power")
            assert "so far" in _text(driver, "#tx-energy")
            screenshot(driver, "transaction")

            # -- stop it -----------------------------------------------------------------------
            driver.find_element(by.ID, "stop-tx").click()
            flash = wait_for(lambda: _text(driver, ".flash.ok"), what="stop answer")
            assert "answered RemoteStopTransaction: Accepted" in flash
            wait_for(lambda: "closed" in _text(driver, "#tx-state"), timeout=30,
                     what="the transaction closed")
            assert "Remote" in _text(driver, "#summary")

            # -- block a tag -------------------------------------------------------------------
            driver.find_element(by.LINK_TEXT, "Tags").click()
            wait_for(lambda: _text(driver, "h1") == "Id tags", what="tags page")
            driver.find_element(by.CSS_SELECTOR, "tr[data-tag='TAG1'] button").click()
            wait_for(lambda: "Tag TAG1 is blocked" in _text(driver, ".flash.ok"),
                     what="block confirmed")
            assert "Blocked" in _text(driver, "h1")
            assert cs.admin.get_tag("TAG1")["status"] == "Blocked"
            driver.get(cs.url + "/ui/tags")
            assert "Blocked" in _text(driver, "tr[data-tag='TAG1']")
            screenshot(driver, "tags")

            # -- an envelope and its comparison with the sample --------------------------------
            driver.get(cs.url + "/ui/messages?chargebox=CB1&action=BootNotification"
                                "&direction=in")
            first_row = wait_for(lambda: driver.find_element(
                by.CSS_SELECTOR, "table.messages tbody tr td a"), what="a logged boot")
            first_row.click()
            xml = wait_for(lambda: _text(driver, "#xml"), what="the envelope")
            assert "bootNotificationRequest" in xml and "chargeBoxIdentity" in xml
            assert driver.find_elements(by.CSS_SELECTOR, "#xml .x-tag")
            driver.find_element(by.ID, "compare-link").click()
            comparison = wait_for(lambda: _text(driver, "#comparison"), what="comparison")
            assert "samples/ocpp16/BootNotification.req.xml" in comparison
            # the sample's vendor and model differ from this box's: value differences
            assert "changed value" in comparison and "chargePointVendor" in comparison
            screenshot(driver, "message-compare")
            driver.find_element(by.ID, "validate-link").click()
            assert "Valid" in wait_for(lambda: _text(driver, "#validation"), what="validation")

            # -- a viewer cannot send a command, even by a hand-made POST ----------------------
            commands = len(rows(cs.db_url, CommandLog))
            driver.find_element(by.CSS_SELECTOR, ".who button").click()  # log out
            wait_for(lambda: "/ui/login" in driver.current_url, what="logged out")
            browser_login(driver, cs.url, "viewer")
            driver.get(cs.url + "/ui/boxes/CB1")
            assert "reads only" in _text(driver, "#command")
            assert not driver.find_elements(by.CSS_SELECTOR, ".command-form")
            token = driver.find_element(by.CSS_SELECTOR, ".who input[name=csrf]"
                                        ).get_attribute("value")
            status, body = driver.execute_async_script(_POST, "/ui/do/box/command", {
                "csrf": token, "box": "CB1", "op": "Reset", "f.type": "Hard"})
            assert status == 403 and "Your role (viewer) cannot do this" in body
            assert len(rows(cs.db_url, CommandLog)) == commands

            # -- a POST without the CSRF token is refused --------------------------------------
            status, body = driver.execute_async_script(_POST, "/ui/do/tag/unblock",
                                                       {"tag": "TAG1"})
            assert status == 403 and "missing or wrong CSRF token" in body
            assert cs.admin.get_tag("TAG1")["status"] == "Blocked"

            # -- phone width -------------------------------------------------------------------
            driver.set_window_size(390, 900)
            driver.get(cs.url + "/ui/")
            assert driver.execute_script(
                "return document.documentElement.scrollWidth") <= 390 + 1
            screenshot(driver, "overview-phone")
        finally:
            if cp is not None:
                close_cp(cp)


_POST = """
const [path, fields, done] = arguments;
const body = new FormData();
for (const [k, v] of Object.entries(fields)) body.append(k, v);
fetch(path, {method: "POST", body, credentials: "same-origin"})
  .then(r => r.text().then(t => done([r.status, t])))
  .catch(e => done([0, String(e)]));
"""


def test_pages_read_without_javascript(cs):
    from ocpp_soap.central.testing import Ctx

    central = cs.app.central
    central.boot(Ctx(charge_box_id="CB1", action="BootNotification"),
                 {"chargePointVendor": "Alfen", "chargePointModel": "NG910"})
    central.status_notification(Ctx(charge_box_id="CB1", action="StatusNotification"),
                                {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
    tx = central.start_transaction(Ctx(charge_box_id="CB1", action="StartTransaction"),
                                   {"connectorId": 1, "idTag": "TAG1", "meterStart": 100})
    with chromium(javascript=False) as driver:
        from selenium.webdriver.common.keys import Keys

        by = _by(driver)
        # Keyboard only: the name field has the focus, Tab to the password, Enter logs in.
        driver.get(cs.url + "/ui/")
        active = driver.switch_to.active_element
        assert active.get_attribute("id") == "name"
        active.send_keys("viewer", Keys.TAB)
        driver.switch_to.active_element.send_keys("viewer password", Keys.ENTER)
        wait_for(lambda: _text(driver, ".who .user") == "viewer", what="logged in by keyboard")
        assert "online" in _text(driver, "tr[data-box='CB1'] .presence")
        assert "Charging" in _text(driver, "tr[data-box='CB1']")
        # Without the script times stay in UTC, as the server wrote them.
        assert _text(driver, "tr[data-box='CB1'] time").endswith("UTC")
        driver.find_element(by.LINK_TEXT, "CB1").click()
        assert _text(driver, "#box-id") == "CB1"
        assert "open" in _text(driver, "#transactions")
        driver.get(cs.url + f"/ui/transactions/{tx['transactionId']}")
        assert "open" in _text(driver, "#tx-state") and "TAG1" in _text(driver, "#summary")
