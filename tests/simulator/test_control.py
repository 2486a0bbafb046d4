"""Faults set and cleared through the control API and `fleetmon simulate fault/clear`, as a tester would."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import ipaddress
import json
import math
import os
import socket
import stat
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from fleetmon.cli import main
from fleetmon.inventory.sample import sample_fleet
from fleetmon.simulator.control import FaultControl, FaultError, FaultSpec, parse_spec, start_control
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.state import Fault
from tests.peers import free_port, need_binary


@pytest.fixture
def fleet() -> Fleet:
    return Fleet.from_inventory(sample_fleet(60))


TOKEN = "t0ken-for-tests"


@pytest.fixture
async def api(fleet: Fleet) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    port = free_port()
    runner = await start_control(FaultControl(fleet), port, TOKEN)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client, port
    await runner.cleanup()


def nvr_id(fleet: Fleet) -> str:
    return next(d.device.id for d in fleet.devices.values() if d.disks)


def test_fault_specs() -> None:
    assert parse_spec("offline:cam-000012") == FaultSpec(Fault.OFFLINE, device="cam-000012")
    assert parse_spec("packet_loss=5:10%") == FaultSpec(Fault.PACKET_LOSS, 5.0, share=10.0)
    assert parse_spec("slow=2.5:nvr-0001-1") == FaultSpec(Fault.SLOW, 2.5, device="nvr-0001-1")
    for bad, says in (("melted:cam-1", "unknown fault 'melted'"), ("offline", "is not FAULT"),
                      ("offline:150%", "(0, 100]"), ("offline:abc%", "not a percentage")):
        with pytest.raises(FaultError, match=says.replace("(", r"\(").replace("]", r"\]")):
            parse_spec(bad)


async def test_set_and_clear_on_one_device(api: tuple[httpx.AsyncClient, int], fleet: Fleet) -> None:
    client, _ = api
    answer = await client.post("/faults", json={"fault": "slow", "param": 3, "device": "cam-000003"})
    assert answer.json() == {"devices": ["cam-000003"]}
    assert (await client.get("/devices/cam-000003")).json()["faults"] == {"slow": 3.0}
    assert [d["id"] for d in (await client.get("/devices", params={"faulty": "true"})).json()] == ["cam-000003"]
    assert (await client.delete("/faults", params={"device": "cam-000003"})).json() == {"cleared": ["cam-000003"]}
    assert fleet.devices["cam-000003"].faults == {}


async def test_random_share_then_clear_all(api: tuple[httpx.AsyncClient, int], fleet: Fleet) -> None:
    client, _ = api
    ids = (await client.post("/faults", json={"fault": "packet_loss", "param": 5, "share": 10})).json()["devices"]
    assert len(ids) == round(len(fleet.devices) / 10) and len(set(ids)) == len(ids)
    assert all(fleet.devices[i].faults == {Fault.PACKET_LOSS: 5.0} for i in ids)
    disk_ids = (await client.post("/faults", json={"fault": "disk_full", "share": 100})).json()["devices"]
    assert sorted(disk_ids) == sorted(d.device.id for d in fleet.devices.values() if d.disks)
    assert sorted((await client.delete("/faults")).json()["cleared"]) == sorted(set(ids) | set(disk_ids))
    assert not any(d.faults for d in fleet.devices.values())


async def test_mistakes_are_refused_with_reasons(api: tuple[httpx.AsyncClient, int]) -> None:
    client, _ = api
    missing = await client.post("/faults", json={"fault": "offline", "device": "cam-999999"})
    assert missing.status_code == 404 and "no device 'cam-999999'" in missing.json()["error"]
    unknown = await client.post("/faults", json={"fault": "on_fire", "device": "cam-000003"})
    assert unknown.status_code == 400 and "known: offline" in unknown.json()["error"]
    camera_disk = await client.post("/faults", json={"fault": "disk_failed", "device": "cam-000003"})
    assert camera_disk.status_code == 400 and "does not apply to camera" in camera_disk.json()["error"]
    both = await client.post("/faults", json={"fault": "offline", "device": "cam-000003", "share": 5})
    assert both.status_code == 400


def test_disk_faults_change_disks_and_clearing_restores_them(fleet: Fleet) -> None:
    control = FaultControl(fleet)
    nvr = control.device(nvr_id(fleet))
    pristine = copy.deepcopy(nvr.disks)
    control.set(nvr, Fault.DISK_FAILED, 1)
    control.set(nvr, Fault.DISK_FULL)
    assert [d.failed for d in nvr.disks] == [i == 1 for i in range(len(pristine))]
    assert all(d.used_bytes == d.capacity_bytes for d in nvr.disks)
    control.clear(nvr, Fault.DISK_FULL)
    assert [d.used_bytes for d in nvr.disks] == [d.used_bytes for d in pristine] and nvr.disks[1].failed
    control.clear(nvr)
    assert nvr.disks == pristine
    with pytest.raises(FaultError, match=r"has disks 0\.\."):
        control.set(nvr, Fault.DISK_FAILED, 9)


def test_reboot_is_one_off_and_parent_down_takes_the_parent(fleet: Fleet) -> None:
    control = FaultControl(fleet)
    camera = control.device("cam-000003")
    control.set(camera, Fault.REBOOT)
    assert camera.uptime_seconds() < 5 and camera.faults == {}
    control.set(camera, Fault.PARENT_DOWN)
    assert camera.parent is not None and Fault.OFFLINE in camera.parent.faults and not camera.answers()
    control.clear(camera)
    assert camera.parent.faults == {} and camera.answers()


async def test_cli_fault_and_clear_talk_to_the_simulator(fleet: Fleet, tmp_path: Path) -> None:
    snmpget = need_binary("snmpget")
    port, snmp_port = free_port(), free_port(socket.SOCK_DGRAM)
    fleet = Fleet.from_inventory([dataclasses.replace(e.device, snmp_port=snmp_port) for e in fleet.devices.values()])
    cli = CliRunner()
    token_file = tmp_path / "run" / "simulator.token"

    async def fleetmon(*args: str) -> str:
        result = await asyncio.to_thread(cli.invoke, main, ["simulate", *args, "--control-port", str(port),
                                                            "--token-file", str(token_file)])
        assert result.exit_code == 0, result.output
        return result.output

    async def sys_uptime(host: str) -> int:
        process = await asyncio.create_subprocess_exec(snmpget, "-v2c", "-c", "public", "-t", "0.3", "-r", "0",
                                                       f"{host}:{snmp_port}", "1.3.6.1.2.1.1.3.0",
                                                       stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return await process.wait()

    async with AsyncExitStack() as stack:
        started = await start_fleet(stack, fleet, control_port=port, faults=[parse_spec("offline:cam-000004")],
                                    token_file=token_file)
        assert started.endpoints == [f"snmp udp/{snmp_port}"]
        assert token_file.read_text().strip() == started.token and len(started.token) >= 32
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        host = fleet.devices["cam-000004"].device.host
        assert await sys_uptime(host) != 0
        assert "cleared 1 device(s)" in await fleetmon("clear", "cam-000004")
        assert await sys_uptime(host) == 0
        assert "offline set on 1 device(s): cam-000004" in await fleetmon("fault", "cam-000004", "offline")
        assert '"offline": 0.0' in await fleetmon("devices", "--faulty")
        assert await sys_uptime(host) != 0
        assert "set on 6 device(s)" in await fleetmon("fault", "10%", "packet-loss", "5")


async def test_the_control_api_wants_its_token_and_json(api: tuple[httpx.AsyncClient, int], fleet: Fleet) -> None:
    """What a web page could send (a cross-origin text/plain POST, no token) drives nothing."""
    _, port = api
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as stranger:
        page = await stranger.post("/faults", content='{"fault": "offline", "share": 100}', headers={
            "Content-Type": "text/plain", "Origin": "http://evil.example"})
        assert page.status_code == 401
        assert (await stranger.get("/devices")).status_code == 401
        wrong = await stranger.delete("/faults", headers={"Authorization": "Bearer " + TOKEN[:-1] + "X"})
        assert wrong.status_code == 401
        plain = await stranger.post("/faults", content='{"fault": "offline", "share": 100}', headers={
            "Content-Type": "text/plain", "Authorization": f"Bearer {TOKEN}"})
        assert plain.status_code == 415
    assert not any(d.faults for d in fleet.devices.values())


@pytest.mark.parametrize("body", [
    {"fault": "offline", "share": math.nan}, {"fault": "offline", "share": -5}, {"fault": "offline", "share": math.inf},
    {"fault": "slow", "param": math.inf, "device": "cam-000003"}, {"fault": "slow", "param": -1, "device": "cam-000003"},
    {"fault": "slow", "param": math.nan, "share": 10}, {"fault": "packet_loss", "param": 150, "share": 10},
    {"fault": "clock_skew", "param": 1e300, "device": "cam-000003"},
], ids=["nan-share", "negative-share", "infinite-share", "infinite-delay", "negative-delay", "nan-delay", "loss-over-100",
        "clock-beyond-dates"])
async def test_nan_negative_and_infinite_values_are_refused(api: tuple[httpx.AsyncClient, int], fleet: Fleet,
                                                            body: dict[str, object]) -> None:
    client, _ = api
    answer = await client.post("/faults", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert "must be" in answer.json()["error"]
    assert not any(d.faults for d in fleet.devices.values())


def _sockets() -> dict[int, str]:
    """This process's sockets by inode (from /proc/self/fd)."""
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:"):
                found[int(fd)] = target
    return found


async def test_every_server_listens_on_loopback_only(fleet: Fleet) -> None:
    """A wildcard listener is tied to the loopback interface; the rest are bound to loopback addresses."""
    before = set(_sockets().values())
    async with AsyncExitStack() as stack:
        await start_fleet(stack, fleet, control_port=free_port(), services=default_services(), discovery_port=free_port(socket.SOCK_DGRAM))
        opened = [fd for fd, inode in _sockets().items() if inode not in before]
        assert len(opened) >= 4  # SNMP, web, RTSP, discovery, control (and aiohttp's own)
        for fd in opened:
            with socket.socket(fileno=os.dup(fd)) as sock:
                host = sock.getsockname()[0]
                device = sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(b"\0")
                assert ipaddress.ip_address(host).is_loopback or device == b"lo", (host, device)
