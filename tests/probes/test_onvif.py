"""The ONVIF probe against the simulator: what it finds on healthy units and how each fault reads."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from pydantic import SecretStr

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.clock import correct_clock
from fleetmon.probes.onvif.probe import OnvifResult, probe_onvif
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import HttpSettings
from tests.peers import free_port

PASSWORD = "probe-secret-7"
INVENTORY = [
    Device(id="nvr-1", kind=DeviceKind.NVR, host="127.81.0.2", vendor="Hikvision", model="DS-7608NI",
           serial="HIK-NVR-1", firmware="V4.30"),
    Device(id="cam-1", kind=DeviceKind.CAMERA, host="127.81.0.3", vendor="Dahua", model="IPC-HFW1230S",
           serial="DH-1", firmware="V5.7.3", mac="aa:bb:cc:00:00:03", parent="nvr-1", rtsp_port=10554),
    Device(id="cam-2", kind=DeviceKind.CAMERA, host="127.81.0.4", parent="nvr-1"),
]


@pytest.fixture
def control() -> FaultControl:
    """The fleet, every device's ONVIF on one free port."""
    onvif_port = free_port()
    return FaultControl(Fleet.from_inventory(dataclasses.replace(d, onvif_port=onvif_port) for d in INVENTORY))


@pytest.fixture
def port(control: FaultControl) -> int:
    return control.device("cam-1").device.port("onvif_port")


@pytest.fixture
async def clients(control: FaultControl, port: int) -> AsyncIterator[OnvifClients]:
    runner = await start_http(control.fleet, port, HttpSettings(password=SecretStr(PASSWORD)))
    async with AsyncExitStack() as stack:
        yield await OnvifClients.start(stack)
    await runner.cleanup()


def target(host: str, port: int, password: str = PASSWORD, timeout: float = 2.0) -> Target:
    return Target(device_id=host, host=host, onvif_port=port, timeout=timeout,
                  credentials=Credentials(username="admin", password=SecretStr(password)))


async def test_a_healthy_camera(clients: OnvifClients, port: int) -> None:
    result = await probe_onvif(target("127.81.0.3", port), clients)
    assert isinstance(result, OnvifResult) and result.ok, result.error
    assert result.identity is not None
    assert (result.identity.manufacturer, result.identity.model, result.identity.firmware, result.identity.serial,
            result.identity.hardware_id) == ("Dahua", "IPC-HFW1230S", "V5.7.3", "DH-1", "aa:bb:cc:00:00:03")
    assert result.clock_skew_seconds is not None and abs(result.clock_skew_seconds) <= 1.5
    assert [p.name for p in result.profiles] == ["mainStream", "subStream"]
    assert all(p.stream_uri and p.stream_uri.startswith("rtsp://127.81.0.3:10554/") for p in result.profiles)
    assert result.profiles[0].snapshot_uri == f"http://127.81.0.3:{port}/onvif-snapshot/{result.profiles[0].token}"
    assert result.recordings is None  # a camera offers no recording search


async def test_a_recorder_reports_footage_per_channel(clients: OnvifClients, port: int) -> None:
    result = await probe_onvif(target("127.81.0.2", port), clients)
    assert result.ok, result.error
    assert result.recordings is not None
    assert sorted(r.channel for r in result.recordings) == ["cam-1", "cam-2"]
    now = dt.datetime.now(dt.UTC).timestamp()
    for recording in result.recordings:
        assert recording.status == "Recording"
        assert (recording.age_seconds(now) or 1e9) < 5
        assert (recording.horizon_days(now) or 0) > 7
    assert len(result.profiles) == 2


async def test_a_stopped_recorder_shows_hours_old_footage(clients: OnvifClients, port: int,
                                                          control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.RECORDING_STOPPED)
    result = await probe_onvif(target("127.81.0.2", port), clients)
    assert result.ok and result.recordings
    now = dt.datetime.now(dt.UTC).timestamp()
    assert all(r.status == "Stopped" and (r.age_seconds(now) or 0) > 3600 for r in result.recordings)


async def test_clock_skew_is_measured_and_logins_still_work(clients: OnvifClients, port: int,
                                                            control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.CLOCK_SKEW, -1800)
    result = await probe_onvif(target("127.81.0.3", port), clients)
    assert result.ok, result.error  # signed with the device's own clock
    assert result.clock_skew_seconds is not None and abs(result.clock_skew_seconds + 1800) <= 1.5
    assert result.identity is not None


@pytest.mark.parametrize("how", ["fault", "credentials"])
async def test_a_refused_login_is_auth_failed_and_keeps_the_clock(clients: OnvifClients, port: int,
                                                                   control: FaultControl, how: str) -> None:
    password = PASSWORD
    if how == "fault":
        control.set(control.device("cam-1"), Fault.WRONG_PASSWORD)
    else:
        password = "not-the-password"
    result = await probe_onvif(target("127.81.0.3", port, password), clients)
    assert result.status is ProbeStatus.AUTH_FAILED
    assert result.clock_skew_seconds is not None and result.identity is None
    assert PASSWORD not in repr(result) and password not in repr(result) + result.error


@pytest.mark.parametrize(("fault", "status"), [
    (Fault.OFFLINE, ProbeStatus.TIMEOUT), (Fault.HANG, ProbeStatus.TIMEOUT),
    (Fault.REFUSED, ProbeStatus.REFUSED), (Fault.PACKET_LOSS, ProbeStatus.TIMEOUT)])
async def test_transport_faults(clients: OnvifClients, port: int, control: FaultControl, fault: Fault,
                                status: ProbeStatus) -> None:
    control.set(control.device("cam-2"), fault, 100 if fault is Fault.PACKET_LOSS else None)
    await asyncio.sleep(0.6)  # the simulator's TCP faults follow the fleet twice a second
    result = await probe_onvif(target("127.81.0.4", port, timeout=1.0), clients)
    assert result.status is status, result.error
    assert result.duration_seconds < 1.5  # one timeout, not one per call
    assert (await probe_onvif(target("127.81.0.3", port), clients)).ok  # the port still serves the others


async def test_slow_device_within_and_beyond_the_timeout(clients: OnvifClients, port: int,
                                                         control: FaultControl) -> None:
    control.set(control.device("cam-2"), Fault.SLOW, 0.1)
    assert (await probe_onvif(target("127.81.0.4", port, timeout=0.15), clients)).status is ProbeStatus.TIMEOUT
    assert (await probe_onvif(target("127.81.0.4", port, timeout=5.0), clients)).ok


async def test_no_onvif_at_the_address_or_port(clients: OnvifClients, port: int) -> None:
    assert (await probe_onvif(target("127.81.0.99", port), clients)).status is ProbeStatus.NOT_SUPPORTED
    assert (await probe_onvif(target("127.81.0.3", free_port()), clients)).status is ProbeStatus.REFUSED


@pytest.mark.parametrize("ntp_server", [None, "127.0.0.1"])
async def test_clock_correction_fixes_the_skew(clients: OnvifClients, port: int, control: FaultControl,
                                               ntp_server: str | None) -> None:
    control.set(control.device("cam-1"), Fault.CLOCK_SKEW, 900)
    done = await correct_clock(target("127.81.0.3", port), clients, ntp_server=ntp_server)
    assert done.corrected and done.method == ("ntp" if ntp_server else "manual")
    assert done.skew_before is not None and abs(done.skew_before - 900) <= 1.5
    assert done.skew_after is not None and abs(done.skew_after) <= 1.5
    after = await probe_onvif(target("127.81.0.3", port), clients)
    assert after.clock_skew_seconds is not None and abs(after.clock_skew_seconds) <= 1.5


async def test_clock_correction_leaves_a_right_clock_alone_and_reports_a_refusal(
        clients: OnvifClients, port: int, control: FaultControl) -> None:
    untouched = await correct_clock(target("127.81.0.3", port), clients)
    assert untouched.status is ProbeStatus.OK
    assert untouched.method == "none" and not untouched.corrected
    control.set(control.device("cam-2"), Fault.CLOCK_SKEW, 300)
    control.set(control.device("cam-2"), Fault.WRONG_PASSWORD)
    refused = await correct_clock(target("127.81.0.4", port), clients)
    assert refused.status is ProbeStatus.AUTH_FAILED and not refused.corrected
    assert refused.skew_before is not None and abs(refused.skew_before - 300) <= 1.5
    assert Fault.CLOCK_SKEW in control.device("cam-2").faults
