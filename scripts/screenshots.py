"""Renew docs/screenshots/: the console's main pages at desktop (1280 px) and phone (390 px) width, and a report.

A console over a throwaway SQLite store holding a small simulated fleet (`fleetmon.inventory.sample`)
with a week of made-up health history and a few tickets, served on a loopback port and photographed
by headless Chromium (Debian `chromium` + `chromium-driver`, through selenium as the browser tests
do). Nothing leaves loopback. Each PNG is quantised to keep it small.

    PYTHONPATH=$PWD python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image
from sqlalchemy import Engine, insert

from fleetmon.alerts import tickets as ticket_store
from fleetmon.config import Config
from fleetmon.console import users
from fleetmon.console.app import create_app
from fleetmon.console.service import make_console
from fleetmon.console.users import Role
from fleetmon.health.model import Cause, Health, Transition
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.store import statelog
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import tickets

SECRET = "screenshots-only-session-secret-0123456789"
USER, PASSWORD = "hoa", "screenshots only, not a real password"
WIDTHS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
MAX_HEIGHT = 2600  # px of a long page kept in the picture
NOW = datetime.now(UTC).replace(microsecond=0)


def _history(fleet: list[Device], rng: random.Random) -> tuple[list[Transition], list[tuple[Device, datetime]]]:
    """This month (at least a week): everyone up, a few outages that ended, a few faults still there now."""
    month_start = NOW.replace(day=1, hour=0, minute=0, second=0) - timedelta(hours=7)  # Vietnam's midnight
    start = min(NOW - timedelta(days=8), month_start).timestamp()  # the report of this month has no unknown start
    out = [Transition(d.id, start, Health.UNKNOWN, Health.UP, "answering", Cause.NONE) for d in fleet]
    cameras = [d for d in fleet if d.kind is DeviceKind.CAMERA]
    for d in rng.sample(cameras, len(cameras) // 8):
        at = rng.uniform(start + 3600, NOW.timestamp() - 2 * 86400)
        out.append(Transition(d.id, at, Health.UP, Health.DOWN, "none of its service ports answer", Cause.DEVICE))
        out.append(Transition(d.id, at + rng.uniform(1800, 20 * 3600), Health.DOWN, Health.UP, "answering again", Cause.NONE))
    broken = []
    for n, d in enumerate(rng.sample(cameras, 12)):
        at = NOW.timestamp() - rng.uniform(3600, 40 * 3600)
        broken.append((d, datetime.fromtimestamp(at, UTC)))
        if n % 3 == 2:
            out.append(Transition(d.id, at, Health.UP, Health.DEGRADED, "picture frozen: the same frame", Cause.NONE))
        else:
            out.append(Transition(d.id, at, Health.UP, Health.DOWN, "none of its service ports answer", Cause.DEVICE))
    return sorted(out, key=lambda t: t.at), broken


def _tickets(engine: Engine, broken: list[tuple[Device, datetime]]) -> int:
    """A ticket per current fault, a few of them worked on; returns the id of one to show."""
    with engine.begin() as conn:
        ids = []
        for n, (d, since) in enumerate(broken):
            kind = "picture" if n % 3 == 2 else "device_down"
            row = conn.execute(insert(tickets).values(
                subject=d.id, kind=kind, state="open", severity="medium" if kind == "picture" else "high", team="field",
                device_id=d.id, area=d.area, site=d.site, title=f"{d.id}: " + ("picture frozen" if kind == "picture" else "not answering"),
                detail="none of its service ports answer", fault_since=since, opened_at=since, sla_from=since)).inserted_primary_key
            assert row is not None
            ids.append(int(row[0]))
        ticket_store.acknowledge(conn, ids[0], USER, NOW - timedelta(minutes=50))
        ticket_store.assign(conn, ids[0], "Lê Văn Tâm", USER, NOW - timedelta(minutes=45))
        ticket_store.start(conn, ids[0], "Lê Văn Tâm", NOW - timedelta(minutes=20))
        ticket_store.acknowledge(conn, ids[1], USER, NOW - timedelta(minutes=30))
    return ids[0]


class _Server(threading.Thread):
    def __init__(self, app: Any) -> None:
        super().__init__(daemon=True)
        sock_port = _free_port()
        self.base = f"http://127.0.0.1:{sock_port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=sock_port, log_level="warning", lifespan="off"))

    def run(self) -> None:
        self.server.run()

    def __enter__(self) -> str:
        self.start()
        while not self.server.started:
            time.sleep(0.05)
        return self.base

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.join(10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/lib/chromium/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    driver = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def _save(png: bytes, path: Path) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{path}: {image.width}x{image.height}, {path.stat().st_size // 1024} KB")


def _shoot(driver: Any, url: str, width: int, height: int, mobile: bool, path: Path) -> None:
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(url)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "fromSurface": True})
    _save(base64.b64decode(shot["data"]), path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--cameras", type=int, default=900)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="fleetmon-shots-"))
    try:
        config = Config.model_validate({"data_dir": str(folder), "web": {"session_secret": SECRET}})
        engine = open_store(f"sqlite:///{folder / 'store.db'}")
        fleet = sample_fleet(args.cameras)
        history, broken = _history(fleet, random.Random(11))
        with engine.begin() as conn:
            apply_plan(conn, ImportPlan(added=fleet), "screenshots")
            statelog.write(conn, history)
            users.add(conn, USER, PASSWORD, Role.ADMINISTRATOR)
        ticket = _tickets(engine, broken)
        pages = {"status": "/status", "device": f"/devices/{broken[0][0].id}", "tickets": "/tickets", "ticket": f"/tickets/{ticket}",
                 "reports": "/reports"}
        with _Server(create_app(make_console(config, engine), SECRET)) as base:
            driver = _browser()
            try:
                driver.get(base + "/login")
                driver.find_element("name", "name").send_keys(USER)
                driver.find_element("name", "password").send_keys(PASSWORD)
                driver.find_element("css selector", "form button[type=submit]").click()
                time.sleep(1)
                for size, (width, height, mobile) in WIDTHS.items():
                    for name, url in pages.items():
                        if name in ("ticket", "reports") and size == "desktop":
                            continue  # the phone is where technicians work tickets; the form is small
                        _shoot(driver, base + url, width, height, mobile, args.out / f"{name}-{size}.png")
                    # this month so far: the week of made-up history falls in it (the report says it is not over)
                    _shoot(driver, f"{base}/reports/file?period={NOW:%Y-%m}&format=html&lang=vi", width, height, mobile,
                           args.out / f"report-{size}.png")
            finally:
                driver.quit()
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
