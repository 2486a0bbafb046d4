"""`fleetmon run`'s monitor against the simulator: real probes, real protocol servers, injected faults.

A small sample province (cameras behind recorders behind uplinks) on its own free ports; sweeps
every half second, so a minute of the field passes in a second here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fleetmon.config import Config, parse_config
from fleetmon.health.model import Health
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.service import Monitor
from fleetmon.probes.findings import ClockCorrection
from fleetmon.probes.registry import ProbeClients
from fleetmon.simulator.control import FaultControl, FaultSpec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.state import Fault
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import free_port

INTERVAL = 0.5


@dataclass
class Province:
    monitor: Monitor
    control: FaultControl
    engine: Engine
    corrections: list[ClockCorrection]

    def state(self, device_id: str) -> Health:
        return self.monitor.view.statuses[device_id].state

    def ids(self, kind: DeviceKind) -> list[str]:
        return [d.id for d in self.monitor.view.devices.values() if d.kind is kind]

    def behind(self, parent: str) -> set[str]:
        """Everything that hangs behind `parent`, directly or through a recorder."""
        devices = self.monitor.view.devices
        found: set[str] = set()
        frontier = {parent}
        while frontier:
            frontier = {d.id for d in devices.values() if d.parent in frontier}
            found |= frontier
        return found

    async def logged(self) -> list[tuple[str, str]]:
        await self.monitor.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(select(state_changes.c.device_id, state_changes.c.state).order_by(state_changes.c.id))
            return [(r.device_id, r.state) for r in rows]


def config(tmp_path: Path, detail_interval: float, correct_clock: bool) -> Config:
    every = {"interval": INTERVAL, "timeout": 0.3}
    details = {"interval": detail_interval, "timeout": 5}
    pictures = {"interval": 4 * detail_interval, "timeout": 5}  # decoding is the costly probe
    return parse_config({
        "data_dir": str(tmp_path),
        "credentials": {"sim": {"username": "admin", "password": "fleetmon-demo",
                                "snmp": {"version": "2c", "community": "public"}, "correct_clock": correct_clock}},
        "default_credentials": "sim",
        "probes": {"reachability": every, "snmp": every, "onvif": details, "vendor_http": details, "snapshot": pictures,
                   "jitter": 0.3},
    }, "test")


@pytest.fixture
def detail_interval() -> float:
    """ONVIF, snapshots and recorder web APIs: once, at start, unless a test wants them often."""
    return 3600.0


@pytest.fixture
def correct_clock() -> bool:
    return False


@pytest.fixture
async def province(tmp_path: Path, detail_interval: float, correct_clock: bool) -> AsyncIterator[Province]:
    web, rtsp, snmp = free_port(), free_port(), free_port()
    inventory = [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp)
                 for d in sample_fleet(50)]
    settings = config(tmp_path, detail_interval, correct_clock)
    engine = open_store(settings.database)
    with engine.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    async with AsyncExitStack() as stack:
        started = await start_fleet(stack, Fleet.from_inventory(inventory), control_port=free_port(),
                                    services=default_services())
        clients = await ProbeClients.start(stack)
        corrections: list[ClockCorrection] = []
        kinds = build_kinds(settings, clients, corrections.append)
        monitor = Monitor(config=settings, engine=engine, kinds=kinds, worker_id="test")
        await monitor.start(stack)
        yield Province(monitor, started.control, engine, corrections)


async def wait_for(condition: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_camera_switched_off_is_down_within_two_intervals_and_up_when_switched_on(province: Province) -> None:
    everyone = list(province.monitor.view.statuses)
    await wait_for(lambda: all(province.state(i) is Health.UP for i in everyone), 6 * INTERVAL)
    camera = province.ids(DeviceKind.CAMERA)[3]
    runs_before = province.monitor.view.statuses[camera].probes["reachability"].runs
    province.control.apply(FaultSpec(Fault.OFFLINE, device=camera))
    await wait_for(lambda: province.state(camera) is Health.DOWN, 6 * INTERVAL)
    probes = province.monitor.view.statuses[camera].probes["reachability"]
    # Counted in sweeps, not seconds: two failed probes, plus the one that may have been under way.
    assert probes.runs - runs_before <= 3 and probes.fail_streak == 2
    province.control.clear(province.control.device(camera))
    await wait_for(lambda: province.state(camera) is Health.UP, 6 * INTERVAL)
    assert [s for d, s in await province.logged() if d == camera] == ["up", "down", "up"]


async def test_an_uplink_down_is_one_fault_its_devices_are_unreachable_behind_it(province: Province) -> None:
    everyone = list(province.monitor.view.statuses)
    await wait_for(lambda: all(province.state(i) is Health.UP for i in everyone), 6 * INTERVAL)
    uplink = province.ids(DeviceKind.SWITCH)[0]
    behind = province.behind(uplink)
    assert len(behind) > 3
    province.control.apply(FaultSpec(Fault.OFFLINE, device=uplink))
    await wait_for(lambda: province.state(uplink) is Health.DOWN
                   and all(province.state(i) is Health.UNREACHABLE for i in behind), 8 * INTERVAL)
    down = {i for i in everyone if province.state(i) is Health.DOWN}
    assert down == {uplink}
    assert province.monitor.view.statuses[uplink].reasons  # says why, in words


async def test_one_percent_packet_loss_for_an_hour_of_sweeps_downs_nothing(province: Province) -> None:
    everyone = list(province.monitor.view.statuses)
    await wait_for(lambda: all(province.state(i) is Health.UP for i in everyone), 6 * INTERVAL)
    province.control.apply(FaultSpec(Fault.PACKET_LOSS, param=1.0, share=100.0))
    sweeps = province.monitor.view.sweeps
    start = {name: stats.sweeps for name, stats in sweeps.items()}
    # An hour of one-minute sweeps: 60 of each, every device probed over SNMP and TCP each time.
    await wait_for(lambda: all(sweeps[k].sweeps - start[k] >= 60 for k in ("reachability", "snmp")), 120 * INTERVAL)
    changed = [(d, s) for d, s in await province.logged() if s != "up"]
    assert changed == []
    assert all(province.state(i) is Health.UP for i in everyone)


class TestFaultsInWords:
    @pytest.fixture
    def detail_interval(self) -> float:
        return 1.0

    async def test_recorder_and_camera_faults_degrade_them_with_reasons_a_technician_reads(self, province: Province) -> None:
        nvrs, cameras = province.ids(DeviceKind.NVR), province.ids(DeviceKind.CAMERA)
        faults = {nvrs[0]: (Fault.DISK_FAILED, "failed"), nvrs[1]: (Fault.RECORDING_STOPPED, "recording stopped"),
                  cameras[5]: (Fault.CLOCK_SKEW, "s ahead: footage times are wrong"), cameras[6]: (Fault.WRONG_PASSWORD, "password"),
                  cameras[7]: (Fault.SNAPSHOT_BLACK, "picture"), cameras[8]: (Fault.SNAPSHOT_FROZEN, "picture frozen")}
        for device, (fault, _) in faults.items():
            province.control.apply(FaultSpec(fault, device=device))

        def reported() -> bool:
            return all(province.state(d) is Health.DEGRADED and words in "; ".join(province.monitor.view.statuses[d].reasons)
                       for d, (_, words) in faults.items())

        try:
            await wait_for(reported, 30)
        except AssertionError:
            seen = {d: (province.state(d), province.monitor.view.statuses[d].reasons) for d in faults}
            raise AssertionError(f"not every fault was reported in words: {seen}") from None
        healthy = {d: province.monitor.view.statuses[d].reasons for d in cameras[10:20] if province.state(d) is not Health.UP}
        assert healthy == {}


class TestClockCorrection:
    @pytest.fixture
    def detail_interval(self) -> float:
        return 1.0

    @pytest.fixture
    def correct_clock(self) -> bool:
        return True

    async def test_a_drifting_clock_is_set_right_when_the_profile_allows_and_the_change_is_recorded(self, province: Province) -> None:
        camera = province.ids(DeviceKind.CAMERA)[4]
        province.control.apply(FaultSpec(Fault.CLOCK_SKEW, param=900.0, device=camera))
        await wait_for(lambda: province.corrections and province.corrections[0].device_id == camera, 20)
        [done] = province.corrections
        assert done.skew_before is not None and done.skew_before > 800
        assert done.skew_after is not None and abs(done.skew_after) < 5
        await wait_for(lambda: province.monitor.view.statuses[camera].clock_skew_seconds is not None
                       and abs(province.monitor.view.statuses[camera].clock_skew_seconds or 0) < 5, 10)
        assert province.state(camera) is Health.UP


class TestSecrets:
    @pytest.fixture
    def detail_interval(self) -> float:
        return 1.0

    async def test_no_password_reaches_the_log_even_at_debug_level(self, province: Province,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        cameras = province.ids(DeviceKind.CAMERA)
        province.control.apply(FaultSpec(Fault.WRONG_PASSWORD, device=cameras[2]))  # logins refused: errors logged
        await wait_for(lambda: province.state(cameras[2]) is Health.DEGRADED, 20)
        assert "probed device=" in caplog.text  # the log was written
        assert "fleetmon-demo" not in caplog.text
        assert "fleetmon-demo" not in repr(province.monitor.view.statuses)
