"""The console as a part of `fleetmon run`: one uvicorn server on the monitor's event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy import Engine

from fleetmon.config import Config
from fleetmon.console.app import create_app
from fleetmon.console.fleet import DeviceState, FleetSource, LiveSource, StoreSource
from fleetmon.console.throttle import LoginThrottle
from fleetmon.console.web import Console, on_loop
from fleetmon.monitor.view import MonitorView

log = logging.getLogger(__name__)
SECRET_FILE = "console-secret"


def session_secret(config: Config) -> str:
    """The configured key, or one made once and kept (mode 0600) in the data dir, so sessions survive a restart."""
    if config.web.session_secret is not None:
        return config.web.session_secret.resolve().get_secret_value()
    path = config.data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    return key


def live_source(engine: Engine, view: MonitorView) -> FleetSource:
    """States from the running monitor, copied on its loop (never half a sweep)."""

    def copy() -> dict[str, DeviceState]:
        return {k: DeviceState(s.state, s.since, s.reasons) for k, s in view.statuses.items()}

    return LiveSource(engine, lambda: view.devices, lambda: on_loop(copy))


def make_console(config: Config, engine: Engine, source: FleetSource | None = None) -> Console:
    web = config.web
    return Console(config=config, engine=engine, source=source or StoreSource(engine),
                   throttle=LoginThrottle(web.login_attempts, web.login_pause, web.login_pause_max),
                   upload_dir=Path(config.data_dir) / "console-uploads")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `fleetmon run` owns SIGINT and SIGTERM."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start_console(config: Config, engine: Engine, view: MonitorView | None, stack: AsyncExitStack) -> str | None:
    """Serve the console on web.host:web.port until `stack` closes; returns its URL (None when disabled)."""
    web = config.web
    if not web.enabled:
        log.info("web console disabled in the config")
        return None
    console = make_console(config, engine, live_source(engine, view) if view is not None else None)
    app = create_app(console, session_secret(config))
    server = _Server(uvicorn.Config(app, host=web.host, port=web.port, log_level="warning", lifespan="off",
                                    proxy_headers=True, server_header=False, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (port taken, ...)
            raise RuntimeError(f"web console did not start on {web.host}:{web.port}")
        await asyncio.sleep(0.02)

    async def stop() -> None:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    host = f"[{web.host}]" if ":" in web.host else web.host
    port = server.servers[0].sockets[0].getsockname()[1] if server.servers else web.port
    return f"http://{host}:{port}/"
