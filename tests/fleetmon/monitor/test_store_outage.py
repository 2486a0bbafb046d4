"""The store away under a running monitor, then back: no health change is lost.

Two ways a store goes away: PostgreSQL stopped (a cluster of the test's own, since it is stopped
mid-test and cannot be the shared one), and SQLite on a full disk (a small tmpfs the test mounts,
filled with ballast, then freed). While it is away, changes wait in the monitor and /metrics says
how many; once it is back they are written once, in order, and the log's newest state of each
device is what /metrics shows. The default run takes short outages; the slow set
(`scripts/test.sh -m slow`) holds each one for five minutes while devices keep changing.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import Engine, select

from fleetmon.config import Config, MonitorConfig, ProbeSchedule, ProbesConfig
from fleetmon.exporters.prometheus import render
from fleetmon.health.machine import Policy
from fleetmon.health.model import Health, Observation
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.service import HEARTBEAT_SECONDS, Monitor, ProbeKind
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.monitorlock import MonitorLock, StoreBusy
from fleetmon.store.schema import state_changes
from tests.conftest import _has_user, _postgres_bin
from tests.peers import free_port, missing

INTERVAL = 0.3
DEVICES = ("cam-0", "cam-1", "cam-2")
LONG_OUTAGE = 300.0  # seconds: the slow set's five minutes
FLAPS_DURING_A_LONG_OUTAGE = 10


class Outage(Protocol):
    """A store that can be taken away and given back under a running monitor."""

    url: str

    def stop(self) -> None: ...

    def start(self) -> None: ...


class Cluster:
    """A PostgreSQL cluster of the test's own, on one port across stops and starts."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root = bindir, root
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = "postgres" if _has_user("postgres") else "nobody"
            shutil.chown(root, user)
            os.chmod(root, 0o700)
            self.as_user = ["runuser", "-u", user, "--"]
        self.port = free_port()
        self.url = f"postgresql://fleetmon@127.0.0.1:{self.port}/postgres"
        self._ctl(["initdb", "-D", str(root / "data"), "-A", "trust", "-U", "fleetmon", "--no-sync"])

    def _ctl(self, args: list[str]) -> None:
        subprocess.run([*self.as_user, str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl(["pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", str(self.root / "log"), "-w", "start"])

    def stop(self) -> None:
        self._ctl(["pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"])


class FullDisk:
    """SQLite on a tmpfs of its own, a few hundred KiB: `stop` fills it with ballast, `start` frees it."""

    SIZE = "1m"

    def __init__(self, root: Path) -> None:
        self.root, self.ballast = root, root / "ballast"
        self.url = f"sqlite:///{root / 'fleetmon.db'}"

    def stop(self) -> None:
        chunk = b"\0" * 4096
        with self.ballast.open("wb", buffering=0) as out:
            try:
                while True:
                    out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        while True:  # the last partial pages too, so not even one WAL frame fits
            try:
                with self.ballast.open("ab", buffering=0) as out:
                    out.write(b"\0")
            except OSError:
                break

    def start(self) -> None:
        self.ballast.unlink()


@pytest.fixture
def full_disk() -> Iterator[FullDisk]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        missing("a full disk is a tmpfs the test mounts, which needs root")
    root = Path(tempfile.mkdtemp(prefix="fleetmon-full-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FullDisk.SIZE},mode=0700", "tmpfs", str(root)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        root.rmdir()
        missing(f"cannot mount a tmpfs for the full-disk test: {done.stderr.strip()}")
    try:
        yield FullDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True, capture_output=True)
        root.rmdir()


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "full-disk"])
def outage(request: pytest.FixtureRequest) -> Outage:
    store: Outage = request.getfixturevalue("cluster" if request.param == "postgresql" else "full_disk")
    return store


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = _postgres_bin()
    if bindir is None:
        missing("PostgreSQL server binaries (Debian package postgresql) are not installed")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="fleetmon-pg-outage-"))
    own = Cluster(bindir, root)
    own.start()
    try:
        yield own
    finally:
        subprocess.run([*own.as_user, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class Switches:
    """Which devices answer; the probe reads it."""

    def __init__(self) -> None:
        self.alive = dict.fromkeys(DEVICES, True)

    async def probe(self, target: Target) -> Observation:
        alive = self.alive[target.device_id]
        return Observation(device_id=target.device_id, probe="reachability", at=time.time(), duration_seconds=0.001, alive=alive,
                           status=ProbeStatus.OK if alive else ProbeStatus.REFUSED)


def start_monitor(url: str, switches: Switches, limit: int = 200_000) -> tuple[Monitor, Engine]:
    engine = open_store(url)
    with engine.begin() as conn:
        apply_plan(conn, plan_import([Device(id=i, kind=DeviceKind.CAMERA, host="127.0.0.1") for i in DEVICES], {}), "test")
    schedule = ProbeSchedule(interval=INTERVAL, timeout=0.2)
    config = Config(probes=ProbesConfig(reachability=schedule, jitter=0.5), monitor=MonitorConfig(pending_transitions_limit=limit))
    kind = ProbeKind("reachability", schedule, applies=lambda d: True, liveness=lambda d: True, run=switches.probe)
    policy = Policy(flap_changes=10**6)  # outages, not flapping, for these tests: a flapping camera comes back degraded
    return Monitor(config=config, engine=engine, kinds=[kind], worker_id="outage", policy=policy), engine


async def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def logged(engine: Engine) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in DEVICES}
    with engine.connect() as conn:
        for row in conn.execute(select(state_changes.c.device_id, state_changes.c.state).order_by(state_changes.c.id)):
            found[row.device_id].append(row.state)
    return found


def metric(monitor: Monitor, name: str) -> float:
    found = re.search(rf"^{name}{{[^}}]*}} (\S+)$", render(monitor.view.snapshot()).decode(), re.MULTILINE)
    assert found is not None, name
    return float(found[1])


def states_on_metrics(monitor: Monitor) -> dict[str, str]:
    text = render(monitor.view.snapshot()).decode()
    pattern = r'^fleetmon_device_state\{cause="[^"]*",device="([^"]+)",state="([^"]+)"\}'
    return {m[1]: m[2] for m in re.finditer(pattern, text, re.MULTILINE)}


def state_is(monitor: Monitor, device_id: str, state: Health) -> Callable[[], bool]:
    return lambda: monitor.view.statuses[device_id].state is state


async def flap(monitor: Monitor, switches: Switches, device_id: str) -> None:
    """Down, then up again, each seen by the monitor."""
    switches.alive[device_id] = False
    await wait_for(state_is(monitor, device_id, Health.DOWN))
    switches.alive[device_id] = True
    await wait_for(state_is(monitor, device_id, Health.UP))


@pytest.mark.parametrize("seconds", [0.0, pytest.param(LONG_OUTAGE, marks=[pytest.mark.slow, pytest.mark.timeout(LONG_OUTAGE + 120)],
                                                      id="five-minutes")])
async def test_changes_made_while_the_store_is_away_are_written_once_it_is_back(
    outage: Outage, seconds: float, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL stopped, or the disk under SQLite full, for `seconds` (at least as long as the flaps take)."""
    caplog.set_level(logging.INFO, logger="fleetmon.monitor.service")
    switches = Switches()
    monitor, engine = start_monitor(outage.url, switches)
    flaps = FLAPS_DURING_A_LONG_OUTAGE if seconds else 1
    async with AsyncExitStack() as stack:
        stack.callback(engine.dispose)  # last, after the monitor stopped, whatever fails
        await monitor.start(stack)
        await wait_for(lambda: all(s.state is Health.UP for s in monitor.view.statuses.values()))
        await monitor.flush()
        outage.stop()
        away_since = time.monotonic()
        for n in range(flaps):  # spread over the outage
            await asyncio.sleep(max(0.0, away_since + n * seconds / flaps - time.monotonic()))
            await flap(monitor, switches, "cam-1")
        switches.alive["cam-2"] = False
        await wait_for(state_is(monitor, "cam-2", Health.DOWN))
        await asyncio.sleep(max(0.0, away_since + seconds - time.monotonic()))
        assert not await monitor.flush()
        assert metric(monitor, "fleetmon_transitions_pending") == 2 * flaps + 1

        outage.start()
        await wait_for(lambda: monitor.view.transitions_pending == 0, HEARTBEAT_SECONDS + 10)
        assert metric(monitor, "fleetmon_transitions_pending") == 0
        assert metric(monitor, "fleetmon_transitions_dropped_total") == 0
        assert logged(engine) == {"cam-0": ["up"], "cam-1": ["up"] + ["down", "up"] * flaps, "cam-2": ["up", "down"]}
        assert {i: states[-1] for i, states in logged(engine).items()} == states_on_metrics(monitor)
    failures = [r for r in caplog.records if "cannot write the state-change log" in r.getMessage()]
    assert len(failures) == 1, "said once per outage, not once per try"
    assert "\n" not in failures[0].getMessage() and failures[0].exc_info is None, "one line, no traceback"
    assert sum("writable again" in r.getMessage() for r in caplog.records) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r is not failures[0]], "no other error, no traceback"


@pytest.mark.postgres
async def test_an_overflowing_buffer_keeps_each_devices_newest_change_and_says_so_once(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    switches = Switches()
    monitor, engine = start_monitor(cluster.url, switches, limit=len(DEVICES))
    async with AsyncExitStack() as stack:
        await monitor.start(stack)
        await wait_for(lambda: all(s.state is Health.UP for s in monitor.view.statuses.values()))
        await monitor.flush()
        cluster.stop()
        with caplog.at_level(logging.INFO, logger="fleetmon.monitor.service"):
            for device_id in DEVICES:  # six changes for a buffer of three
                switches.alive[device_id] = False
                await wait_for(state_is(monitor, device_id, Health.DOWN))
            switches.alive["cam-0"] = switches.alive["cam-1"] = True
            await wait_for(lambda: monitor.view.statuses["cam-0"].state is monitor.view.statuses["cam-1"].state is Health.UP)
            assert metric(monitor, "fleetmon_transitions_dropped_total") > 0
            assert metric(monitor, "fleetmon_transitions_pending") <= len(DEVICES)
            cluster.start()
            await wait_for(lambda: monitor.view.transitions_pending == 0)
        overflow = [r for r in caplog.records if "monitor.pending_transitions_limit" in r.getMessage()]
        assert len(overflow) == 1 and overflow[0].levelno == logging.ERROR
        assert any("writable again" in r.getMessage() for r in caplog.records)
        # Flaps during the outage are gone, but the log ends where /metrics is.
        assert {i: states[-1] for i, states in logged(engine).items()} == states_on_metrics(monitor)
        assert states_on_metrics(monitor) == {"cam-0": "up", "cam-1": "up", "cam-2": "down"}
    engine.dispose()


@pytest.mark.postgres
def test_the_monitor_lock_lost_with_a_database_restart_is_taken_again(cluster: Cluster) -> None:
    lock = MonitorLock.acquire(cluster.url)
    try:
        cluster.stop()
        assert not lock.check()  # away: nobody can take the store meanwhile
        cluster.start()
        assert lock.check()
        with pytest.raises(StoreBusy, match="another `fleetmon run` is monitoring the database"):
            MonitorLock.acquire(cluster.url).release()
    finally:
        lock.release()


@pytest.mark.postgres
def test_a_monitor_whose_store_was_taken_during_a_database_restart_is_told_to_stop(cluster: Cluster) -> None:
    lock = MonitorLock.acquire(cluster.url)
    cluster.stop()
    cluster.start()
    other = MonitorLock.acquire(cluster.url)  # the restart dropped the first one's lock
    try:
        with pytest.raises(StoreBusy, match=r"took the database .* while it was unreachable"):
            lock.check()
    finally:
        other.release()
        lock.release()
