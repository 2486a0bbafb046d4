"""The simulator's SNMP agent as net-snmp's own clients see it: identity, tables, v3, every fault."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from pydantic import SecretStr

from fleetmon.probes.snmp import ber
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.snmp_agent import SnmpAgent, SnmpSettings, start_snmp
from fleetmon.simulator.state import Fault
from tests.peers import free_port
from tests.simulator.net_snmp import (
    HIK_DISK_STATUS,
    HR_DEVICE_STATUS,
    HR_STORAGE,
    SYS_UPTIME,
    V3,
    net_snmp,
    uptime,
    values,
)


async def test_v2c_identity_of_an_nvr(agent: SnmpAgent, fleet: Fleet) -> None:
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0",
                               "1.3.6.1.2.1.1.5.0")
    assert code == 0, out
    expected = fleet.devices["nvr-1"].uptime_seconds()
    assert expected - 5 < uptime(out) <= expected + 5
    got = values(out)
    assert got["1.3.6.1.2.1.1.1.0"] == '"Hikvision company products"'
    assert got["1.3.6.1.2.1.1.2.0"] == ".1.3.6.1.4.1.50001"
    assert got["1.3.6.1.2.1.1.5.0"] == '"nvr-1"'


async def test_each_address_is_its_own_device(agent: SnmpAgent) -> None:
    _, camera = await net_snmp("snmpget", agent, "127.77.0.3", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0")
    assert values(camera)["1.3.6.1.2.1.1.5.0"] == '"cam-1"'
    assert "Dahua IPC-HFW1230S V5.7.3" in camera
    code, unknown = await net_snmp("snmpget", agent, "127.77.0.99", SYS_UPTIME, timeout=0.3)
    assert code != 0 and "Timeout" in unknown


async def test_reply_comes_from_the_address_asked(agent: SnmpAgent) -> None:
    assert agent.sock is not None
    request = ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets("public") + ber.tlv(0xA0, ber.integer(7) + ber.integer(0)
                      + ber.integer(0) + ber.tlv(ber.SEQUENCE, ber.tlv(ber.SEQUENCE, ber.encode_oid(ber.parse_oid(SYS_UPTIME))
                                                                          + ber.NULL_VALUE))))
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.setblocking(False)
        client.bind(("127.0.0.1", 0))
        await loop.sock_sendto(client, request, ("127.77.0.3", agent.sock.getsockname()[1]))
        reply, source = await asyncio.wait_for(loop.sock_recvfrom(client, 2048), 2)
    assert source[0] == "127.77.0.3"
    assert ber.encode_oid(ber.parse_oid(SYS_UPTIME)) + bytes((ber.TIMETICKS,)) in reply


async def test_v2c_hr_storage_table_matches_the_disks(agent: SnmpAgent, fleet: Fleet) -> None:
    code, out = await net_snmp("snmpwalk", agent, "127.77.0.2", HR_STORAGE)
    assert code == 0, out
    got = values(out)
    disks = fleet.devices["nvr-1"].disks
    assert [got[f"1.3.6.1.2.1.25.2.3.1.3.{row}"] for row in range(2, len(disks) + 2)] == [
        f'"/mnt/hdd{i + 1}"' for i in range(len(disks))]
    for row, disk in enumerate(disks, start=2):
        units = int(got[f"1.3.6.1.2.1.25.2.3.1.4.{row}"].split()[0])
        assert int(got[f"1.3.6.1.2.1.25.2.3.1.5.{row}"]) * units == disk.capacity_bytes
        assert int(got[f"1.3.6.1.2.1.25.2.3.1.6.{row}"]) == disk.used_bytes // units


async def test_bulkwalk_reads_a_whole_switch_like_walk(agent: SnmpAgent) -> None:
    code, bulk = await net_snmp("snmpbulkwalk", agent, "127.77.0.1", "-Cr50", "1.3.6.1")
    _, walk = await net_snmp("snmpwalk", agent, "127.77.0.1", "1.3.6.1.2.1.2")
    assert code == 0, bulk
    assert values(walk).keys() < values(bulk).keys()
    assert len([k for k in values(bulk) if k.startswith("1.3.6.1.2.1.2.2.1.8.")]) == 28  # ifOperStatus per port


@pytest.mark.parametrize(("auth", "priv"), [("sha", "aes"), ("md5", "des"), ("sha256", "aes")])
async def test_v3_auth_priv_reads_uptime_and_storage(fleet: Fleet, auth: str, priv: str) -> None:
    settings = SnmpSettings(auth_protocol=auth, priv_protocol=priv, auth_key=SecretStr("auth-Pa55word"),  # type: ignore[arg-type]
                            priv_key=SecretStr("priv-Pa55word"))
    running = await start_snmp(fleet, free_port(socket.SOCK_DGRAM), settings)
    version = ["-v3", "-l", "authPriv", "-u", "fleetmon", "-a", {"sha256": "SHA-256"}.get(auth, auth.upper()),
               "-A", "auth-Pa55word", "-x", priv.upper(), "-X", "priv-Pa55word"]
    try:
        code, out = await net_snmp("snmpget", running, "127.77.0.2", SYS_UPTIME, version=version)
        assert code == 0, out
        assert uptime(out) > 3600
        code, out = await net_snmp("snmpwalk", running, "127.77.0.2", HR_STORAGE, version=version)
        assert code == 0, out
        assert '"/mnt/hdd1"' in out and "Physical memory" in out
    finally:
        running.close()


async def test_v3_wrong_key_is_refused_with_a_report(agent: SnmpAgent) -> None:
    wrong = [*V3[:-1], "not-the-priv-key"]
    wrong[V3.index("-A") + 1] = "not-the-auth-key"
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=wrong)
    assert code != 0 and "Authentication failure" in out


@pytest.mark.parametrize("fault", [Fault.OFFLINE, Fault.REFUSED, Fault.HANG])
async def test_silent_faults(agent: SnmpAgent, control: FaultControl, fault: Fault) -> None:
    control.set(control.device("nvr-1"), fault)
    for version in (None, V3):
        code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=version, timeout=0.3)
        assert code != 0 and "Timeout" in out
    control.clear(control.device("nvr-1"))
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME)
    assert code == 0, out


async def test_slow_device_answers_late(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.SLOW, 1.5)
    code, out = await net_snmp("snmpget", agent, "127.77.0.3", SYS_UPTIME, timeout=0.5)
    assert code != 0 and "Timeout" in out
    code, out = await net_snmp("snmpget", agent, "127.77.0.3", SYS_UPTIME, timeout=5)
    assert code == 0, out


async def test_wrong_password(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.WRONG_PASSWORD)
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, timeout=0.3)
    assert code != 0 and "Timeout" in out
    code, out = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=V3)
    assert code != 0 and "Authentication failure" in out


async def test_reboot_resets_uptime(agent: SnmpAgent, control: FaultControl) -> None:
    _, before = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME)
    control.set(control.device("nvr-1"), Fault.REBOOT)
    _, after = await net_snmp("snmpget", agent, "127.77.0.2", SYS_UPTIME, version=V3)
    assert uptime(before) > 3600 and uptime(after) < 10


async def test_reboot_loop_keeps_uptime_below_the_period(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("sw-1"), Fault.REBOOT_LOOP, 60)
    _, out = await net_snmp("snmpget", agent, "127.77.0.1", SYS_UPTIME)
    assert uptime(out) < 60


async def test_flapping_alternates_with_the_clock(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.FLAPPING, 1000)
    down_now = int(time.time() // 1000) % 2 == 1
    code, out = await net_snmp("snmpget", agent, "127.77.0.3", SYS_UPTIME)
    assert (code != 0) is down_now, out


async def _answered(agent: SnmpAgent, host: str, count: int) -> int:
    """How many of `count` v2c GETs sent to `host` at once get an answer."""
    assert agent.sock is not None
    loop = asyncio.get_running_loop()
    answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.setblocking(False)
        client.bind(("127.0.0.1", 0))
        for request_id in range(count):
            pdu = ber.tlv(0xA0, ber.integer(request_id) + ber.integer(0) + ber.integer(0) + ber.tlv(
                ber.SEQUENCE, ber.tlv(ber.SEQUENCE, ber.encode_oid(ber.parse_oid(SYS_UPTIME)) + ber.NULL_VALUE)))
            await loop.sock_sendto(client, ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets("public") + pdu),
                                   (host, agent.sock.getsockname()[1]))
        try:
            while answered < count:
                await asyncio.wait_for(loop.sock_recvfrom(client, 2048), 0.3)
                answered += 1
        except TimeoutError:
            pass
    return answered


async def test_packet_loss_drops_that_share(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.PACKET_LOSS, 50)
    assert 50 <= await _answered(agent, "127.77.0.3", 200) <= 150
    control.set(control.device("cam-1"), Fault.PACKET_LOSS, 100)
    assert await _answered(agent, "127.77.0.3", 20) == 0


async def test_disk_full_fills_hr_storage(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.DISK_FULL)
    got = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HR_STORAGE, version=V3))[1])
    for row in range(2, len(control.device("nvr-1").disks) + 2):
        assert got[f"1.3.6.1.2.1.25.2.3.1.6.{row}"] == got[f"1.3.6.1.2.1.25.2.3.1.5.{row}"]
    hik = values((await net_snmp("snmpwalk", agent, "127.77.0.2", "1.3.6.1.4.1.50001.1.241.1.4"))[1])
    assert set(hik.values()) == {"0"}  # hikDiskFreeSpace


async def test_disk_failed_shows_in_device_status_and_hikvision_table(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.DISK_FAILED, 1)
    devices = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HR_DEVICE_STATUS))[1])
    assert list(devices.values())[:2] == ["running(2)", "down(5)"] or list(devices.values())[:2] == ["2", "5"]
    hik = values((await net_snmp("snmpwalk", agent, "127.77.0.2", HIK_DISK_STATUS))[1])
    assert list(hik.values())[:2] == ["0", "2"]


async def test_parent_down_silences_everything_behind_it(agent: SnmpAgent, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.PARENT_DOWN)
    for host in ("127.77.0.1", "127.77.0.2", "127.77.0.3"):
        code, out = await net_snmp("snmpget", agent, host, SYS_UPTIME, timeout=0.3)
        assert code != 0 and "Timeout" in out, host
    control.clear(control.device("nvr-1"), Fault.PARENT_DOWN)
    code, out = await net_snmp("snmpget", agent, "127.77.0.3", SYS_UPTIME)
    assert code == 0, out


async def test_secrets_stay_out_of_reprs(agent: SnmpAgent) -> None:
    shown = repr(agent) + repr(agent.settings) + repr(agent.usm)
    assert "public" not in shown and "fleetmon-demo" not in shown
