"""`fleetmon probe` on an emulated faulty recorder, as a technician on site runs it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

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
from tests.snmpsim_peer import V3_AUTH_KEY, V3_PRIV_KEY, V3_USER, serve_recordings

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
    (tmp_path / "password").chmod(0o600)  # as a site keeps it: a file open to others is warned about
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


# --- real devices' recordings (snmpsim), addresses not in the inventory, no SNMP profile in the config ---

@pytest.fixture(scope="module")
def snmpsim() -> Iterator[int]:
    with serve_recordings() as port:
        yield port


def bare_config(tmp_path: Path) -> Path:
    """A config with no credential profile at all, and an empty inventory."""
    config = tmp_path / "fleetmon.yaml"
    config.write_text(f"data_dir: {tmp_path}\n")
    open_store(f"sqlite:///{tmp_path / 'fleetmon.db'}").dispose()
    return config


async def test_snmp_flags_need_no_profile_and_the_unit_says_what_it_is(tmp_path: Path, snmpsim: int) -> None:
    config = bare_config(tmp_path)
    code, report = await fleetmon(config, "probe", "127.0.0.1", "--kind", "switch", "--snmp-port", str(snmpsim),
                                  "--snmp-community", "routeros")
    assert code == 0, report
    assert "probes: snmp" in report
    assert "the unit says it is: mikrotik RB952Ui-5ac2nD (serial 71B1060EE89D, firmware 6.40.5)" in report
    assert "PROBLEM: port wlan2 down" in report and "ether3" not in report  # ether3 never carried traffic
    assert "routeros" not in report  # the community is a secret

    code, as_json = await fleetmon(config, "probe", "127.0.0.1", "--kind", "switch", "--snmp-port", str(snmpsim),
                                   "--snmp-community", "dahua-nvr", "--json")
    assert code == 0, as_json
    answer = json.loads(as_json)
    assert [p["probe"] for p in answer["probes"]] == ["snmp"] and answer["probes"][0]["alive"]
    assert answer["identity"] == {"vendor": "dahua", "model": "DH-NVR4108HS-8P-4KS2", "serial": "2M00D2APAZTL62J",
                                  "firmware": "3.212.0000.1", "hardware": ""}


async def test_a_switch_without_snmp_credentials_is_refused_with_a_reason(tmp_path: Path) -> None:
    code, output = await fleetmon(bare_config(tmp_path), "probe", "127.0.0.1", "--kind", "switch", "--json")
    assert code == 1 and '"probes": []' not in output
    assert "no probe applies to 127.0.0.1: snmp: no SNMP credentials (give --snmp-community or --snmp-user" in output


async def test_snmpv3_context_from_the_command_line(tmp_path: Path, snmpsim: int) -> None:
    config = bare_config(tmp_path)
    v3 = ["--snmp-user", V3_USER, "--snmp-auth-key", V3_AUTH_KEY, "--snmp-priv-key", V3_PRIV_KEY]
    _, report = await fleetmon(config, "probe", "127.0.0.1", "--kind", "nvr", "--snmp-port", str(snmpsim), *v3,
                               "--snmp-context", "hikvision-ds7608", "--onvif-port", "1", "--http-port", "1", "--rtsp-port", "1")
    assert "serial 0820160719AARR624053979WCVU" in report, report
    assert V3_AUTH_KEY not in report and V3_PRIV_KEY not in report
    code, output = await fleetmon(config, "probe", "127.0.0.1", "--kind", "switch", "--snmp-community", "x", "--snmp-context", "y")
    assert code != 0 and "--snmp-context is an SNMPv3 contextName" in output


async def test_small_volumes_print_in_units_that_fit(tmp_path: Path, snmpsim: int) -> None:
    """RouterOS's 16 MiB system disk, read as an unknown kind (host tables included)."""
    _, report = await fleetmon(bare_config(tmp_path), "probe", "127.0.0.1", "--kind", "other", "--snmp-port",
                               str(snmpsim), "--snmp-community", "routeros", "--onvif-port", "1", "--rtsp-port", "1")
    volume = next(line for line in report.splitlines() if "volume system disk" in line)
    assert "MiB" in volume and "0.0 of 0.0 GB" not in volume, report
