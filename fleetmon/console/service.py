"""The console as a part of `fleetmon run`: one uvicorn server on the monitor's event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy import Engine

from fleetmon.config import Config, ConfigError
from fleetmon.console.app import create_app
from fleetmon.console.fleet import DeviceState, FleetSource, LiveSource, StoreSource
from fleetmon.console.throttle import LoginThrottle
from fleetmon.console.web import Console, on_loop
from fleetmon.health.model import DeviceStatus
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
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker on this data dir made it first
        time.sleep(0.2)
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    return key


def live_source(engine: Engine, view: MonitorView) -> FleetSource:
    """States from the running monitor, copied on its loop (never half a sweep)."""

    def copy() -> dict[str, DeviceState]:
        return {k: DeviceState(s.state, s.since, s.reasons) for k, s in view.statuses.items()}

    def detail(device_id: str) -> DeviceStatus | None:
        found = view.statuses.get(device_id)
        if found is None:
            return None
        return dataclasses.replace(found)  # its tuples and mappings are replaced, never changed

    return LiveSource(engine, lambda: view.devices, lambda: on_loop(copy), lambda device_id: on_loop(lambda: detail(device_id)))


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
    try:
        secret = session_secret(config)
    except (ConfigError, OSError) as exc:  # the monitor matters more than its console: keep probing, say why loudly
        log.error("web console not started: no session key: %s", exc)
        return None
    try:
        sock = _listen(web.host, web.port)
    except OSError as exc:
        log.error("web console not started: cannot listen on %s:%s: %s", web.host, web.port, exc.strerror or exc)
        return None
    console = make_console(config, engine, live_source(engine, view) if view is not None else None)
    app = create_app(console, secret)
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off", proxy_headers=True, server_header=False,
                                    access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            sock.close()
            task.result()  # raises why it could not start
            raise RuntimeError(f"web console did not start on {web.host}:{web.port}")
        await asyncio.sleep(0.02)

    async def stop() -> None:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    host = f"[{web.host}]" if ":" in web.host else web.host
    return f"http://{host}:{sock.getsockname()[1]}/"


def _listen(host: str, port: int) -> socket.socket:
    """Bind here, not in uvicorn, which would exit the whole process on a port already taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock
