"""`fleetmon run` (the real command, in a subprocess) on a mixed fleet for ten minutes: the real-device
recordings of `tests/data/snmprec/` served by snmpsim beside units played by the simulator.

What must hold (issue 11): no unit the truth calls alive is ever logged down, and no row of the
state-change log repeats its device's previous state and reason (a row without a change).
`FLEETMON_MIXED_RUN_SECONDS` shortens the run for a quick check.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.inventory.sample import sample_fleet
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import data_file, free_port
from tests.snmpsim_peer import serve_recordings

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = float(os.environ.get("FLEETMON_MIXED_RUN_SECONDS", "600"))
SIMULATOR_PASSWORD = "fleetmon-demo"  # the simulator's documented demo login
TRUTH: dict[str, dict[str, Any]] = yaml.safe_load(data_file("snmprec", "truth.yaml").read_text(encoding="utf-8"))
KIND = {"camera": DeviceKind.CAMERA, "nvr": DeviceKind.NVR, "switch": DeviceKind.SWITCH, "host": DeviceKind.OTHER,
        "other": DeviceKind.OTHER}
ALIVE = sorted(name for name, truth in TRUTH.items() if truth["state"] == "alive")

Row = tuple[str, str, str]


def recorded_units(snmp_port: int) -> list[Device]:
    """One SNMP-only unit per live recording, named and kinded as a technician's inventory would."""
    return [Device(id=f"rec-{name}", kind=KIND[TRUTH[name]["kind"]], host="127.0.0.1", snmp_port=snmp_port,
                   protocols=(Protocol.SNMP,), credential_profile=f"rec-{name}") for name in ALIVE]


def write_config(folder: Path) -> Path:
    (folder / "site.password").write_text(SIMULATOR_PASSWORD, encoding="utf-8")
    (folder / "site.password").chmod(0o600)  # a secret file open to others is warned about
    profiles = "".join(f'  rec-{name}: {{snmp: {{version: "2c", community: "{name}"}}}}\n' for name in ALIVE)
    config = folder / "fleetmon.yaml"
    config.write_text(f"""data_dir: {folder / 'data'}
metrics: {{port: {free_port()}}}
web: {{port: {free_port()}}}
probes:
  reachability: {{interval: 5, timeout: 2}}
  snmp: {{interval: 5, timeout: 3}}
  onvif: {{interval: 30, timeout: 3}}
  vendor_http: {{interval: 30, timeout: 3}}
  snapshot: {{interval: 60, timeout: 5}}
credentials:
  site: {{username: admin, password: {{file: {folder / 'site.password'}}}, snmp: {{version: "2c", community: public}}}}
{profiles}default_credentials: site
""", encoding="utf-8")
    return config


def false_downs(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row[1] == "down"]


def non_changes(rows: list[Row]) -> list[Row]:
    """Rows repeating their device's previous state and reason word for word."""
    last: dict[str, tuple[str, str]] = {}
    repeated = []
    for device, state, reason in rows:
        if last.get(device) == (state, reason):
            repeated.append((device, state, reason))
        last[device] = (state, reason)
    return repeated


def _show(rows: list[Row]) -> str:
    return "\n".join(f"{device}: {state} ({reason})" for device, state, reason in rows)


@pytest.mark.slow
@pytest.mark.timeout(RUN_SECONDS + 240)  # the run itself, plus snmpsim indexing the recordings and the stop
async def test_a_mixed_fleet_runs_without_false_downs_or_rows_without_a_change(tmp_path: Path) -> None:
    web, rtsp, snmp = free_port(), free_port(), free_port()
    simulated = [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp) for d in sample_fleet(6)]
    config = write_config(tmp_path)
    (tmp_path / "data").mkdir()
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'fleetmon.db'}")
    log = tmp_path / "run.log"
    with serve_recordings() as recordings_port:
        with store.begin() as conn:
            apply_plan(conn, plan_import([*simulated, *recorded_units(recordings_port)], {}), "test")
        async with AsyncExitStack() as stack:
            await start_fleet(stack, Fleet.from_inventory(simulated), control_port=free_port(), services=default_services())
            with log.open("w") as output:
                monitor = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "fleetmon", "--config", str(config), "run", "--log-level", "info",
                    cwd=ROOT, stdout=output, stderr=asyncio.subprocess.STDOUT)
            try:
                await asyncio.sleep(RUN_SECONDS)
                assert monitor.returncode is None, log.read_text(errors="replace")[-3000:]
                monitor.send_signal(signal.SIGTERM)
                await asyncio.wait_for(monitor.wait(), 30)
            finally:
                if monitor.returncode is None:
                    monitor.kill()
                    await monitor.wait()

    with store.connect() as conn:
        rows: list[Row] = [(r.device_id, r.state, r.reason) for r in conn.execute(
            select(state_changes.c.device_id, state_changes.c.state, state_changes.c.reason).order_by(state_changes.c.id))]
    logged = {device for device, _, _ in rows}
    expected = {d.id for d in simulated} | {f"rec-{name}" for name in ALIVE}
    assert expected <= logged, f"never judged: {sorted(expected - logged)}"
    assert false_downs(rows) == [], "false downs:\n" + _show(false_downs(rows))
    assert non_changes(rows) == [], "rows without a change:\n" + _show(non_changes(rows))
    assert monitor.returncode == 0, log.read_text(errors="replace")[-3000:]
