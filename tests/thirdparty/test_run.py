"""`fleetmon run` (the real command, in a subprocess) on a fleet holding a third-party ONVIF camera
(ipycam) beside simulated units and one ONVIF port that never answers; then stopped with SIGTERM
while a probe of that port is in flight.

What must hold: the camera stays up with no picture fault, every row of the state-change log is a
change, and the stop logs no traceback (issue 14 item 16).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from sqlalchemy import select

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.inventory.sample import sample_fleet
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import free_port
from tests.thirdparty.conftest import ROOT, ThirdPartyCamera, run_ipycam

RUN_SECONDS = 60.0  # a dozen sweeps of every kind at these intervals
SIMULATOR_PASSWORD = "fleetmon-demo"  # the simulator's documented demo login
CAMERA = "ipycam-1"
HANGING = "hangs-1"


def write_config(folder: Path, camera: ThirdPartyCamera) -> Path:
    (folder / "site.password").write_text(SIMULATOR_PASSWORD, encoding="utf-8")
    (folder / "site.password").chmod(0o600)  # a secret file open to others is warned about
    (folder / "ipycam.password").write_text(camera.password, encoding="utf-8")
    (folder / "ipycam.password").chmod(0o600)  # a secret file open to others is warned about
    config = folder / "fleetmon.yaml"
    config.write_text(f"""data_dir: {folder / 'data'}
metrics: {{port: {free_port()}}}
web: {{port: {free_port()}}}
probes:
  reachability: {{interval: 2, timeout: 1}}
  snmp: {{interval: 5, timeout: 1}}
  onvif: {{interval: 3, timeout: 2}}
  vendor_http: {{interval: 5, timeout: 2}}
  snapshot: {{interval: 4, timeout: 3}}
credentials:
  site: {{username: admin, password: {{file: {folder / 'site.password'}}}, snmp: {{version: "2c", community: public}}}}
  ipycam: {{username: {camera.username}, password: {{file: {folder / 'ipycam.password'}}}}}
default_credentials: site
""", encoding="utf-8")
    return config


def non_changes(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Rows repeating their device's previous state and problems (numbers in the wording aside)."""
    last: dict[str, tuple[str, str]] = {}
    repeated = []
    for device, state, reason in rows:
        key = (state, re.sub(r"\d+(\.\d+)?", "#", reason))
        if last.get(device) == key:
            repeated.append((device, state, reason))
        last[device] = key
    return repeated


async def test_run_keeps_the_camera_up_and_writes_only_changes(tmp_path: Path) -> None:
    in_flight = asyncio.Event()

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if (await reader.readline()).startswith(b"POST"):  # an ONVIF call, not a reachability handshake
                in_flight.set()
                await asyncio.sleep(30)
        finally:
            writer.close()

    web, rtsp, snmp = free_port(), free_port(), free_port()
    simulated = [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp) for d in sample_fleet(4)]
    hanging = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    with run_ipycam(tmp_path, scene="street", fps=3) as camera:
        fleet = [*simulated,
                 Device(id=CAMERA, kind=DeviceKind.CAMERA, host=camera.host, onvif_port=camera.onvif_port,
                        rtsp_port=camera.rtsp_port, http_port=camera.onvif_port, serial=camera.serial,
                        vendor=camera.manufacturer, model=camera.model, protocols=(Protocol.ONVIF,), credential_profile="ipycam"),
                 Device(id=HANGING, kind=DeviceKind.CAMERA, host="127.0.0.1", onvif_port=hanging.sockets[0].getsockname()[1],
                        protocols=(Protocol.ONVIF,), credential_profile="ipycam")]
        config = write_config(tmp_path, camera)
        (tmp_path / "data").mkdir()
        store = open_store(f"sqlite:///{tmp_path / 'data' / 'fleetmon.db'}")
        with store.begin() as conn:
            apply_plan(conn, plan_import(fleet, {}), "test")
        log = tmp_path / "run.log"
        async with AsyncExitStack() as stack, hanging:
            await start_fleet(stack, Fleet.from_inventory(simulated), control_port=free_port(), services=default_services())
            with log.open("w") as output:
                monitor = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "fleetmon", "--config", str(config), "run", "--log-level", "info",
                    cwd=ROOT, stdout=output, stderr=asyncio.subprocess.STDOUT)
            try:
                await asyncio.sleep(RUN_SECONDS)
                in_flight.clear()
                await asyncio.wait_for(in_flight.wait(), 10)  # an ONVIF probe of the hanging port has begun
                await asyncio.sleep(0.2)
                monitor.send_signal(signal.SIGTERM)
                await asyncio.wait_for(monitor.wait(), 20)
            finally:
                if monitor.returncode is None:
                    monitor.kill()
                    await monitor.wait()

    with store.connect() as conn:
        rows = [(r.device_id, r.state, r.reason) for r in
                conn.execute(select(state_changes.c.device_id, state_changes.c.state, state_changes.c.reason).order_by(state_changes.c.id))]
    report = log.read_text(errors="replace")
    camera_rows = [(state, reason) for device, state, reason in rows if device == CAMERA]
    assert camera_rows and {state for state, _ in camera_rows} == {"up"}, camera_rows
    assert not any("picture" in reason for _, _, reason in rows if not reason.startswith("ONVIF")), rows
    assert non_changes(rows) == [], rows
    assert any(device == HANGING and state != "up" for device, state, _ in rows), "the hanging port went unnoticed"
    assert monitor.returncode == 0, report[-3000:]
    assert "Traceback" not in report and "Session is closed" not in report, report[-3000:]
    assert camera.password not in report and SIMULATOR_PASSWORD not in report
