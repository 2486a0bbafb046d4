"""The simulator's SNMP faults as net-snmp's clients see them over SNMPv3 authPriv.

`test_snmp_agent.py` shows each fault over v2c (and the silent ones over v3 too); here the
faults that change what an answer says, or whether one comes, are seen through v3 authPriv,
where each answer is decrypted and signed per device: a fault must not break the USM exchange.
"""

from __future__ import annotations

import time

import pytest

from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.snmp_agent import SnmpAgent
from fleetmon.simulator.state import Fault
from tests.simulator.net_snmp import HIK_DISK_STATUS, HR_DEVICE_STATUS, HR_STORAGE, SYS_UPTIME, V3, net_snmp, uptime, values


async def test_v3_slow_answer_arrives_after_its_delay(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.SLOW, 1.0)
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=V3, timeout=0.4)
    assert code != 0 and "Timeout" in out
    started = time.monotonic()
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=V3, timeout=4)
    assert code == 0, out
    assert time.monotonic() - started >= 1.0  # discovery and the GET each wait their turn


async def test_v3_reboot_loop_restarts_uptime_and_keeps_engine_time(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.REBOOT_LOOP, 20)
    for _ in range(2):
        code, out = await net_snmp("snmpget", agent, "127.77.0.3", SYS_UPTIME, version=V3)
        assert code == 0, out
        assert uptime(out) < 20


async def test_v3_disk_failed_in_device_status_and_hikvision_table(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.DISK_FAILED, 0)
    first, *others = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HR_DEVICE_STATUS, version=V3))[1]).values()
    assert first in ("down(5)", "5")
    assert set(others) <= {"running(2)", "2"}
    first, *others = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HIK_DISK_STATUS, version=V3))[1]).values()
    assert first == "2" and set(others) == {"0"}
    control.clear(control.device("nvr-1"))
    hik = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HIK_DISK_STATUS, version=V3))[1])
    assert set(hik.values()) == {"0"}


async def test_v3_disk_full_shows_in_storage_used(agent: SnmpAgent, control: FaultControl, fleet: Fleet) -> None:
    before = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HR_STORAGE + ".1.6", version=V3))[1])
    control.set(control.device("nvr-1"), Fault.DISK_FULL)
    after = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HR_STORAGE + ".1.6", version=V3))[1])
    disks = len(fleet.devices["nvr-1"].disks)
    grown = [row for row in range(2, disks + 2) if int(after[f"{HR_STORAGE}.1.6.{row}"]) > int(before[f"{HR_STORAGE}.1.6.{row}"])]
    assert grown == list(range(2, disks + 2))


@pytest.mark.parametrize(("fault", "faulted", "asked"), [
    (Fault.PARENT_DOWN, "cam-1", "127.77.0.3"),  # the camera's recorder is down: the camera goes quiet too
    (Fault.PACKET_LOSS, "sw-1", "127.77.0.1"),
    (Fault.OFFLINE, "sw-1", "127.77.0.2"),  # the switch is the recorder's uplink
])
async def test_v3_silence(agent: SnmpAgent, control: FaultControl, fault: Fault, faulted: str, asked: str) -> None:
    control.set(control.device(faulted), fault, 100 if fault is Fault.PACKET_LOSS else None)
    code, out = await net_snmp("snmpget", agent, asked, SYS_UPTIME, version=V3, timeout=0.3)
    assert code != 0 and "Timeout" in out
    control.clear(control.device(faulted))
    code, out = await net_snmp("snmpget", agent, asked, SYS_UPTIME, version=V3)
    assert code == 0, out


async def test_v3_flapping_alternates_with_the_clock(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.FLAPPING, 1000)
    down_now = int(time.time() // 1000) % 2 == 1
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=V3, timeout=0.3)
    assert (code != 0) is down_now, out
