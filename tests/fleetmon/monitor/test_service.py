"""The monitor service end to end on loopback devices: sweeps, states, the log across restarts.

The devices are real TCP listeners on their own 127.x addresses; the probe is a TCP connect,
the heart of reachability. Intervals are fractions of a second so minutes pass in seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fleetmon.config import Config, ProbeSchedule, ProbesConfig
from fleetmon.health.model import Health, Observation
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.service import Monitor, ProbeKind
from fleetmon.monitor.sweep import ProbeRunner
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import free_port

INTERVAL = 0.4
HOSTS = ("127.0.41.1", "127.0.41.2", "127.0.41.3")


async def tcp_connect(target: Target) -> Observation:
    started = time.time()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(target.host, target.onvif_port), target.timeout)
        writer.close()
        status = ProbeStatus.OK
    except ConnectionRefusedError:
        status = ProbeStatus.REFUSED
    except TimeoutError:
        status = ProbeStatus.TIMEOUT
    return Observation(device_id=target.device_id, probe="reachability", status=status, at=time.time(),
                       duration_seconds=time.time() - started, alive=status is ProbeStatus.OK)


class Devices:
    """A listener per device address; switching one off closes its listener."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.servers: dict[str, asyncio.Server] = {}

    async def on(self, host: str) -> None:
        self.servers[host] = await asyncio.start_server(lambda r, w: w.close(), host, self.port)

    async def off(self, host: str) -> None:
        server = self.servers.pop(host)
        server.close()
        await server.wait_closed()


@pytest.fixture
async def devices() -> AsyncIterator[Devices]:
    fleet = Devices(free_port())
    for host in HOSTS:
        await fleet.on(host)
    yield fleet
    for host in list(fleet.servers):
        await fleet.off(host)


@pytest.fixture
def store(tmp_path: Path, devices: Devices) -> Engine:
    engine = open_store(f"sqlite:///{tmp_path / 'fleetmon.db'}")
    inventory = [Device(id=f"cam-{i}", kind=DeviceKind.CAMERA, host=h, onvif_port=devices.port) for i, h in enumerate(HOSTS)]
    with engine.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    return engine


def monitor(engine: Engine, run: ProbeRunner = tcp_connect) -> Monitor:
    schedule = ProbeSchedule(interval=INTERVAL, timeout=0.3)
    config = Config(probes=ProbesConfig(reachability=schedule, jitter=0.5))
    kind = ProbeKind("reachability", schedule, applies=lambda d: True, liveness=lambda d: True, run=run)
    return Monitor(config=config, engine=engine, kinds=[kind], worker_id="test-worker")


async def wait_for(condition, seconds: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def logged(engine: Engine, device_id: str) -> list[str]:
    with engine.connect() as conn:
        query = select(state_changes.c.state).where(state_changes.c.device_id == device_id).order_by(state_changes.c.id)
        return list(conn.execute(query).scalars())


async def test_a_device_switched_off_is_down_within_two_intervals_and_up_when_back(devices: Devices, store: Engine) -> None:
    service = monitor(store)
    async with AsyncExitStack() as stack:
        await service.start(stack)
        states = service.view.statuses
        await wait_for(lambda: all(s.state is Health.UP for s in states.values()), 3 * INTERVAL)
        await devices.off(HOSTS[1])
        took = await wait_for(lambda: states["cam-1"].state is Health.DOWN, 4 * INTERVAL)
        assert took <= 2 * INTERVAL + INTERVAL  # two sweeps, plus the phase of the device within one
        assert states["cam-0"].state is Health.UP and states["cam-2"].state is Health.UP
        await devices.on(HOSTS[1])
        await wait_for(lambda: states["cam-1"].state is Health.UP, 4 * INTERVAL)
    assert logged(store, "cam-1") == ["up", "down", "up"]
    assert logged(store, "cam-0") == ["up"]


async def test_restart_loses_and_duplicates_nothing_and_logs_the_gap_as_unknown(devices: Devices, store: Engine) -> None:
    async with AsyncExitStack() as stack:
        first = monitor(store)
        await first.start(stack)
        await wait_for(lambda: all(s.state is Health.UP for s in first.view.statuses.values()), 3 * INTERVAL)
        await devices.off(HOSTS[2])
        await wait_for(lambda: first.view.statuses["cam-2"].state is Health.DOWN, 4 * INTERVAL)
    await asyncio.sleep(INTERVAL)
    async with AsyncExitStack() as stack:
        second = monitor(store)
        await second.start(stack)
        await wait_for(lambda: second.view.statuses["cam-0"].state is Health.UP, 3 * INTERVAL)
        await wait_for(lambda: second.view.statuses["cam-2"].state is Health.DOWN, 4 * INTERVAL)
    assert logged(store, "cam-0") == ["up", "unknown", "up"]
    assert logged(store, "cam-2") == ["up", "down", "unknown", "down"]


async def test_a_hanging_device_costs_one_timeout_not_the_sweep(store: Engine, devices: Devices) -> None:
    async def probe(target: Target) -> Observation:
        if target.device_id == "cam-1":
            await asyncio.sleep(3600)  # a probe stuck on a device that never answers
        return await tcp_connect(target)

    service = monitor(store, run=probe)
    async with AsyncExitStack() as stack:
        await service.start(stack)
        states = service.view.statuses
        await wait_for(lambda: states["cam-0"].state is Health.UP and states["cam-2"].state is Health.UP, 3 * INTERVAL)
        await wait_for(lambda: states["cam-1"].state is Health.DOWN, 12 * INTERVAL)
    assert service.view.statuses["cam-1"].probes["reachability"].failures.get("timeout", 0) >= 2
