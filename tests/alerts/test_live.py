"""End to end on the simulator: `fleetmon run`'s composition monitors a simulated fleet; a camera
switched off gives exactly one ticket and one message to its team (by email to a real SMTP server
and to a webhook); switched on again, the ticket resolves and the team is told."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web

from fleetmon.alerts import tickets
from fleetmon.cli.context import AppContext
from fleetmon.cli.run import serve
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from tests.alerts.conftest import Mailbox
from tests.exporters.live_stack import on_free_ports
from tests.peers import free_port

INVENTORY = on_free_ports(sample_fleet(cameras=20))
CAMERA = next(d for d in INVENTORY if d.kind is DeviceKind.CAMERA)
INTERVAL = 2.0
RULE_DELAY = 4.0


@dataclass
class Hooks:
    received: list[dict[str, Any]]

    def about(self, device: str) -> list[str]:
        return [h["event"] for h in self.received if h["ticket"]["device"] == device]


def wait_for(what: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out after {seconds:g} s waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def running(tmp_path: Path, smtp_server: tuple[int, Mailbox]) -> Iterator[tuple[Hooks, httpx.Client, Mailbox, AppContext]]:
    smtp_port, mailbox = smtp_server
    hooks = Hooks([])
    hook_port, control_port = free_port(), free_port()
    token: list[str] = []
    url = f"sqlite:///{tmp_path / 'fleetmon.db'}"
    store = open_store(url)
    with store.begin() as conn:
        apply_plan(conn, plan_import(INVENTORY, {}), "test")
    store.dispose()
    config = tmp_path / "fleetmon.yaml"
    config.write_text(yaml.safe_dump({
        "database_url": url,
        "metrics": {"host": "127.0.0.1", "port": free_port()},
        "probes": {"reachability": {"interval": INTERVAL, "timeout": 1.0}, "snmp": {"interval": 30, "timeout": 2},
                   "vendor_http": {"interval": 30, "timeout": 2}, "onvif": {"interval": 30, "timeout": 3},
                   "snapshot": {"interval": 60, "timeout": 3}, "jitter": 0.2},
        "credentials": {"sim": {"username": DEMO_USERNAME, "password": DEMO_PASSWORD.get_secret_value(),
                                "snmp": {"version": "2c", "community": "public"}}},
        "default_credentials": "sim",
        "tickets": {"interval": 0.5, "confirm_clear": "3s", "rules": {"device_down": {"after": RULE_DELAY, "severity": "high"}}},
        "notifications": {"language": "vi",
                          "channels": {"mail": {"type": "email", "host": "127.0.0.1", "port": smtp_port, "to": ["doi-ky-thuat@local"]},
                                       "hook": {"type": "webhook", "url": f"http://127.0.0.1:{hook_port}/hook"}},
                          "teams": {"field": {"channels": ["mail", "hook"]}}},
    }, allow_unicode=True), encoding="utf-8")
    app = AppContext(config)
    stop_simulator, stop_monitor, ready = threading.Event(), asyncio.Event(), threading.Event()

    async def simulate() -> None:
        async def hook(request: web.Request) -> web.Response:
            hooks.received.append(await request.json())
            return web.json_response({})

        async with AsyncExitStack() as stack:
            started = await start_fleet(stack, Fleet.from_inventory(INVENTORY), control_port=control_port, services=default_services())
            token.append(started.token)  # the control API wants it
            receiver = web.Application()
            receiver.router.add_post("/hook", hook)
            runner = web.AppRunner(receiver)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", hook_port).start()
            ready.set()
            await asyncio.to_thread(stop_simulator.wait)

    monitor_loop = asyncio.new_event_loop()  # made here, so that this thread can tell `serve` to stop

    def monitor() -> None:
        with asyncio.Runner(loop_factory=lambda: monitor_loop) as runner:  # closes the loop as asyncio.run would
            runner.run(serve(app.config, app, "e2e", stop_monitor))

    threads = [threading.Thread(target=asyncio.run, args=(simulate(),), daemon=True), threading.Thread(target=monitor, daemon=True)]
    threads[0].start()
    try:
        assert ready.wait(30), "the simulator did not start"
        threads[1].start()
        with httpx.Client(base_url=f"http://127.0.0.1:{control_port}", headers={"Authorization": f"Bearer {token[0]}"},
                          timeout=5) as control:
            yield hooks, control, mailbox, app
    finally:
        if threads[1].is_alive():
            monitor_loop.call_soon_threadsafe(stop_monitor.set)
            threads[1].join(30)
        monitor_loop.close()  # a no-op once the runner closed it; a never-started loop is closed all the same
        app.close()  # the store `serve` opened
        stop_simulator.set()
        threads[0].join(30)


def test_a_camera_switched_off_gives_one_ticket_and_one_message_and_on_again_resolves_it(
        running: tuple[Hooks, httpx.Client, Mailbox, AppContext]) -> None:
    hooks, control, mailbox, app = running
    time.sleep(3 * INTERVAL)  # the fleet seen healthy first
    switched_off = time.monotonic()
    control.post("/faults", json={"fault": "offline", "device": CAMERA.id}).raise_for_status()
    wait_for("the team's message about the camera", lambda: hooks.about(CAMERA.id) == ["opened"], 60)
    took = time.monotonic() - switched_off
    time.sleep(3 * INTERVAL)  # and no second one
    assert hooks.about(CAMERA.id) == ["opened"]
    with app.engine.connect() as conn:
        [ticket] = tickets.find(conn, device=CAMERA.id)
    assert (ticket.kind, ticket.state, ticket.team) == ("device_down", "open", "field")
    [mail] = [m for m in mailbox.messages if CAMERA.id in m["Subject"]]
    assert "thiết bị mất kết nối" in mail["Subject"] and CAMERA.address in mail.get_content()
    control.delete("/faults", params={"device": CAMERA.id}).raise_for_status()
    wait_for("the team told it is resolved", lambda: hooks.about(CAMERA.id) == ["opened", "resolved"], 60)
    with app.engine.connect() as conn:
        assert tickets.get(conn, ticket.id).state == "resolved"
    print(f"switched off -> message in {took:.1f} s (interval {INTERVAL:g} s, rule delay {RULE_DELAY:g} s)")
