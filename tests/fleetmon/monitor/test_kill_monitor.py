"""SIGKILL of `fleetmon run` at random moments while devices flap in the simulator: the health
state-change log keeps no doubled row, loses no final state, and the store opens cleanly.

Each trial starts the real command on a small simulated fleet (reachability every 0.4 s, one
failure or answer decides), kills it with SIGKILL during start-up (a quarter of the trials) or a
random 0-2.5 s after it serves (sweeps and flushes), and checks the store: SQLite's integrity_check
after every kill. Between trials devices go off and on; a few flap all along. Then the faults are
set to a final truth, one last monitor starts, and the log must reach that truth within a few
sweeps of it answering.

5 kills in the default run; 200 in the slow set (`scripts/test.sh -m slow`), or
FLEETMON_MONITOR_KILL_TRIALS there. On PostgreSQL two shared workers run, and only one is killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine, select

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.inventory.sample import sample_fleet
from fleetmon.simulator.control import FaultControl, FaultSpec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.snmp_agent import SnmpSettings
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import free_port, stop_process

ROOT = Path(__file__).resolve().parents[3]
INTERVAL = 0.4
TRIALS = 5
SLOW_TRIALS = int(os.environ.get("FLEETMON_MONITOR_KILL_TRIALS", "200"))
IN_START_UP = 0.25  # share of kills during start-up (imports, migration, take-over), at 0-2 s from the spawn
LIFETIME = (0.0, 2.5)  # the others: seconds a monitor lives once it serves (sweeps and flushes)
FLAPPING = 3  # devices that flap all along (1 s up, 1 s down)
SERVING = ": monitoring "  # `fleetmon run` prints it once it serves
STATE = re.compile(r'^fleetmon_device_state\{cause="[^"]*",device="([^"]+)",state="([^"]+)"\} 1', re.MULTILINE)

Row = tuple[int, str, float, str, str]  # id, device, at, state, reason


def plain(device: Device) -> Device:
    """Cameras and recorders judged by their web port alone, switches by SNMP: only liveness probes
    run, so a slow answer on a busy machine cannot make a healthy unit degraded."""
    if device.kind is DeviceKind.SWITCH:
        return device
    return dataclasses.replace(device, protocols=(Protocol.HTTP,), vendor="")


def write_config(folder: Path, url: str, name: str, shared: bool) -> tuple[Path, int]:
    metrics = free_port()
    password = folder / "password"
    password.write_text(DEMO_PASSWORD.get_secret_value(), encoding="utf-8")
    password.chmod(0o600)
    every, hourly = {"interval": INTERVAL, "timeout": 0.3}, {"interval": "1h", "timeout": 0.3}
    settings: dict[str, Any] = {
        "database_url": url, "metrics": {"port": metrics}, "web": {"port": free_port()},
        "monitor": {"down_after": 1, "up_after": 1, "shared": shared, "lease": "3s", "worker_id": name},
        "credentials": {"sim": {"username": DEMO_USERNAME, "password": {"file": str(password)},
                                "snmp": {"version": "2c", "community": SnmpSettings().community.get_secret_value()}}},
        "default_credentials": "sim",
        "probes": {"reachability": every, "snmp": every, "onvif": hourly,
                   "vendor_http": hourly, "snapshot": hourly, "jitter": 0.3},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path, metrics


@asynccontextmanager
async def monitor(config: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`fleetmon run`, its output appended to `log`; on leaving, stopped if still running and waited for."""
    with log.open("a") as output:  # the child keeps its own descriptor
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "fleetmon", "--config", str(config), "run", "--log-level", "info",
            cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=asyncio.subprocess.STDOUT)
    try:
        yield process
    finally:
        await stop_process(process)


async def until_serving(log: Path, process: asyncio.subprocess.Process) -> None:
    """Until `process`, just spawned, says it monitors: one more such line in the shared `log`."""
    before = serving(log)
    deadline = time.monotonic() + 120  # start-up on a loaded machine
    while serving(log) <= before:
        assert process.returncode is None and time.monotonic() < deadline, "no monitor started in 120 s"
        await asyncio.sleep(0.05)


def serving(log: Path) -> int:
    return log.read_text(errors="replace").count(SERVING)


def rows(engine: Engine) -> list[Row]:
    with engine.connect() as conn:
        found = conn.execute(select(state_changes.c.id, state_changes.c.device_id, state_changes.c.at, state_changes.c.state,
                                    state_changes.c.reason).order_by(state_changes.c.id))
        return [(r.id, r.device_id, r.at.timestamp(), r.state, r.reason) for r in found]


def doubled(log: list[Row]) -> list[Row]:
    """Rows repeating their device's previous state and reason: a change written twice."""
    last: dict[str, tuple[str, str]] = {}
    found = []
    for row in log:
        if last.get(row[1]) == (row[3], row[4]):
            found.append(row)
        last[row[1]] = (row[3], row[4])
    return found


def out_of_order(log: list[Row]) -> list[Row]:
    """Rows of a device written after a later one of the same device."""
    last: dict[str, float] = {}
    found = []
    for row in log:
        if row[2] < last.get(row[1], row[2]):
            found.append(row)
        last[row[1]] = row[2]
    return found


def newest(log: list[Row]) -> dict[str, str]:
    return {row[1]: row[3] for row in log}


def check_store(url: str) -> None:
    """The store opens cleanly after a kill: SQLite's own check, or any query on PostgreSQL."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
    engine = open_store(url)
    try:
        rows(engine)
    finally:
        engine.dispose()


def shuffle_faults(control: FaultControl, cameras: list[str], rng: random.Random) -> set[str]:
    """A new random set of cameras switched off (the flapping ones keep flapping); returns it."""
    for device_id in cameras[FLAPPING:]:
        control.clear(control.device(device_id))
    off = set(rng.sample(cameras[FLAPPING:], rng.randint(0, 4)))
    for device_id in off:
        control.apply(FaultSpec(Fault.OFFLINE, device=device_id))
    return off


@pytest.mark.parametrize(("workers", "trials"), [
    pytest.param(1, TRIALS, id="sqlite-one-worker"),
    pytest.param(2, TRIALS, marks=pytest.mark.postgres, id="postgresql-two-workers"),
    pytest.param(1, SLOW_TRIALS, marks=[pytest.mark.slow, pytest.mark.timeout(SLOW_TRIALS * 15 + 300)],
                 id=f"sqlite-one-worker-{SLOW_TRIALS}-kills"),
    pytest.param(2, SLOW_TRIALS, marks=[pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(SLOW_TRIALS * 15 + 300)],
                 id=f"postgresql-two-workers-{SLOW_TRIALS}-kills"),
])
async def test_sigkill_of_the_monitor_at_random_moments_doubles_and_loses_no_state_change(
        request: pytest.FixtureRequest, tmp_path: Path, workers: int, trials: int) -> None:
    url = f"sqlite:///{tmp_path / 'fleetmon.db'}" if workers == 1 else str(request.getfixturevalue("postgres_url"))
    web, rtsp, snmp = free_port(), free_port(), free_port()
    inventory = [plain(dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp)) for d in sample_fleet(12)]
    engine = open_store(url)
    request.addfinalizer(engine.dispose)
    with engine.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    cameras = [d.id for d in inventory if d.kind is DeviceKind.CAMERA]
    rng = random.Random(14)
    log = tmp_path / "run.log"
    shared = workers == 2
    killed, _ = write_config(tmp_path, url, "w1", shared)
    async with AsyncExitStack() as stack:
        started = await start_fleet(stack, Fleet.from_inventory(inventory), control_port=free_port(), services=default_services())
        control = started.control
        for device_id in cameras[:FLAPPING]:
            control.apply(FaultSpec(Fault.FLAPPING, param=1.0, device=device_id))
        survivor = None
        if shared:  # the worker that is never killed
            survivor = await stack.enter_async_context(monitor(write_config(tmp_path, url, "w2", shared)[0], tmp_path / "w2.log"))
        for _ in range(trials):
            shuffle_faults(control, cameras, rng)
            async with monitor(killed, log) as process:
                if rng.random() < IN_START_UP:
                    await asyncio.sleep(rng.uniform(0.0, 2.0))
                else:
                    await until_serving(log, process)
                    await asyncio.sleep(rng.uniform(*LIFETIME))
                assert process.returncode is None, log.read_text(errors="replace")[-3000:]
                process.kill()
                await process.wait()
            await asyncio.to_thread(check_store, url)

        for device_id in cameras[:FLAPPING]:  # the final truth: no flapping, a known set off
            control.clear(control.device(device_id))
        off = shuffle_faults(control, cameras, rng)
        truth = {d.id: {"down"} if d.id in off else {"up"} for d in inventory}
        if shared:  # the survivor remembers what it saw flap, the shuffles included, for an hour: degraded, rightly
            truth.update({device_id: {"up", "degraded"} for device_id in cameras if device_id not in off})
        config, metrics = write_config(tmp_path, url, "w1", shared)
        async with monitor(config, log) as process:
            async with httpx.AsyncClient() as client:
                answering = await wait_until(lambda: metrics_answer(client, metrics), 60)
                try:
                    converged = await wait_until(lambda: converged_to(engine, truth), 60)
                except AssertionError:
                    raise AssertionError(f"the log's last word differs from the truth: {differing(rows(engine), truth)}") from None
                assert converged - answering < 10 * INTERVAL + (2.0 if shared else 0.0), \
                    f"{converged - answering:.1f} s from answering to the truth"
                if not shared:
                    page = (await client.get(f"http://127.0.0.1:{metrics}/metrics")).text
                    assert agrees(dict(STATE.findall(page)), truth), "/metrics disagrees with the truth"
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text(errors="replace")[-3000:]
        assert survivor is None or survivor.returncode is None, (tmp_path / "w2.log").read_text(errors="replace")[-3000:]

    log_rows = rows(engine)
    assert agrees(newest(log_rows), truth), f"the log's last word is not the truth: {newest(log_rows)}"
    last = newest(log_rows)
    degraded = {row[1]: row[4] for row in log_rows if last[row[1]] == "degraded"}
    assert all(part.startswith("flapping:") for reason in degraded.values() for part in reason.split("; ")), \
        f"degraded for more than flapping: {degraded}"
    assert doubled(log_rows) == [], "doubled rows:\n" + "\n".join(map(str, doubled(log_rows)))
    assert out_of_order(log_rows) == [], "rows out of order:\n" + "\n".join(map(str, out_of_order(log_rows)))
    changes = sum(1 for row in log_rows if row[3] in ("up", "down"))
    assert changes > trials, f"only {changes} up/down rows in {trials} trials: the test exercised little"


async def metrics_answer(client: httpx.AsyncClient, port: int) -> bool:
    try:
        return (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
    except httpx.TransportError:
        return False


def differing(log: list[Row], truth: dict[str, set[str]]) -> dict[str, tuple[str, str]]:
    """Devices whose last logged (state, reason) the truth does not allow."""
    last = {row[1]: (row[3], row[4]) for row in log}
    return {device_id: last.get(device_id, ("none", "")) for device_id, allowed in truth.items()
            if last.get(device_id, ("none", ""))[0] not in allowed}


def agrees(states: dict[str, str], truth: dict[str, set[str]]) -> bool:
    return states.keys() == truth.keys() and all(state in truth[device_id] for device_id, state in states.items())


async def converged_to(engine: Engine, truth: dict[str, set[str]]) -> bool:
    return await asyncio.to_thread(lambda: agrees(newest(rows(engine)), truth))


async def wait_until(condition: Any, seconds: float) -> float:
    """Poll `condition` (an async callable) until true; the monotonic time it became so."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"not reached in {seconds} s"
        await asyncio.sleep(0.1)
    return time.monotonic()
