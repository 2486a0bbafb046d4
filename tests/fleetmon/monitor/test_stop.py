"""Stopping `fleetmon run` (the real command, in a subprocess) while ONVIF sweeps are in flight.

Simulated units, half of them slow to answer, and one ONVIF port that never answers keep ONVIF
probes in flight when the signal comes. What an operator must see, whatever the signal: the
process ends with 0, and its log says it is stopping, with no traceback, no "Session is closed"
from a probe whose clients were closed under it and no "Error running job" from the scheduler
(issue 14 item 16).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from fleetmon.config import parse_config
from fleetmon.health.model import Health, Observation, Transition
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.inventory.sample import sample_fleet
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.service import Monitor
from fleetmon.monitor.sweep import ProbeRunner
from fleetmon.probes.registry import ProbeClients
from fleetmon.probes.target import Target
from fleetmon.simulator.control import FaultSpec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.state import Fault
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import free_port

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "fleetmon-demo"  # the simulator's documented demo login
HANGING = "hangs-1"


def write_config(folder: Path) -> Path:
    (folder / "password").write_text(PASSWORD, encoding="utf-8")
    config = folder / "fleetmon.yaml"
    config.write_text(f"""data_dir: {folder / 'data'}
metrics: {{port: {free_port()}}}
web: {{port: {free_port()}}}
probes:
  reachability: {{interval: 1, timeout: 0.5}}
  snmp: {{interval: 2, timeout: 1}}
  onvif: {{interval: 2, timeout: 1.5}}
  vendor_http: {{interval: 2, timeout: 1.5}}
  snapshot: {{interval: 3, timeout: 2}}
  jitter: 0.3
credentials:
  site: {{username: admin, password: {{file: {folder / 'password'}}}, snmp: {{version: "2c", community: public}}}}
default_credentials: site
""", encoding="utf-8")
    return config


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_during_onvif_sweeps_ends_cleanly_with_one_line(tmp_path: Path, stop: signal.Signals) -> None:
    in_flight = asyncio.Event()

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if (await reader.readline()).startswith(b"POST"):  # an ONVIF call, not a reachability handshake
                in_flight.set()
                await asyncio.sleep(30)
        finally:
            writer.close()

    web, rtsp, snmp = free_port(), free_port(), free_port()
    simulated = [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp) for d in sample_fleet(30)]
    hanging = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    fleet = [*simulated, Device(id=HANGING, kind=DeviceKind.CAMERA, host="127.0.0.1", onvif_port=hanging.sockets[0].getsockname()[1],
                                protocols=(Protocol.ONVIF,))]
    config = write_config(tmp_path)
    (tmp_path / "data").mkdir()
    with open_store(f"sqlite:///{tmp_path / 'data' / 'fleetmon.db'}").begin() as conn:
        apply_plan(conn, plan_import(fleet, {}), "test")
    log = tmp_path / "run.log"
    async with AsyncExitStack() as stack, hanging:
        await start_fleet(stack, Fleet.from_inventory(simulated), control_port=free_port(), services=default_services(),
                          faults=[FaultSpec(Fault.SLOW, param=0.4, share=50)])  # ONVIF calls in flight at any moment
        with log.open("w") as output:
            monitor = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fleetmon", "--config", str(config), "run", "--log-level", "info",
                cwd=ROOT, stdout=output, stderr=asyncio.subprocess.STDOUT)
        try:
            for _ in range(3):  # the third ONVIF sweep: every prober has run, its memory is filled
                in_flight.clear()
                await asyncio.wait_for(in_flight.wait(), 30)
            await asyncio.sleep(0.3)
            monitor.send_signal(stop)
            await asyncio.wait_for(monitor.wait(), 20)
        finally:
            if monitor.returncode is None:
                monitor.kill()
                await monitor.wait()

    report = log.read_text(errors="replace")
    assert "onvif sweep" in report, report[-3000:]  # sweeps had run: the stop came in the middle of work
    assert monitor.returncode == 0, report[-3000:]
    for wrong in ("Traceback", "Session is closed", "Error running job", "ERROR"):
        assert wrong not in report, (wrong, report[-3000:])
    assert report.count("stopping") == 1, report[-3000:]


async def test_no_probe_outlives_the_monitor_its_clients_close_after(tmp_path: Path) -> None:
    """Stopped in the middle of spread-out sweeps: every probe has ended when the monitor's part of
    the shutdown returns, so none runs on the probe clients as they close, or after."""
    web, rtsp, snmp = free_port(), free_port(), free_port()
    inventory = [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp) for d in sample_fleet(30)]
    every = {"interval": 6, "timeout": 1.5}  # each sweep spreads its probes over 3 s
    settings = parse_config({
        "data_dir": str(tmp_path),
        "credentials": {"sim": {"username": "admin", "password": PASSWORD, "snmp": {"version": "2c", "community": "public"}}},
        "default_credentials": "sim",
        "probes": {"reachability": every, "snmp": every, "onvif": every, "vendor_http": every, "snapshot": every, "jitter": 0.5},
    }, "test")
    engine = open_store(settings.database)
    with engine.begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    in_flight: set[str] = set()
    started = asyncio.Event()
    late: list[str] = []  # probes that began once the stop had begun

    def watched(name: str, run: ProbeRunner) -> ProbeRunner:
        async def probe(target: Target) -> Observation:
            if stopping:
                late.append(f"{name} {target.device_id}")
            key = f"{name} {target.device_id} {id(asyncio.current_task())}"
            in_flight.add(key)
            started.set()
            try:
                return await run(target)
            finally:
                in_flight.discard(key)
        return probe

    stopping = False
    async with AsyncExitStack() as fleet:
        await start_fleet(fleet, Fleet.from_inventory(inventory), control_port=free_port(), services=default_services(),
                          faults=[FaultSpec(Fault.SLOW, param=0.3, share=50)])
        async with AsyncExitStack() as stack:
            clients = await ProbeClients.start(stack)
            kinds = [dataclasses.replace(k, run=watched(k.name, k.run)) for k in build_kinds(settings, clients)]
            monitor = Monitor(config=settings, engine=engine, kinds=kinds, worker_id="test")
            stack.callback(lambda: left.update(in_flight))  # runs after the monitor's shutdown, before the clients close
            await monitor.start(stack)
            await asyncio.wait_for(started.wait(), 10)
            await asyncio.sleep(1.0)  # in the middle of every kind's first sweep
            assert in_flight, "no probe in flight when the stop came: the test proves nothing"
            stopping = True
            left: set[str] = set()
        await asyncio.sleep(1.0)  # anything still running would start or end now
    assert left == set(), f"probes still running as their clients closed: {sorted(left)[:5]}"
    assert in_flight == set() and late == [], (sorted(in_flight)[:5], late[:5])


class HeldWrites(Monitor):
    """A monitor whose store takes each write only once `gate` is opened (a slow disk)."""

    gate = threading.Event()

    def _write(self, batch: Sequence[Transition], now: float) -> None:
        self.gate.wait(10)
        super()._write(batch, now)


async def test_a_write_cut_short_by_shutdown_is_not_written_again_by_the_last_flush(tmp_path: Path) -> None:
    settings = parse_config({"data_dir": str(tmp_path)}, "test")
    engine = open_store(settings.database)
    with engine.begin() as conn:
        apply_plan(conn, plan_import(sample_fleet(1)[:1], {}), "test")
    device = sample_fleet(1)[0].id
    monitor = HeldWrites(config=settings, engine=engine, kinds=[], worker_id="test")
    monitor._queue([Transition(device, 1.0, Health.UNKNOWN, Health.UP, "answering")])
    flushing = asyncio.create_task(monitor.flush())  # a sweep's flush, its thread about to write
    await asyncio.sleep(0.2)
    flushing.cancel()  # the sweep is cancelled by shutdown; the thread writes anyway
    asyncio.get_running_loop().call_later(0.2, monitor.gate.set)
    await asyncio.gather(flushing, return_exceptions=True)
    await monitor._last_flush()
    with engine.connect() as conn:
        rows = conn.execute(select(state_changes.c.device_id, state_changes.c.state)).all()
    assert [tuple(r) for r in rows] == [(device, "up")]
