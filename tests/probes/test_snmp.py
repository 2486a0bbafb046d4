"""The SNMP probe against real agents: the simulator with every SNMP-visible fault, and net-snmp's snmpd."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack

import pytest
from pydantic import SecretStr

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import SnmpResult, probe_snmp, rebooted_between
from fleetmon.probes.target import Credentials, SnmpV2c, SnmpV3, Target
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.snmp_agent import SnmpAgent
from fleetmon.simulator.state import Fault
from tests.peers import free_port, need_binary
from tests.simulator.test_snmp_agent import INVENTORY, agent, control, fleet  # noqa: F401  (fixtures)

V2C = SnmpV2c(SecretStr("public"))
V3_PRIV = SnmpV3("fleetmon", "sha", SecretStr("fleetmon-demo-auth"), "aes", SecretStr("fleetmon-demo-priv"))
HOSTS = {device.id: device.host for device in INVENTORY}
KINDS = {device.id: device.kind.value for device in INVENTORY}


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with AsyncExitStack() as stack:
        yield await SnmpClient.start(stack)


def target_for(agent: SnmpAgent, device_id: str, snmp: SnmpV2c | SnmpV3 | None = V2C, timeout: float = 1.0,
               vendor: str = "", kind: str | None = None) -> Target:
    assert agent.sock is not None
    return Target(device_id, HOSTS[device_id], snmp_port=agent.sock.getsockname()[1], timeout=timeout,
                  credentials=Credentials(snmp=snmp), vendor=vendor,
                  kind=KINDS[device_id] if kind is None else kind)


async def probe(agent: SnmpAgent, client: SnmpClient, device_id: str, **options: object) -> SnmpResult:
    return await probe_snmp(target_for(agent, device_id, **options), client)  # type: ignore[arg-type]


@pytest.mark.parametrize("snmp", [V2C, V3_PRIV], ids=["v2c", "v3-authPriv"])
async def test_nvr_uptime_identity_volumes_and_disks(agent: SnmpAgent, client: SnmpClient, fleet: Fleet,
                                                     snmp: SnmpV2c | SnmpV3) -> None:
    result = await probe(agent, client, "nvr-1", snmp=snmp)
    assert result.status is ProbeStatus.OK, result.error
    nvr = fleet.devices["nvr-1"]
    assert result.uptime_seconds is not None and abs(result.uptime_seconds - nvr.uptime_seconds()) < 5
    assert (result.vendor, result.sys_descr, result.sys_object_id) == (
        "hikvision", "Hikvision company products", "1.3.6.1.4.1.50001")
    assert [v.name for v in result.volumes] == [f"/mnt/hdd{i + 1}" for i in range(len(nvr.disks))]  # RAM left out
    for volume, disk in zip(result.volumes, nvr.disks, strict=True):
        assert volume.size_bytes == disk.capacity_bytes
        assert abs(volume.used_bytes - disk.used_bytes) < 65536  # one allocation unit
    assert [(d.name, d.state, d.capacity_bytes) for d in result.disks] == [
        (f"HDD{i + 1}", "ok", disk.capacity_bytes) for i, disk in enumerate(nvr.disks)]
    assert [(i.name, i.oper_status) for i in result.interfaces] == [("eth0", "up"), ("eth1", "up")]
    assert result.problems == []


async def test_vendor_comes_from_sys_object_id_without_an_inventory_hint(agent: SnmpAgent, client: SnmpClient) -> None:
    result = await probe(agent, client, "nvr-1", kind="", vendor="")
    assert result.vendor == "hikvision"
    assert [d.vendor_state for d in result.disks] == ["normal"] * len(result.disks)  # the vendor table, read late


async def test_empty_switch_cages_are_not_faults(agent: SnmpAgent, client: SnmpClient) -> None:
    result = await probe(agent, client, "sw-1")
    assert result.status is ProbeStatus.OK and result.vendor == "tp-link"
    assert len(result.interfaces) == 28
    assert [i.oper_status for i in result.interfaces].count("down") == 4
    assert result.problems == [] and result.disks == []


@pytest.mark.parametrize("fault", [Fault.OFFLINE, Fault.REFUSED, Fault.HANG, Fault.PARENT_DOWN])
@pytest.mark.parametrize("snmp", [V2C, V3_PRIV], ids=["v2c", "v3-authPriv"])
async def test_silent_device_costs_one_timeout(agent: SnmpAgent, client: SnmpClient, control: FaultControl,
                                               fault: Fault, snmp: SnmpV2c | SnmpV3) -> None:
    control.set(control.device("cam-1" if fault is Fault.PARENT_DOWN else "nvr-1"), fault)
    result = await probe(agent, client, "nvr-1", snmp=snmp, timeout=0.5)
    assert result.status is ProbeStatus.TIMEOUT
    assert 0.5 <= result.duration_seconds < 0.7


async def test_wrong_password_v2c_is_silence_v3_is_auth_failed(agent: SnmpAgent, client: SnmpClient,
                                                              control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.WRONG_PASSWORD)
    assert (await probe(agent, client, "nvr-1", timeout=0.4)).status is ProbeStatus.TIMEOUT
    refused = await probe(agent, client, "nvr-1", snmp=V3_PRIV)
    assert refused.status is ProbeStatus.AUTH_FAILED and "wrong digest" in refused.error
    wrong_user = SnmpV3("intruder", "sha", SecretStr("fleetmon-demo-auth"), "aes", SecretStr("fleetmon-demo-priv"))
    control.clear(control.device("nvr-1"))
    assert "unknown user" in (await probe(agent, client, "nvr-1", snmp=wrong_user)).error


async def test_slow_device_within_or_beyond_the_timeout(agent: SnmpAgent, client: SnmpClient,
                                                        control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.SLOW, 0.6)
    late = await probe(agent, client, "cam-1", timeout=1.5)
    assert late.status is ProbeStatus.OK and late.duration_seconds >= 0.6
    assert (await probe(agent, client, "cam-1", timeout=0.4)).status is ProbeStatus.TIMEOUT


async def test_disk_failed_names_the_disk(agent: SnmpAgent, client: SnmpClient, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.DISK_FAILED, 1)
    result = await probe(agent, client, "nvr-1", snmp=V3_PRIV)
    assert [d.state for d in result.disks][:2] == ["ok", "failed"]
    assert len(result.problems) == 1 and result.problems[0].startswith("disk 2 (HDD2): failed (abnormal)")
    hr_only = await probe(agent, client, "nvr-1", vendor="dahua")  # the inventory is wrong: still hikvision
    assert [d.vendor_state for d in hr_only.disks if d.state == "failed"] == ["abnormal"]


async def test_disk_full_fills_every_volume(agent: SnmpAgent, client: SnmpClient, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.DISK_FULL)
    result = await probe(agent, client, "nvr-1")
    assert {v.used_percent for v in result.volumes} == {100.0}
    assert {d.state for d in result.disks} == {"full"}


async def test_a_recorder_clock_skew_is_read_from_its_system_date(agent: SnmpAgent, client: SnmpClient,
                                                                  control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.CLOCK_SKEW, 900)
    result = await probe(agent, client, "nvr-1", snmp=V3_PRIV)
    assert result.clock_skew_seconds is not None and abs(result.clock_skew_seconds - 900) < 2
    assert result.problems == []  # measured here, judged against monitor.clock_skew_limit by the monitor


async def test_reboot_is_seen_between_two_probes(agent: SnmpAgent, client: SnmpClient, control: FaultControl) -> None:
    first = await probe(agent, client, "sw-1")
    second = await probe(agent, client, "sw-1", snmp=V3_PRIV)
    assert not rebooted_between(first, second)
    control.set(control.device("sw-1"), Fault.REBOOT)
    third = await probe(agent, client, "sw-1")
    assert third.uptime_seconds is not None and third.uptime_seconds < 5
    assert rebooted_between(second, third)


async def test_reboot_loop_keeps_uptime_below_its_period(agent: SnmpAgent, client: SnmpClient,
                                                         control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.REBOOT_LOOP, 30)
    result = await probe(agent, client, "cam-1", snmp=V3_PRIV)
    assert result.uptime_seconds is not None and result.uptime_seconds < 30


async def test_flapping_follows_the_clock(agent: SnmpAgent, client: SnmpClient, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.FLAPPING, 1000)
    down_now = int(time.time() // 1000) % 2 == 1
    result = await probe(agent, client, "cam-1", timeout=0.3)
    assert (result.status is ProbeStatus.TIMEOUT) is down_now


async def test_packet_loss_is_ridden_out_by_resends(agent: SnmpAgent, client: SnmpClient, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.PACKET_LOSS, 50)
    results = await asyncio.gather(*(probe(agent, client, "cam-1", timeout=0.6) for _ in range(200)))
    # One copy in two is lost; three copies per probe leave ~1 probe in 8 unanswered (175 of 200
    # answered on average; these bounds are five standard deviations wide).
    assert 150 <= sum(r.ok for r in results) < 200
    control.set(control.device("cam-1"), Fault.PACKET_LOSS, 100)
    assert (await probe(agent, client, "cam-1", timeout=0.3)).status is ProbeStatus.TIMEOUT


async def test_without_credentials_or_address(agent: SnmpAgent, client: SnmpClient) -> None:
    assert (await probe(agent, client, "cam-1", snmp=None)).status is ProbeStatus.NOT_SUPPORTED
    named = Target("cam-x", "camera.local", credentials=Credentials(snmp=V2C), timeout=0.3)
    assert (await probe_snmp(named, client)).status is ProbeStatus.UNREACHABLE


async def test_secrets_stay_out_of_results_and_reprs(agent: SnmpAgent, client: SnmpClient,
                                                     control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.WRONG_PASSWORD)
    results = [await probe(agent, client, "nvr-1", snmp=snmp, timeout=0.3) for snmp in (V2C, V3_PRIV)]
    shown = " ".join(repr(r) + r.error for r in results) + repr(client) + repr(V3_PRIV)
    assert "public" not in shown and "fleetmon-demo" not in shown


# --- net-snmp snmpd: this machine's own disks --------------------------------------------------------------

SNMPD_COMMUNITY = "fleetmon-test-community"
AUTH_PASS, PRIV_PASS = "auth-Pa55-fleetmon", "priv-Pa55-fleetmon"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Our own snmpd on a free loopback port: a v2c community, a v3 authNoPriv and an authPriv user."""
    binary = need_binary("snmpd", "/usr/sbin")
    root = tmp_path_factory.mktemp("snmpd")
    port = free_port(socket.SOCK_DGRAM)
    conf = root / "snmpd.conf"
    conf.write_text(f"agentAddress udp:127.0.0.1:{port}\nrocommunity {SNMPD_COMMUNITY} 127.0.0.1\n"
                    f'createUser fm-auth SHA "{AUTH_PASS}"\ncreateUser fm-priv SHA "{AUTH_PASS}" AES "{PRIV_PASS}"\n'
                    "rouser fm-auth auth\nrouser fm-priv priv\n")
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(root / "persist"), "SNMPCONFPATH": str(root), "MIBS": ""}
    process = subprocess.Popen([binary, "-f", "-Lo", "-C", "-c", str(conf)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_agent(port, SNMPD_COMMUNITY, process)
        yield port
    finally:
        process.terminate()
        process.wait(5)


def wait_for_agent(port: int, community: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Until a v2c GET of sysUpTime is answered; fails naming the peer's exit when it dies first."""
    get = [need_binary("snmpget"), "-v2c", "-c", community, "-t", "0.2", "-r", "0", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode(errors="replace")[-500:] if process.stderr else ""
            pytest.fail(f"{process.args[0]} exited with {process.returncode}: {errors}")
        if subprocess.run(get, capture_output=True).returncode == 0:
            return
    pytest.fail(f"no SNMP agent answered on port {port} within {seconds:g} s")


SNMPD_CREDENTIALS = {
    "v2c": SnmpV2c(SecretStr(SNMPD_COMMUNITY)),
    "v3-authNoPriv": SnmpV3("fm-auth", "sha", SecretStr(AUTH_PASS)),
    "v3-authPriv": SnmpV3("fm-priv", "sha", SecretStr(AUTH_PASS), "aes", SecretStr(PRIV_PASS)),
}


def snmpd_target(port: int, snmp: SnmpV2c | SnmpV3, timeout: float = 2.0) -> Target:
    return Target("snmpd", "127.0.0.1", snmp_port=port, timeout=timeout, credentials=Credentials(snmp=snmp))


@pytest.mark.parametrize("name", list(SNMPD_CREDENTIALS))
async def test_snmpd_root_volume_matches_statvfs(snmpd: int, client: SnmpClient, name: str) -> None:
    result = await probe_snmp(snmpd_target(snmpd, SNMPD_CREDENTIALS[name]), client)
    assert result.status is ProbeStatus.OK, result.error
    assert result.vendor == "net-snmp" and result.sys_object_id.startswith("1.3.6.1.4.1.8072.")
    assert result.sys_descr.startswith("Linux") and result.uptime_seconds is not None
    assert result.clock_skew_seconds is not None and abs(result.clock_skew_seconds) < 2
    root = next(v for v in result.volumes if v.name == "/")
    stat = os.statvfs("/")
    assert abs(root.size_bytes - stat.f_blocks * stat.f_frsize) <= stat.f_frsize * 2 + root.size_bytes // 1000
    assert abs(root.used_bytes - (stat.f_blocks - stat.f_bfree) * stat.f_frsize) < root.size_bytes // 100
    assert "Physical memory" not in [v.name for v in result.volumes]
    assert any(i.oper_status == "up" for i in result.interfaces)
    assert not any(i.name == "lo" for i in result.interfaces)  # software loopback is not a port


async def test_snmpd_wrong_community_is_a_timeout(snmpd: int, client: SnmpClient) -> None:
    result = await probe_snmp(snmpd_target(snmpd, SnmpV2c(SecretStr("not-the-community")), timeout=0.5), client)
    assert result.status is ProbeStatus.TIMEOUT and result.duration_seconds < 0.7


@pytest.mark.parametrize("credentials", [
    SnmpV3("fm-priv", "sha", SecretStr("wrong-auth-key"), "aes", SecretStr(PRIV_PASS)),
    SnmpV3("fm-auth", "md5", SecretStr(AUTH_PASS)),
    SnmpV3("nobody", "sha", SecretStr(AUTH_PASS)),
], ids=["wrong-key", "wrong-protocol", "unknown-user"])
async def test_snmpd_refuses_a_wrong_v3_user_with_auth_failed(snmpd: int, client: SnmpClient,
                                                              credentials: SnmpV3) -> None:
    result = await probe_snmp(snmpd_target(snmpd, credentials), client)
    assert result.status is ProbeStatus.AUTH_FAILED, result.error
    assert AUTH_PASS not in result.error + repr(result)


async def test_snmpd_v3_after_a_restart_rediscovers_engine_time(snmpd: int, client: SnmpClient) -> None:
    """A cached engine whose clock we got wrong is resynchronised from the notInTimeWindow report."""
    credentials = SNMPD_CREDENTIALS["v3-authPriv"]
    assert (await probe_snmp(snmpd_target(snmpd, credentials), client)).ok
    state = client._engines[("127.0.0.1", snmpd)]
    state.boots += 1  # as if we had cached the agent before a reboot
    again = await probe_snmp(snmpd_target(snmpd, credentials), client)
    assert again.ok, again.error
    assert client._engines[("127.0.0.1", snmpd)].boots == state.boots - 1


@pytest.mark.parametrize(("device_id", "brand"), [("cam-1", "Dahua"), ("cam-1", "KBVision"), ("nvr-1", "Hikvision"),
                                                  ("sw-1", "TP-Link")])
async def test_one_request_per_device_per_sweep(agent: SnmpAgent, client: SnmpClient, device_id: str, brand: str) -> None:
    """Scalars and every table ride in one GETBULK when the inventory names the brand (an OEM's too)."""
    sent: list[bytes] = []
    for endpoint in client._pools[socket.AF_INET]:
        original = endpoint.send
        endpoint.send = lambda data, addr, send=original: (sent.append(data), send(data, addr))[1]  # type: ignore[method-assign]
    result = await probe(agent, client, device_id, vendor=brand)
    assert result.ok and result.interfaces and result.uptime_seconds
    assert len(sent) == 1


async def test_v3_engine_cache_is_bounded(agent: SnmpAgent) -> None:
    """Per-agent state stays within its limit; an evicted agent is discovered again, not refused."""
    async with AsyncExitStack() as stack:
        small = await SnmpClient.start(stack, engines=2)
        for _ in range(2):
            results = [await probe(agent, small, device_id, snmp=V3_PRIV) for device_id in HOSTS]
            assert all(r.ok for r in results), [r.error for r in results]
            assert len(small._engines) == 2
