"""The recorders' storage APIs of the simulator, read by fleetmon's own vendor HTTP probe."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.http.vendor_api import probe_vendor_http
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.control import FaultControl, FaultSpec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from tests.peers import free_port

RECORDERS = {"nvr-hik": ("Hikvision", "127.77.2.1"), "nvr-dahua": ("Dahua", "127.77.2.2"),
             "nvr-kbvision": ("KBVision", "127.77.2.3")}
GIB = 1 << 30


@pytest.fixture
async def recorders() -> AsyncIterator[tuple[FaultControl, int]]:
    port = free_port()
    devices = [Device(name, DeviceKind.NVR, host, vendor=vendor, http_port=port)
               for name, (vendor, host) in RECORDERS.items()]
    devices.append(Device("cam-hik", DeviceKind.CAMERA, "127.77.2.10", vendor="Hikvision", http_port=port))
    fleet = Fleet.from_inventory(devices)
    runner = await start_http(fleet, port)
    yield FaultControl(fleet), port
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


def target(control: FaultControl, port: int, device_id: str, password: str | None = None,
           vendor: str | None = None) -> Target:
    device = control.device(device_id).device
    secret = DEMO_PASSWORD if password is None else SecretStr(password)
    return Target(device_id, device.host, http_port=port, vendor=vendor or device.vendor, timeout=3.0,
                  credentials=Credentials(username=DEMO_USERNAME, password=secret))


# KBVision runs Dahua firmware; the probe is told the firmware family, as the monitor does.
PROBED = [("nvr-hik", "hikvision"), ("nvr-dahua", "dahua"), ("nvr-kbvision", "dahua")]


@pytest.mark.parametrize(("device_id", "vendor"), PROBED)
async def test_healthy_disks_read_as_the_simulator_holds_them(
    recorders: tuple[FaultControl, int], client: httpx.AsyncClient, device_id: str, vendor: str
) -> None:
    control, port = recorders
    result = await probe_vendor_http(target(control, port, device_id, vendor=vendor), client)
    assert result.status is ProbeStatus.OK, result.error
    held = control.device(device_id).disks
    assert [d.state for d in result.disks] == ["ok"] * len(held)
    for seen, disk in zip(result.disks, held, strict=True):  # MiB rounding on ISAPI, exact on Dahua
        assert abs((seen.capacity_bytes or 0) - disk.capacity_bytes) < 2 << 20
        assert abs((seen.free_bytes or 0) - (disk.capacity_bytes - disk.used_bytes)) < 2 << 20
    assert result.problems == []


@pytest.mark.parametrize(("device_id", "vendor"), PROBED)
async def test_failed_disk_is_reported_failed_and_recovers(
    recorders: tuple[FaultControl, int], client: httpx.AsyncClient, device_id: str, vendor: str
) -> None:
    control, port = recorders
    control.apply(FaultSpec(Fault.DISK_FAILED, 1, device=device_id))
    result = await probe_vendor_http(target(control, port, device_id, vendor=vendor), client)
    assert result.status is ProbeStatus.OK, result.error
    assert [d.state for d in result.disks] == ["ok", "failed"] + ["ok"] * (len(result.disks) - 2)
    assert len(result.problems) == 1 and "failed" in result.problems[0]
    control.clear(control.device(device_id))
    again = await probe_vendor_http(target(control, port, device_id, vendor=vendor), client)
    assert {d.state for d in again.disks} == {"ok"}


@pytest.mark.parametrize(("device_id", "vendor"), PROBED)
async def test_full_disks_are_reported_full(
    recorders: tuple[FaultControl, int], client: httpx.AsyncClient, device_id: str, vendor: str
) -> None:
    control, port = recorders
    control.apply(FaultSpec(Fault.DISK_FULL, device=device_id))
    result = await probe_vendor_http(target(control, port, device_id, vendor=vendor), client)
    assert {d.state for d in result.disks} == {"full"}
    assert all(d.free_bytes == 0 and (d.capacity_bytes or 0) >= 2 * 1024 * GIB for d in result.disks)


async def test_wrong_password_and_changed_password_are_auth_failures(
    recorders: tuple[FaultControl, int], client: httpx.AsyncClient
) -> None:
    control, port = recorders
    wrong = await probe_vendor_http(target(control, port, "nvr-hik", password="not-it"), client)
    assert wrong.status is ProbeStatus.AUTH_FAILED
    control.apply(FaultSpec(Fault.WRONG_PASSWORD, device="nvr-dahua"))
    changed = await probe_vendor_http(target(control, port, "nvr-dahua"), client)
    assert changed.status is ProbeStatus.AUTH_FAILED


async def test_each_recorder_answers_only_its_firmware_api(
    recorders: tuple[FaultControl, int], client: httpx.AsyncClient
) -> None:
    control, port = recorders
    as_dahua = await probe_vendor_http(target(control, port, "nvr-hik", vendor="dahua"), client)
    as_hikvision = await probe_vendor_http(target(control, port, "nvr-kbvision", vendor="hikvision"), client)
    camera = await probe_vendor_http(target(control, port, "cam-hik"), client)
    assert [r.status for r in (as_dahua, as_hikvision, camera)] == [ProbeStatus.NOT_SUPPORTED] * 3


async def test_dahua_needs_its_action(recorders: tuple[FaultControl, int], client: httpx.AsyncClient) -> None:
    control, port = recorders
    host = control.device("nvr-dahua").device.host
    auth = httpx.DigestAuth(DEMO_USERNAME, DEMO_PASSWORD.get_secret_value())
    answer = await client.get(f"http://{host}:{port}/cgi-bin/storageDevice.cgi?action=factoryReset", auth=auth)
    assert answer.status_code == 404
