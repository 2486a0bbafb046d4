"""The console in a real headless Chromium (Debian chromium + chromium-driver) at a phone's size.

Set FLEETMON_CONSOLE_SHOTS=DIR to keep screenshots of the pages visited (for looking at, not for committing).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import PASSWORD, World
from tests.peers import missing, need_binary

# Pages and the browser behave the same on either store: SQLite is enough here.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

PHONE = {"width": 390, "height": 844, "pixelRatio": 1}


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -e '.[test]')")
    chromium = need_binary("chromium", "/usr/lib/chromium")
    driver_path = need_binary("chromedriver", "/usr/lib/chromium")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-domain-reliability", "--disable-features=Translate,OptimizationHints,MediaRouter",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):  # nothing leaves loopback
        options.add_argument(arg)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, name: str) -> None:
    folder = os.environ.get("FLEETMON_CONSOLE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "fromSurface": True})
        (Path(folder) / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))  # the whole page, not just the screen


def _fits_the_phone(driver: Any) -> bool:
    return bool(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"))


def _click(driver: Any, element: Any) -> None:
    """Click and wait for the next page to load."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element("tag name", "html")
    element.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))


def _sign_in(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(base + "/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/status"))


def test_a_technician_acknowledges_and_closes_a_ticket_on_a_phone(browser: Any, live_console: str, world: World) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    _sign_in(browser, live_console, "tech")
    assert browser.current_url.endswith("/status")
    assert _fits_the_phone(browser)
    _shot(browser, "status")
    _click(browser, browser.find_element(By.LINK_TEXT, "Phiếu sửa chữa"))
    assert _fits_the_phone(browser)
    _shot(browser, "tickets")
    [ticket] = [t for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    _click(browser, browser.find_element(By.PARTIAL_LINK_TEXT, f"#{ticket.id} "))
    _click(browser, browser.find_element(By.ID, "ack"))
    flash = browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert f"#{ticket.id}" in flash and "đã tiếp nhận" in flash
    assert _fits_the_phone(browser)
    _shot(browser, "ticket")
    [after] = [t for t in world.fleet.tickets() if t.id == ticket.id]
    assert after.state == "acknowledged" and after.assignee == "tech"

    world.fleet.wait(900)  # repaired on site: the camera answers again
    browser.refresh()
    form = browser.find_element(By.CSS_SELECTOR, "form.repair")
    form.find_element(By.NAME, "cause").send_keys("Bộ nguồn PoE cháy")
    form.find_element(By.NAME, "action").send_keys("Thay bộ nguồn")
    form.find_element(By.NAME, "cost").send_keys("450.000")
    Select(form.find_element(By.NAME, "funding")).select_by_value("social")
    _click(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "đã đóng" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert "450.000 ₫" in browser.page_source and "xã hội hóa" in browser.page_source
    _shot(browser, "closed")
    [closed] = [t for t in world.fleet.tickets("closed") if t.id == ticket.id]
    assert closed.repair is not None and closed.repair.cost_vnd == 450_000 and closed.repair.by == "tech"


def test_an_area_viewer_typing_another_areas_device_url_gets_nothing(browser: Any, live_console: str) -> None:
    _sign_in(browser, live_console, "police")
    browser.get(live_console + "/devices/ss-cam-1")
    assert "Không có thiết bị này" in browser.page_source and "Sầm Sơn" not in browser.page_source
    browser.get(live_console + "/devices/xl-cam-1")
    assert "xl-cam-1" in browser.find_element("tag name", "h1").text
    _shot(browser, "device")
