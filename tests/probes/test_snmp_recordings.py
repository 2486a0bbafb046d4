"""The SNMP probe against real devices' recordings, served by snmpsim (a third-party agent).

Expected values are read from the same `.snmprec` files the agent serves, so each test says
what a technician would see of that unit: its vendor, uptime, volumes, disks and ports.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from pydantic import SecretStr

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import SnmpResult, date_and_time, probe_snmp
from fleetmon.probes.target import Credentials, SnmpV2c, Target
from tests.peers import data_file
from tests.snmpsim_peer import serve_recordings

HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
FIXED_DISK = "1.3.6.1.2.1.25.2.1.4"


def snmprec(name: str) -> dict[str, str]:
    """OID -> value text of one recording."""
    lines = data_file("snmprec", f"{name}.snmprec").read_text(encoding="utf-8", errors="replace").splitlines()
    return {oid: value for oid, _, value in (line.split("|", 2) for line in lines if line.count("|") >= 2)}


# The real recordings (tests/probes/test_real_devices.py) show no failed disk, sensor or unit: these
# follow the vendors' MIB definitions (DAHUA-SNMP-MIB, HIK-DEVICE-MIB, AXIS-VIDEO-MIB, ENTITY-SENSOR-MIB)
# to show the failures are found, and are labelled synthetic in their community names.
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
    # An Axis camera whose two SD cards report a disruption and whose housing sensor is out of
    # bounds; its fan is fine. The agent leaves out sysUpTime, as Axis agents do.
    "axis-camera-synthetic": """1.3.6.1.2.1.1.1.0|4| ; AXIS Q6055-E; PTZ Dome Network Camera; 9.80.3.8; Jan 01 2023 10:10; 1F1; 1;
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.368.1.1
1.3.6.1.4.1.368.4.1.2.1.3.1.1|2|1
1.3.6.1.4.1.368.4.1.3.1.3.1.1|2|1
1.3.6.1.4.1.368.4.1.3.1.3.2.1|2|3
1.3.6.1.4.1.368.4.1.3.1.4.1.1|2|48
1.3.6.1.4.1.368.4.1.3.1.4.2.1|2|71
1.3.6.1.4.1.368.4.1.8.1.2.1|4|SD_DISK
1.3.6.1.4.1.368.4.1.8.1.2.2|4|NetworkShare
1.3.6.1.4.1.368.4.1.8.1.3.1|2|2
1.3.6.1.4.1.368.4.1.8.1.3.2|2|2
""",
    # A switch whose second power supply the agent calls nonoperational (ENTITY-SENSOR-MIB).
    "switch-sensors-synthetic": """1.3.6.1.2.1.1.1.0|4|synthetic switch
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1
1.3.6.1.2.1.1.3.0|67|100
1.3.6.1.2.1.47.1.1.1.1.2.1|4|Chassis
1.3.6.1.2.1.47.1.1.1.1.5.1|2|3
1.3.6.1.2.1.47.1.1.1.1.7.1|4|chassis
1.3.6.1.2.1.47.1.1.1.1.7.10|4|PSU 1 voltage
1.3.6.1.2.1.47.1.1.1.1.7.11|4|PSU 2 voltage
1.3.6.1.2.1.47.1.1.1.1.11.1|4|SN123456
1.3.6.1.2.1.47.1.1.1.1.13.1|4|SW-24P
1.3.6.1.2.1.99.1.1.1.1.10|2|4
1.3.6.1.2.1.99.1.1.1.1.11|2|4
1.3.6.1.2.1.99.1.1.1.2.10|2|8
1.3.6.1.2.1.99.1.1.1.2.11|2|8
1.3.6.1.2.1.99.1.1.1.3.10|2|0
1.3.6.1.2.1.99.1.1.1.3.11|2|0
1.3.6.1.2.1.99.1.1.1.4.10|2|12010
1.3.6.1.2.1.99.1.1.1.4.11|2|0
1.3.6.1.2.1.99.1.1.1.5.10|2|1
1.3.6.1.2.1.99.1.1.1.5.11|2|3
""",
}


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[int]:
    """snmpsim serving the real recordings and the synthetic ones, each under its file name as community."""
    root = Path(tempfile.mkdtemp(prefix="fleetmon-snmprec-"))
    for name, text in SYNTHETIC.items():
        (root / f"{name}.snmprec").write_text(text, encoding="utf-8")
    root.chmod(0o755)
    try:
        with serve_recordings(root) as port:
            yield port
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with AsyncExitStack() as stack:
        yield await SnmpClient.start(stack)


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


async def test_mikrotik_router_ports_down_are_faults_only_where_they_carried_traffic(snmpsim: int, client: SnmpClient) -> None:
    """RouterOS offers only 64-bit counters: a switched-on port that is down is a fault only if ifHCInOctets moved."""
    recorded = snmprec("routeros")
    result = await probe(snmpsim, client, "routeros", kind="switch")
    assert result.vendor == "mikrotik" and result.uptime_seconds == int(recorded["1.3.6.1.2.1.1.3.0"]) / 100
    ports = {i.name: i for i in result.interfaces}
    assert len(ports) == sum(1 for oid in recorded if oid.startswith("1.3.6.1.2.1.2.2.1.2."))
    assert not any(oid.startswith("1.3.6.1.2.1.2.2.1.10.") for oid in recorded)  # no 32-bit counters at all
    was_up_now_down = [recorded[f"1.3.6.1.2.1.2.2.1.2.{n}"] for n in range(1, 13)
                       if recorded[f"1.3.6.1.2.1.2.2.1.7.{n}"] == "1" and recorded[f"1.3.6.1.2.1.2.2.1.8.{n}"] == "2"
                       and int(recorded[f"1.3.6.1.2.1.31.1.1.1.6.{n}"]) > 0]
    assert was_up_now_down and [p for p in result.problems if p.startswith("port")] == [
        f"port {name} down" for name in was_up_now_down]
    assert ports["ether3"].oper_status == "down" and ports["ether3"].carried_traffic is False  # never used: no fault
    assert ports["ether5"].oper_status == "down" and not ports["ether5"].admin_up  # switched off on purpose


async def test_only_the_ports_the_profile_watches_are_faults(snmpsim: int, client: SnmpClient) -> None:
    target = Target("routeros", "127.0.0.1", snmp_port=snmpsim, timeout=5, kind="switch",
                    credentials=Credentials(snmp=SnmpV2c(SecretStr("routeros"), ports=("ether*", "WAN"))))
    result = await probe_snmp(target, client)
    assert result.ok and [p for p in result.problems if p.startswith("port")] == []  # the radios that went down are not watched
    assert {i.name for i in result.interfaces if i.watched} == {"WAN", "ether2", "ether3", "ether4", "ether5"}


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


async def test_axis_camera_storage_disruption_and_over_temperature(snmpsim: int, client: SnmpClient) -> None:
    result = await probe(snmpsim, client, "axis-camera-synthetic", kind="camera")
    assert (result.vendor, result.identity.model, result.identity.firmware) == ("axis", "AXIS Q6055-E", "9.80.3.8")
    assert result.uptime_seconds is None  # alive all the same
    assert result.problems == ["disk 1 (SD_DISK): failed (disruption detected)", "disk 2 (NetworkShare): failed (disruption detected)",
                               "temperature 2.1: out of range (outOfBoundary, 71 °C)"]
    assert [(s.name, s.state) for s in result.sensors] == [("temperature 1.1", "ok"), ("temperature 2.1", "out_of_range"),
                                                           ("fan 1.1", "ok")]


async def test_entity_sensor_and_chassis_identity(snmpsim: int, client: SnmpClient) -> None:
    result = await probe(snmpsim, client, "switch-sensors-synthetic", kind="switch")
    assert (result.identity.model, result.identity.serial) == ("SW-24P", "SN123456")
    assert [(s.name, s.kind, s.state, s.value) for s in result.sensors] == [
        ("PSU 1 voltage", "voltage", "ok", 12.01), ("PSU 2 voltage", "voltage", "failed", 0.0)]
    assert result.problems == ["PSU 2 voltage: failed (nonoperational, 0 V DC)"]
