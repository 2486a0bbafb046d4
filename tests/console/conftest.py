"""A console over a real store: two districts of cameras whose health and tickets come from the real
state machine and ticket engine (tests/alerts' fleet), four users, one per role.

`serving(app)` runs an app with uvicorn on a real loopback port; `client` is an httpx client
signed out on it, `live_console` its base URL for the browser tests.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from fleetmon.config import Config
from fleetmon.console import users
from fleetmon.console.app import create_app
from fleetmon.console.service import make_console
from fleetmon.console.users import Role
from fleetmon.console.web import Console
from tests.alerts.conftest import Fleet, camera
from tests.alerts.conftest import config as alerts_config
from tests.peers import free_port

XUAN_LAP = "Thanh Hóa / Thọ Xuân / Xuân Lập"
SAM_SON = "Thanh Hóa / Sầm Sơn / Quảng Tiến"
PASSWORD = "correct horse battery"
SESSION_SECRET = "test-session-secret-0123456789"
USERS = {"admin": (Role.ADMINISTRATOR, ""), "tech": (Role.TECHNICIAN, ""), "police": (Role.AREA_VIEWER, "Thanh Hóa / Thọ Xuân"),
         "budget": (Role.BUDGET_OFFICER, "")}


@dataclass
class World:
    engine: Engine
    config: Config
    fleet: Fleet
    console: Console

    def app(self) -> Any:
        return create_app(self.console, SESSION_SECRET)


def console_config(tmp_path: Path, **web: Any) -> Config:
    base = alerts_config()
    secrets = {"credentials": {"cams": {"username": "admin", "password": "cam-password-XYZ",
                                        "snmp": {"version": "2c", "community": "snmp-community-XYZ"}}},
               "notifications": base.notifications.model_dump(mode="json") | {
                   "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
                                "lead": {"type": "webhook", "url": "http://127.0.0.1:9/lead"},
                                "mail": {"type": "email", "to": ["a@example.org"], "password": "smtp-password-XYZ"}}}}
    return Config.model_validate({"data_dir": str(tmp_path / "data"), "web": {"session_secret": SESSION_SECRET, **web}, **secrets})


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    cfg = console_config(tmp_path)
    devices = [camera("xl-cam-1", area=XUAN_LAP), camera("xl-cam-2", area=XUAN_LAP),
               camera("ss-cam-1", site="Bãi biển", area=SAM_SON), camera("ss-cam-2", site="Bãi biển", area=SAM_SON)]
    fleet = Fleet(engine, {d.id: d for d in devices}, cfg)
    fleet.sweep()
    fleet.wait(900, down=["xl-cam-1", "ss-cam-1"])  # one device_down ticket in each district
    with engine.begin() as conn:
        for name, (role, area) in USERS.items():
            users.add(conn, name, PASSWORD, role, area)
    return World(engine, cfg, fleet, make_console(cfg, engine))


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port (in a thread of this process); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "console did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


Client = httpx.Client


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    with serving(world.app()) as base, httpx.Client(base_url=base, follow_redirects=True, timeout=30) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: Client, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/status"},
                       follow_redirects=False)


@pytest.fixture
def signed_in(client: Client) -> Callable[[str], Client]:
    def sign(name: str) -> Client:
        answer = login(client, name)
        assert answer.status_code == 303, answer.text
        return client

    return sign


@pytest.fixture
def live_console(world: World) -> Iterator[str]:
    """The console on a real loopback port, for the browser."""
    with serving(world.app()) as base:
        yield base
