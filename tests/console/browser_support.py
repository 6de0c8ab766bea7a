"""Helpers for the console's browser tests (no tests here).

- ``chromium()``: headless Chromium from Debian's ``chromium`` and ``chromium-driver`` packages,
  driven by Selenium, with a fresh profile; nothing is downloaded (Selenium Manager is told to
  stay offline and is never needed, since both paths are given);
- ``ConsoleCS``: the Central System in this process with a few accounts, and ``login``;
- ``requests_login``: a ``requests.Session`` logged in through the real login form, for the
  hand-made POSTs a browser would never send.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.central.test_e2e_support import InProcessCS
from tests.conftest import ROOT, missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORDS = {"admin": "admin password", "operator": "operator password",
             "viewer": "viewer password"}


def chromium_missing_reason() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} not found (Debian package {package}; .ci/run installs it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    return None


@contextmanager
def chromium(width: int = 1280, height: int = 900, javascript: bool = True) -> Iterator[Any]:
    """A headless Chromium WebDriver; skips (fails under CI) when the packages are missing."""
    reason = chromium_missing_reason()
    if reason:
        missing(f"browser tests need headless Chromium: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never fetch a browser or driver
    profile = tempfile.mkdtemp(prefix="ocpp-console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-extensions",
                "--disable-default-apps", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "--force-device-scale-factor=1",
                "--lang=en-US"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
             pause: float = 0.2) -> Any:
    """``check()``'s first truthy value within ``timeout`` seconds (exceptions count as no)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # a page still loading, an element not there yet
            last = exc
        time.sleep(pause)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last!r})"
                                                             if last else ""))


class ConsoleCS(InProcessCS):
    """The Central System in this process with an admin, an operator and a viewer."""

    def __init__(self, db_path: Path, **overrides: Any):
        super().__init__(db_path, **overrides)
        accounts = self.app.central.accounts
        for role, password in PASSWORDS.items():
            accounts.add(role, role, password)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def requests_login(base_url: str, name: str, password: str | None = None) -> requests.Session:
    """A requests session logged in through the login form (as a browser would)."""
    session = requests.Session()
    page = session.get(base_url + "/ui/login", timeout=10)
    answer = session.post(base_url + "/ui/login", timeout=10, allow_redirects=False, data={
        "csrf": csrf_of(page.text), "name": name, "password": password or PASSWORDS[name],
        "next": "/ui/"})
    assert answer.status_code == 303, answer.text[:500]
    return session


def browser_login(driver: Any, base_url: str, name: str, password: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/ui/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password or PASSWORDS[name])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".who .user").text == name,
             what=f"{name} logged in")


def screenshot(driver: Any, name: str) -> Path:
    """Save the page as ``docs/screenshots/<name>.png`` (the README's images)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
