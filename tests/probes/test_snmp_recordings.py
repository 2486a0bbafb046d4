"""The SNMP probe against real devices' recordings, served by snmpsim (a third-party agent).

Expected values are read from the same `.snmprec` files the agent serves, so each test says
what a technician would see of that unit: its vendor, uptime, volumes, disks and ports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import SnmpResult, date_and_time, probe_snmp
from fleetmon.probes.target import Credentials, SnmpV2c, Target
from tests.peers import data_file, free_port
from tests.probes.test_snmp import client, wait_for_agent  # noqa: F401  (fixture)

# snmpsim started as root drops to `nobody`, who may not read this interpreter's library: the
# modules it imports lazily after the drop are imported before it.
LAUNCH = "import sys, dbm, dbm.dumb, encodings.latin_1, encodings.ascii\nfrom snmpsim.commands.responder import main\nsys.exit(main())"
HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
FIXED_DISK = "1.3.6.1.2.1.25.2.1.4"


def snmprec(name: str) -> dict[str, str]:
    """OID -> value text of one recording."""
    lines = data_file("snmprec", f"{name}.snmprec").read_text(encoding="utf-8", errors="replace").splitlines()
    return {oid: value for oid, _, value in (line.split("|", 2) for line in lines if line.count("|") >= 2)}


# No walk of a real Dahua recorder or Hikvision camera is at hand: these two follow the vendors' MIB
# definitions (DAHUA-SNMP-MIB, HIK-DEVICE-MIB) and are labelled synthetic in their community names.
SYNTHETIC = {
    "dahua-nvr-synthetic": """1.3.6.1.2.1.1.1.0|4|NVR4216-4KS2
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.1004849.2.1
1.3.6.1.2.1.1.3.0|67|123456
1.3.6.1.4.1.1004849.2.1.2.8.0|2|0
1.3.6.1.4.1.1004849.2.4.1.1.4.1|4|HDD1
1.3.6.1.4.1.1004849.2.4.1.1.4.2|4|HDD2
1.3.6.1.4.1.1004849.2.4.1.1.4.3|4|HDD3
1.3.6.1.4.1.1004849.2.4.1.1.5.1|4|Running
1.3.6.1.4.1.1004849.2.4.1.1.5.2|4|Error
1.3.6.1.4.1.1004849.2.4.1.1.5.3|4|Running
1.3.6.1.4.1.1004849.2.4.1.1.6.1|2|45
1.3.6.1.4.1.1004849.2.4.1.1.6.2|2|0
1.3.6.1.4.1.1004849.2.4.1.1.6.3|2|100
""",
    "hikvision-camera-synthetic": """1.3.6.1.2.1.1.1.0|4|DS-2CD2143G2-I
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.39165.1.1
1.3.6.1.2.1.1.3.0|67|654321
1.3.6.1.4.1.39165.1.8.0|4|116.5 GB
1.3.6.1.4.1.39165.1.9.0|4|100 PERCENT
""",
}


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[int]:
    """snmpsim serving the shared recordings and the synthetic ones, each under its file name as community."""
    shared = data_file("snmprec")
    port = free_port(socket.SOCK_DGRAM)
    root = Path(tempfile.mkdtemp(prefix="fleetmon-snmpsim-"))
    (root / "cache").mkdir()
    (root / "data").mkdir()
    for name, text in SYNTHETIC.items():
        (root / "data" / f"{name}.snmprec").write_text(text, encoding="utf-8")
    for path in (root, root / "data", root / "cache"):
        path.chmod(0o777 if path.name == "cache" else 0o755)
    drop = ["--process-user=nobody", "--process-group=nogroup"] if os.geteuid() == 0 else []
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, f"--data-dir={shared}", f"--data-dir={root / 'data'}",
                                f"--cache-dir={root / 'cache'}", f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                                "--logging-method=null", *drop], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_agent(port, "routeros", process)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(root, ignore_errors=True)


async def probe(port: int, client: SnmpClient, recording: str, kind: str = "") -> SnmpResult:
    target = Target(recording, "127.0.0.1", snmp_port=port, timeout=5, kind=kind,
                    credentials=Credentials(snmp=SnmpV2c(SecretStr(recording))))
    result = await probe_snmp(target, client)
    assert result.status is ProbeStatus.OK, result.error
    return result


def fixed_disk_volumes(recorded: dict[str, str]) -> list[tuple[str, int, int]]:
    rows = [oid.rsplit(".", 1)[1] for oid, value in recorded.items()
            if oid.startswith(f"{HR_STORAGE}.2.") and value == FIXED_DISK]
    return [(recorded[f"{HR_STORAGE}.3.{row}"], int(recorded[f"{HR_STORAGE}.5.{row}"]) * int(recorded[f"{HR_STORAGE}.4.{row}"]),
             int(recorded[f"{HR_STORAGE}.6.{row}"]) * int(recorded[f"{HR_STORAGE}.4.{row}"])) for row in rows]


async def test_hikvision_nvr_disk_from_its_vendor_table(snmpsim: int, client: SnmpClient) -> None:
    recorded = snmprec("hikvision-nvr")
    result = await probe(snmpsim, client, "hikvision-nvr", kind="nvr")
    assert (result.vendor, result.sys_descr, result.sys_object_id) == ("hikvision", "Hikvision company products",
                                                                       "1.3.6.1.4.1.50001")
    assert result.uptime_seconds == int(recorded["1.3.6.1.2.1.1.3.0"]) / 100
    (disk,) = result.disks
    mib = 1 << 20
    assert disk.capacity_bytes == int(recorded["1.3.6.1.4.1.50001.1.241.1.5.1.0"]) * mib
    assert disk.free_bytes == int(recorded["1.3.6.1.4.1.50001.1.241.1.4.1.0"]) * mib
    assert disk.state == "other"  # this unit's table has no status column: unknown, not ok
    assert result.problems == [] and result.volumes == [] and result.interfaces == []


async def test_linux_host_volumes_disks_and_clock(snmpsim: int, client: SnmpClient) -> None:
    recorded = snmprec("linux-full-walk")
    result = await probe(snmpsim, client, "linux-full-walk")
    assert result.vendor == "net-snmp" and result.sys_descr == recorded["1.3.6.1.2.1.1.1.0"]
    assert [(v.name, v.size_bytes, v.used_bytes) for v in result.volumes] == fixed_disk_volumes(recorded)
    # Two SCSI disks; the CD-ROM (removable) is not a recording disk.
    assert [(d.name, d.capacity_bytes) for d in result.disks] == [
        (recorded[f"1.3.6.1.2.1.25.3.2.1.3.{i}"], int(recorded[f"1.3.6.1.2.1.25.3.6.1.4.{i}"]) * 1024) for i in (1552, 1553)]
    assert [i.name for i in result.interfaces] == ["eth0"]
    recorded_clock = date_and_time(bytes.fromhex(recorded["1.3.6.1.2.1.25.1.2.0"]))
    assert recorded_clock is not None and result.clock_skew_seconds is not None
    assert abs(result.clock_skew_seconds - (recorded_clock - time.time())) < 5


async def test_mikrotik_router_ports_down_in_service(snmpsim: int, client: SnmpClient) -> None:
    recorded = snmprec("routeros")
    result = await probe(snmpsim, client, "routeros", kind="switch")
    assert result.vendor == "mikrotik" and result.uptime_seconds == int(recorded["1.3.6.1.2.1.1.3.0"]) / 100
    ports = {i.name: i for i in result.interfaces}
    assert len(ports) == sum(1 for oid in recorded if oid.startswith("1.3.6.1.2.1.2.2.1.2."))
    in_service_down = [recorded[f"1.3.6.1.2.1.2.2.1.2.{n}"] for n in range(1, 13)
                       if recorded[f"1.3.6.1.2.1.2.2.1.7.{n}"] == "1" and recorded[f"1.3.6.1.2.1.2.2.1.8.{n}"] == "2"
                       and int(recorded.get(f"1.3.6.1.2.1.2.2.1.10.{n}", "1")) > 0]  # no traffic counter: in service
    assert in_service_down and [p for p in result.problems if p.startswith("port")] == [
        f"port {name} down" for name in in_service_down]
    assert ports["ether5"].oper_status == "down" and not ports["ether5"].admin_up  # switched off on purpose


async def test_router_volumes_through_a_switch_probe_are_not_read(snmpsim: int, client: SnmpClient) -> None:
    """A switch is probed for ports only; the same unit as an unknown kind shows its system disk."""
    assert (await probe(snmpsim, client, "routeros", kind="switch")).volumes == []
    recorded = snmprec("routeros")
    full = await probe(snmpsim, client, "routeros")
    assert [(v.name, v.size_bytes, v.used_bytes) for v in full.volumes] == fixed_disk_volumes(recorded)


async def test_dahua_recorder_volumes_and_unit_status(snmpsim: int, client: SnmpClient) -> None:
    result = await probe(snmpsim, client, "dahua-nvr-synthetic", kind="nvr")
    assert result.vendor == "dahua"
    assert [(d.name, d.state, d.vendor_state) for d in result.disks] == [
        ("HDD1", "ok", "Running"), ("HDD2", "failed", "Error"), ("HDD3", "full", "Running")]
    assert result.unit_status == "bad (DAHUA-SNMP-MIB deviceStatus)"
    assert result.problems == ["disk 2 (HDD2): failed (Error)", "disk 3 (HDD3): full (Running)",
                               "unit reports itself bad (DAHUA-SNMP-MIB deviceStatus)"]


async def test_hikvision_camera_card_from_device_mib_scalars(snmpsim: int, client: SnmpClient) -> None:
    result = await probe(snmpsim, client, "hikvision-camera-synthetic", kind="camera")
    assert result.vendor == "hikvision" and result.uptime_seconds == 6543.21
    (card,) = result.disks
    assert (card.name, card.state, card.capacity_bytes, card.free_bytes) == ("storage", "full", int(116.5 * (1 << 30)), 0)
