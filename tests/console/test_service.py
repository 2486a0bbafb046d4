"""`fleetmon run`'s part: the console served on web.host:web.port, loopback by default, stopped with the stack."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from fleetmon.config import Config
from fleetmon.console.service import start_console
from fleetmon.health.model import DeviceStatus, Health
from fleetmon.monitor.view import MonitorView
from fleetmon.probes.findings import Recording
from tests.alerts.conftest import camera
from tests.console.conftest import PASSWORD


async def test_the_console_serves_the_monitors_live_states_on_loopback(engine: Engine, tmp_path: Path) -> None:
    from fleetmon.console import users
    from fleetmon.console.users import Role

    config = Config.model_validate({"data_dir": str(tmp_path), "web": {"port": 0}})
    assert config.web.host == "127.0.0.1"
    with engine.begin() as conn:
        users.add(conn, "tech", PASSWORD, Role.TECHNICIAN)
    device = camera("live-cam")
    now = time.time()
    footage = Recording(channel="Cổng chợ", latest=now - 600, earliest=now - 9.5 * 86400, status="Recording")
    view = MonitorView(worker_id="w1", devices={device.id: device},
                       statuses={device.id: DeviceStatus(state=Health.DEGRADED, since=1.0, reasons=("disk 2 failed",),
                                                         recordings=(footage,), clock_skew_seconds=42.0)})
    async with AsyncExitStack() as stack:
        url = await start_console(config, engine, view, stack)
        assert url is not None and url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url) as client:
            page = await client.get("/login")
            token = page.text.split('name="csrf" value="')[1].split('"')[0]
            await client.post("/login", data={"name": "tech", "password": PASSWORD, "csrf": token})
            found = (await client.get("/api/devices/live-cam")).json()
            page = (await client.get("/devices/live-cam")).text
        assert found["state"] == "degraded" and found["problems"] == ["disk 2 failed"]
        assert "Kênh Cổng chợ" in page and "cách đây 10 phút" in page and "lưu 9.5 ngày" in page and "+42 giây" in page
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            await client.get(url)
        except httpx.HTTPError:
            pass
        else:
            raise AssertionError("the console still answers after the stack closed")


async def test_a_disabled_console_serves_nothing(engine: Engine, tmp_path: Path) -> None:
    config = Config.model_validate({"data_dir": str(tmp_path), "web": {"enabled": False}})
    async with AsyncExitStack() as stack:
        assert await start_console(config, engine, None, stack) is None


async def test_a_taken_port_leaves_the_monitor_running_without_a_console(engine: Engine, tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = Config.model_validate({"data_dir": str(tmp_path), "web": {"port": taken.getsockname()[1]}})
        async with AsyncExitStack() as stack:
            assert await start_console(config, engine, None, stack) is None
    assert "web console not started" in caplog.text


async def test_a_session_key_that_cannot_be_read_leaves_the_monitor_running(engine: Engine, tmp_path: Path,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    config = Config.model_validate({"data_dir": str(tmp_path), "web": {"port": 0, "session_secret": {"env": "FLEETMON_NO_SUCH_VAR"}}})
    async with AsyncExitStack() as stack:
        assert await start_console(config, engine, None, stack) is None
    assert "no session key" in caplog.text and "FLEETMON_NO_SUCH_VAR" in caplog.text
