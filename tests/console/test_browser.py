"""The console in a real headless Chromium (Debian chromium + chromium-driver) at a phone's size.

Set FLEETMON_CONSOLE_SHOTS=DIR to keep screenshots of the pages visited (for looking at, not for committing).
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import PASSWORD, SAM_SON, XUAN_LAP, World
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


def _downloads(driver: Any, folder: Path) -> Path:
    """Let the browser save downloads into `folder` (headless Chromium refuses them otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    return folder


def _downloaded(folder: Path, pattern: str, seconds: float = 20) -> list[Path]:
    """The finished downloads matching `pattern` once one has arrived (none after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [p for p in folder.glob(pattern) if not p.name.endswith(".crdownload")]
        if found and not list(folder.glob("*.crdownload")):
            return found
        time.sleep(0.1)
    return []


def _refused(driver: Any) -> str:
    """The refusal page's message ("" when the page is not a refusal)."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "main .error, p.error")
    return str(found[0].text) if found and "từ chối" in driver.title else ""


def test_an_area_viewer_typing_another_areas_device_url_gets_nothing(browser: Any, live_console: str) -> None:
    _sign_in(browser, live_console, "police")
    browser.get(live_console + "/devices/ss-cam-1")
    assert "Không có thiết bị này" in _refused(browser) and "Sầm Sơn" not in browser.page_source
    browser.get(live_console + "/devices/xl-cam-1")
    assert "xl-cam-1" in browser.find_element("tag name", "h1").text
    _shot(browser, "device")


def test_an_area_viewer_finds_no_other_area_by_page_api_or_download(browser: Any, live_console: str, world: World,
                                                                    tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    _sign_in(browser, live_console, "police")
    [other] = [t.id for t in world.fleet.tickets() if t.device_id == "ss-cam-1"]
    [own] = [t.id for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    # by page: what the viewer can click through shows its own district only
    for path in ("/status", "/tickets", f"/site?area={XUAN_LAP}&site=Chợ Xuân Lập"):
        browser.get(live_console + path)
        assert not _refused(browser), path
        assert "ss-cam" not in browser.page_source and "Sầm Sơn" not in browser.page_source, path
    browser.get(live_console + "/tickets")
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "a[href^='/tickets/']")]
    assert any(f"#{own} " in text for text in links) and not any(f"#{other} " in text for text in links)
    # by typed URL and by the JSON API: refused as if it did not exist
    for path in (f"/tickets/{other}", f"/site?area={SAM_SON}&site=Bãi biển", "/status?area=Thanh Hóa / Sầm Sơn"):
        browser.get(live_console + path)
        assert _refused(browser), path
        assert "ss-cam" not in browser.page_source, path
    browser.get(live_console + "/api/devices/xl-cam-1")
    assert '"id":"xl-cam-1"' in browser.find_element(By.TAG_NAME, "body").text.replace(" ", "")
    for path in ("/api/devices/ss-cam-1", f"/api/tickets/{other}", "/api/status?area=Thanh Hóa / Sầm Sơn"):
        browser.get(live_console + path)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert '"error"' in body and "ss-cam" not in body and "Sầm Sơn" not in body, path
    # by download: the device export holds the own district only
    folder = _downloads(browser, tmp_path / "downloads")
    browser.get(live_console + "/export/devices.csv")
    [export] = _downloaded(folder, "*.csv")
    text = export.read_text("utf-8-sig")
    assert "xl-cam-1" in text and "ss-cam" not in text
    export.unlink()
    # and the reports form: its list has no other district, and a list edited to ask for one is refused
    browser.get(live_console + "/reports")
    areas = Select(browser.find_element(By.NAME, "area"))
    assert [o.get_attribute("value") for o in areas.options] == ["Thanh Hóa / Thọ Xuân", XUAN_LAP]
    browser.find_element(By.NAME, "period").clear()
    browser.find_element(By.NAME, "period").send_keys("2026-05")
    Select(browser.find_element(By.NAME, "format")).select_by_value("csv")
    browser.execute_script("const o = document.createElement('option'); o.value = arguments[0]; o.text = o.value;"
                           "arguments[1].add(o); arguments[1].value = o.value;", SAM_SON, areas._el)
    _click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert "Không có địa bàn này" in _refused(browser)
    assert _downloaded(folder, "*", seconds=2) == []
    browser.get(live_console + "/reports")
    browser.find_element(By.NAME, "period").clear()
    browser.find_element(By.NAME, "period").send_keys("2026-05")
    Select(browser.find_element(By.NAME, "format")).select_by_value("csv")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    [report] = _downloaded(folder, "fleetmon-report-*.csv")
    text = report.read_text("utf-8-sig")
    assert "Xuân Lập" in text and "ss-cam" not in text and "Sầm Sơn" not in text


def test_a_form_sent_without_its_csrf_token_is_refused(browser: Any, live_console: str, world: World) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, live_console, "tech")
    [ticket] = [t for t in world.fleet.tickets() if t.device_id == "xl-cam-1"]
    browser.get(f"{live_console}/tickets/{ticket.id}")
    button = browser.find_element(By.ID, "ack")
    browser.execute_script("arguments[0].form.querySelector('input[name=csrf]').remove()", button)
    _click(browser, button)
    assert "Biểu mẫu đã hết hạn" in _refused(browser)
    [after] = [t for t in world.fleet.tickets() if t.id == ticket.id]
    assert after.state == "open" and after.assignee in ("", None)
    browser.get(f"{live_console}/tickets/{ticket.id}")  # the same form with its token goes through
    _click(browser, browser.find_element(By.ID, "ack"))
    [after] = [t for t in world.fleet.tickets() if t.id == ticket.id]
    assert after.state == "acknowledged"


def test_five_wrong_passwords_pause_the_next_sign_in(browser: Any, live_console: str) -> None:
    from selenium.webdriver.common.by import By

    def attempt(password: str) -> str:
        browser.get(live_console + "/login")
        browser.find_element(By.NAME, "name").send_keys("tech")
        browser.find_element(By.NAME, "password").send_keys(password)
        _click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
        errors = browser.find_elements(By.CSS_SELECTOR, ".error")
        return str(errors[0].text) if errors else ""

    for n in range(5):
        assert "Sai tên đăng nhập hoặc mật khẩu" in attempt(f"wrong-{n}"), n
    paused = attempt(PASSWORD)  # the right password, but too soon
    assert re.search(r"Hãy chờ (\d+) giây", paused), paused
    seconds = int(re.search(r"Hãy chờ (\d+) giây", paused).group(1))  # type: ignore[union-attr]
    assert 25 <= seconds <= 30
    assert browser.current_url.startswith(live_console + "/login")
    browser.get(live_console + "/status")
    assert browser.current_url.startswith(live_console + "/login")  # not signed in
