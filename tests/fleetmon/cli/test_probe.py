"""`fleetmon probe` on an emulated faulty recorder, as a technician on site runs it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.simulator.control import FaultSpec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.state import Fault
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from tests.peers import free_port

PASSWORD = "fleetmon-demo"  # the simulator's documented demo login


async def fleetmon(config: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "fleetmon", "--config", str(config), *args,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, output.decode()


async def test_probe_names_the_failed_disk_the_stopped_recording_and_the_clock_skew(tmp_path: Path) -> None:
    web, rtsp, snmp = free_port(), free_port(), free_port()
    inventory = [dataclasses.replace(d, onvif_port=web, http_port=web, rtsp_port=rtsp, snmp_port=snmp) for d in sample_fleet(40)]
    (tmp_path / "password").write_text(PASSWORD)
    config = tmp_path / "fleetmon.yaml"
    config.write_text(f"""data_dir: {tmp_path}
credentials:
  site: {{username: admin, password: {{file: {tmp_path / 'password'}}}, snmp: {{version: "2c", community: public}}}}
default_credentials: site
""")
    with open_store(f"sqlite:///{tmp_path / 'fleetmon.db'}").begin() as conn:
        apply_plan(conn, plan_import(inventory, {}), "test")
    nvr = next(d for d in inventory if d.kind is DeviceKind.NVR)
    async with AsyncExitStack() as stack:
        started = await start_fleet(stack, Fleet.from_inventory(inventory), control_port=free_port(), services=default_services())
        for fault, param in ((Fault.DISK_FAILED, 1), (Fault.RECORDING_STOPPED, None), (Fault.CLOCK_SKEW, 900)):
            started.control.apply(FaultSpec(fault, param=param, device=nvr.id))
        code, report = await fleetmon(config, "probe", nvr.id)
        json_code, as_json = await fleetmon(config, "probe", nvr.id, "--json")

    assert code == 0, report
    problems = [line for line in report.splitlines() if "PROBLEM" in line]
    assert any("disk 2" in p and "failed" in p for p in problems), report
    assert any("recording stopped on" in p for p in problems), report
    assert any("clock 900 s ahead" in p or "clock 899 s ahead" in p for p in problems), report
    assert "problem(s) found" in report
    assert PASSWORD not in report and PASSWORD not in as_json
    assert json_code == 0
    probes = {p["probe"]: p for p in json.loads(as_json)["probes"]}
    assert {"reachability", "snmp", "onvif", "vendor_http"} <= set(probes)
    assert any(d["state"] == "failed" for d in probes["snmp"]["disks"])
