"""The monitor service end to end on loopback devices: sweeps, states, the log across restarts.

The devices are real TCP listeners on their own 127.x addresses; the probe is a TCP connect,
the heart of reachability. Intervals are fractions of a second so minutes pass in seconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fleetmon.config import Config, ProbeSchedule, ProbesConfig
from fleetmon.health.model import Health, Observation
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.service import Monitor, ProbeKind
from fleetmon.monitor.sweep import ProbeRunner, phase
from fleetmon.probes.findings import Problem
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


def monitor(engine: Engine, run: ProbeRunner = tcp_connect, clock: Callable[[], float] = time.time,
            more: Sequence[ProbeKind] = ()) -> Monitor:
    schedule = ProbeSchedule(interval=INTERVAL, timeout=0.3)
    config = Config(probes=ProbesConfig(reachability=schedule, jitter=0.5))
    kind = ProbeKind("reachability", schedule, applies=lambda d: True, liveness=lambda d: True, run=run)
    return Monitor(config=config, engine=engine, kinds=[kind, *more], worker_id="test-worker", clock=clock)


async def wait_for(condition, seconds: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def all_up_then_off(service: Monitor, devices: Devices, n: int) -> None:
    """Once every device is up, device n switched off until the monitor says it is down."""
    await wait_for(lambda: all(s.state is Health.UP for s in service.view.statuses.values()), 3 * INTERVAL)
    await devices.off(HOSTS[n])
    await wait_for(lambda: service.view.statuses[f"cam-{n}"].state is Health.DOWN, 6 * INTERVAL)


def logged(engine: Engine, device_id: str) -> list[str]:
    with engine.connect() as conn:
        query = select(state_changes.c.state).where(state_changes.c.device_id == device_id).order_by(state_changes.c.id)
        return list(conn.execute(query).scalars())


async def test_a_device_switched_off_is_down_at_its_second_failed_sweep_and_up_when_back(devices: Devices, store: Engine) -> None:
    failed_in: list[tuple[int, float]] = []  # (sweeps finished before the probe, when) of cam-1's failed probes

    async def probe(target: Target) -> Observation:
        obs = await tcp_connect(target)
        if target.device_id == "cam-1" and not obs.alive:
            failed_in.append((service.view.sweeps["reachability"].sweeps, obs.at))
        return obs

    service = monitor(store, run=probe)
    async with AsyncExitStack() as stack:
        await service.start(stack)
        states = service.view.statuses
        await all_up_then_off(service, devices, 1)
        went_down = states["cam-1"].since
        assert [n for n, at in failed_in if at <= went_down] == [failed_in[0][0], failed_in[0][0] + 1]  # two sweeps in a row
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


async def test_a_degraded_unit_stays_degraded_across_a_restart_until_its_probe_looks_again(devices: Devices, store: Engine) -> None:
    """Not unknown → up → degraded: the problems logged with its last change hold until the probe that found them
    reports again, and then they go only if that probe no longer finds them."""
    disk_failed = True
    snmp_may_answer = asyncio.Event()

    async def disk_check(target: Target) -> Observation:
        await snmp_may_answer.wait()
        problems = (Problem("disk 2 (HDD2): failed", "disk_failed:2"),) if disk_failed and target.device_id == "cam-0" else ()
        return Observation(device_id=target.device_id, probe="snmp", status=ProbeStatus.OK, at=time.time(),
                           duration_seconds=0.0, alive=True, problems=problems)

    def with_disks(engine: Engine) -> Monitor:
        disks = ProbeKind("snmp", ProbeSchedule(interval=30.0, timeout=0.3), applies=lambda d: True, liveness=lambda d: False,
                          run=disk_check)
        return monitor(engine, more=[disks])

    async with AsyncExitStack() as stack:
        first = with_disks(store)
        snmp_may_answer.set()
        await first.start(stack)
        await wait_for(lambda: first.view.statuses["cam-0"].state is Health.DEGRADED, 3 * INTERVAL)
    snmp_may_answer.clear()
    async with AsyncExitStack() as stack:
        second = with_disks(store)
        await second.start(stack)
        statuses = second.view.statuses
        await wait_for(lambda: statuses["cam-0"].state is not Health.UNKNOWN, 3 * INTERVAL)
        assert statuses["cam-0"].state is Health.DEGRADED and statuses["cam-0"].reasons == ("disk 2 (HDD2): failed",)
        disk_failed = False  # replaced while the monitor was down
        snmp_may_answer.set()
        await wait_for(lambda: statuses["cam-0"].state is Health.UP, 3 * INTERVAL)
    assert logged(store, "cam-0") == ["up", "degraded", "unknown", "degraded", "up"]
    assert logged(store, "cam-1") == ["up", "unknown", "up"]


@pytest.mark.parametrize("behind_a_dead_parent", [False, True], ids=["down", "unreachable"])
async def test_a_unit_found_offline_is_not_asked_its_other_probes_until_it_answers_again(
        devices: Devices, tmp_path: Path, behind_a_dead_parent: bool) -> None:
    """Each ask of a dead unit waits out a whole timeout: the slots go to units that can answer."""
    store = open_store(f"sqlite:///{tmp_path / 'offline.db'}")
    parent = "cam-2" if behind_a_dead_parent else ""
    inventory = [Device(id=f"cam-{i}", kind=DeviceKind.CAMERA, host=h, onvif_port=devices.port, parent=parent if i == 1 else "")
                 for i, h in enumerate(HOSTS)]
    with store.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    offline = [HOSTS[2], HOSTS[1]] if behind_a_dead_parent else [HOSTS[1]]
    asked: list[tuple[str, float]] = []

    async def identity(target: Target) -> Observation:
        asked.append((target.device_id, time.time()))
        return Observation(device_id=target.device_id, probe="onvif", status=ProbeStatus.OK, at=time.time(),
                           duration_seconds=0.0, alive=True)

    onvif = ProbeKind("onvif", ProbeSchedule(interval=INTERVAL, timeout=0.3), applies=lambda d: True,
                      liveness=lambda d: False, run=identity)
    service = monitor(store, more=[onvif])
    async with AsyncExitStack() as stack:
        await service.start(stack)
        states = service.view.statuses
        await wait_for(lambda: all(s.state is Health.UP for s in states.values()), 3 * INTERVAL)
        for host in offline:
            await devices.off(host)
        expected = Health.UNREACHABLE if behind_a_dead_parent else Health.DOWN
        await wait_for(lambda: states["cam-1"].state is expected, 6 * INTERVAL)
        went_offline = time.time()
        await asyncio.sleep(4 * INTERVAL)
        asked_while_offline = [at for device_id, at in asked if device_id == "cam-1" and at > went_offline + INTERVAL]
        others = [at for device_id, at in asked if device_id == "cam-0" and at > went_offline + INTERVAL]
        for host in offline:
            await devices.on(host)
        await wait_for(lambda: states["cam-1"].state is Health.UP, 4 * INTERVAL)
        back = time.time()
        await wait_for(lambda: any(d == "cam-1" and at > back for d, at in asked), 3 * INTERVAL)
    store.dispose()
    assert asked_while_offline == [] and len(others) >= 2


async def test_a_unit_found_down_during_a_long_sweep_is_not_asked_when_its_turn_comes(devices: Devices, tmp_path: Path) -> None:
    """ONVIF's sweep spreads a province over minutes: a unit its liveness probe found down in the
    meantime is skipped at its turn, not judged on what was known when the sweep began."""
    store = open_store(f"sqlite:///{tmp_path / 'late.db'}")
    late = "cam-late-5"  # its phase puts it at 99 % of every sweep
    assert phase(late) > 0.9
    inventory = [Device(id="cam-0", kind=DeviceKind.CAMERA, host=HOSTS[0], onvif_port=devices.port),
                 Device(id=late, kind=DeviceKind.CAMERA, host=HOSTS[1], onvif_port=devices.port)]
    with store.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    asked: list[str] = []

    async def identity(target: Target) -> Observation:
        asked.append(target.device_id)
        return Observation(device_id=target.device_id, probe="onvif", status=ProbeStatus.OK, at=time.time(),
                           duration_seconds=0.0, alive=True)

    slow = ProbeKind("onvif", ProbeSchedule(interval=8.0, timeout=0.3), applies=lambda d: True, liveness=lambda d: False, run=identity)
    service = monitor(store, more=[slow])
    await devices.off(HOSTS[1])  # before the first sweeps: the ONVIF sweep starts with the unit's state still unknown
    async with AsyncExitStack() as stack:
        await service.start(stack)
        await wait_for(lambda: service.view.sweeps["onvif"].sweeps == 1, 6.0)
        found_down_at = service.view.statuses[late].since
        onvif_started = service.view.sweeps["onvif"].last_started or 0.0
    store.dispose()
    assert service.view.statuses[late].state is Health.DOWN and found_down_at < onvif_started + 3.0  # before its turn
    assert asked == ["cam-0"]


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


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_unwatched_gap_starts_exactly_at_the_last_heartbeat(devices: Devices, store: Engine) -> None:
    clock = Clock(float(int(time.time()) + 3600))  # the monitor's own time, ahead of the probes' results
    last_beat = clock.now
    async with AsyncExitStack() as stack:
        first = monitor(store, clock=clock)
        await first.start(stack)
        await wait_for(lambda: all(s.state is Health.UP for s in first.view.statuses.values()), 3 * INTERVAL)
    clock.now += 600  # ten minutes nobody watched
    async with AsyncExitStack() as stack:
        second = monitor(store, clock=clock)
        await second.start(stack)
        assert {s.since for s in second.view.statuses.values()} == {clock.now}
        await wait_for(lambda: second.view.sweeps["reachability"].sweeps >= 1, 3 * INTERVAL)  # not stopped mid-start
    with store.connect() as conn:
        gaps = conn.execute(select(state_changes.c.at).where(state_changes.c.state == "unknown")).scalars().all()
    assert [at.timestamp() for at in gaps] == [last_beat] * len(HOSTS)


async def test_a_stalled_event_loop_shows_in_the_loop_lag_at_once(devices: Devices, store: Engine) -> None:
    service = monitor(store)
    async with AsyncExitStack() as stack:
        await service.start(stack)
        await asyncio.sleep(1.5)  # a tick or two on an idle loop
        assert service.view.loop_lag_seconds < 0.3
        time.sleep(1.6)  # noqa: ASYNC251 - the point: something holds the loop (a long render, a blocking call)
        await wait_for(lambda: service.view.loop_lag_seconds >= 0.5, 2.5)
        assert service.view.snapshot().loop_lag_seconds >= 0.5


async def test_a_change_whose_write_is_cut_short_by_shutdown_is_logged_once(devices: Devices, store: Engine, tmp_path: Path) -> None:
    """The sweep is flushing when the stop comes, and is cancelled twice (the scheduler's shutdown, then ours):
    the write already in its thread is the one that counts, and the last flush must not write it again."""
    holder = sqlite3.connect(tmp_path / "fleetmon.db", isolation_level=None)  # another writer, to hold the store
    failures = 0

    async def probe(target: Target) -> Observation:
        nonlocal failures
        obs = await tcp_connect(target)
        if target.device_id == "cam-2" and not obs.alive:
            failures += 1
            if failures == 2:  # the failure that makes it down: its sweep's write will wait on the store
                holder.execute("BEGIN IMMEDIATE")
        return obs

    service = monitor(store, run=probe)
    async with AsyncExitStack() as stack:
        monitoring = AsyncExitStack()
        stack.callback(holder.close)
        stack.push_async_callback(monitoring.aclose)
        stack.callback(lambda: holder.in_transaction and holder.execute("ROLLBACK"))  # first, if the test fails holding it
        await service.start(monitoring)
        await wait_for(lambda: all(s.state is Health.UP for s in service.view.statuses.values()), 3 * INTERVAL)
        await devices.off(HOSTS[2])
        await wait_for(lambda: service.view.statuses["cam-2"].state is Health.DOWN, 4 * INTERVAL)
        await wait_for(lambda: service.view.transitions_pending == 1, INTERVAL)  # queued, its write waiting
        stopping = asyncio.create_task(monitoring.aclose())
        await asyncio.sleep(0.3)
        holder.execute("COMMIT")
        await stopping
    assert logged(store, "cam-2") == ["up", "down"]
