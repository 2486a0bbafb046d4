"""The simulator's ONVIF side as a third-party client (onvif-zeep-async) sees it, fault by fault."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from pydantic import SecretStr

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import HttpSettings
from tests.peers import free_port

INVENTORY = [
    Device(id="nvr-1", kind=DeviceKind.NVR, host="127.78.0.2", vendor="Hikvision", model="DS-7616NI-K2",
           serial="HIN0000101", firmware="V4.30", rtsp_port=10554),
    Device(id="cam-1", kind=DeviceKind.CAMERA, host="127.78.0.3", vendor="Dahua", model="IPC-HFW1230S",
           firmware="V5.7.3", serial="DH123", mac="aa:bb:cc:00:00:03", parent="nvr-1", rtsp_port=10554),
    Device(id="cam-2", kind=DeviceKind.CAMERA, host="127.78.0.4", vendor="Dahua", model="IPC-HFW1230S",
           parent="nvr-1", rtsp_port=10554),
]
PASSWORD = "sim-secret-9"
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


@pytest.fixture
def control() -> FaultControl:
    return FaultControl(Fleet.from_inventory(INVENTORY))


@pytest.fixture
async def port(control: FaultControl) -> AsyncIterator[int]:
    """The port of a web server for the fleet, whose login is operator / PASSWORD."""
    chosen = free_port()
    runner = await start_http(control.fleet, chosen, HttpSettings(username="operator", password=SecretStr(PASSWORD)))
    yield chosen
    await runner.cleanup()


async def camera(host: str, port: int, *, password: str = PASSWORD, adjust_time: bool = False,
                 encrypt: bool = True) -> ONVIFCamera:
    cam = ONVIFCamera(host, port, "operator", password, encrypt=encrypt, no_cache=True, adjust_time=adjust_time)
    await cam.update_xaddrs()
    return cam


def utc(value: Any) -> dt.datetime:
    d, t = value.UTCDateTime.Date, value.UTCDateTime.Time
    return dt.datetime(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, tzinfo=dt.UTC)


async def test_camera_identity_time_profiles_and_uris(port: int) -> None:
    cam = await camera("127.78.0.3", port)
    try:
        device = await cam.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        assert (info.Manufacturer, info.Model, info.FirmwareVersion, info.SerialNumber, info.HardwareId) == (
            "Dahua", "IPC-HFW1230S", "V5.7.3", "DH123", "aa:bb:cc:00:00:03")
        clock = utc(await device.GetSystemDateAndTime())
        assert abs((clock - dt.datetime.now(dt.UTC)).total_seconds()) < 2
        media = await cam.create_media_service()
        profiles = await media.GetProfiles()
        assert [p.Name for p in profiles] == ["mainStream", "subStream"]
        stream = await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profiles[0].token})
        assert stream.Uri.startswith("rtsp://127.78.0.3:10554/")
        snapshot = await media.GetSnapshotUri({"ProfileToken": profiles[1].token})
        assert snapshot.Uri == f"http://127.78.0.3:{port}/onvif-snapshot/{profiles[1].token}"
    finally:
        await cam.close()


async def test_nvr_has_a_profile_and_a_recording_per_camera(port: int) -> None:
    cam = await camera("127.78.0.2", port)
    try:
        assert (await (await cam.create_devicemgmt_service()).GetDeviceInformation()).SerialNumber == "HIN0000101"
        assert len(await (await cam.create_media_service()).GetProfiles()) == 2
        search = await cam.create_search_service()
        token = await search.FindRecordings({"Scope": {}, "KeepAliveTime": "PT10S"})
        results = await search.GetRecordingSearchResults({"SearchToken": token, "WaitTime": "PT1S"})
        now = dt.datetime.now(dt.UTC)
        assert sorted(r.Source.SourceId for r in results.RecordingInformation) == ["cam-1", "cam-2"]
        for recording in results.RecordingInformation:
            assert recording.RecordingStatus == "Recording"
            assert (now - recording.LatestRecording).total_seconds() < 5
            assert (now - recording.EarliestRecording).days >= 7
    finally:
        await cam.close()


async def test_a_camera_has_no_search_service(port: int) -> None:
    cam = await camera("127.78.0.3", port)
    try:
        with pytest.raises(Exception, match="search"):
            await cam.create_search_service()
    finally:
        await cam.close()


async def test_password_text_is_accepted_and_a_wrong_password_is_not(port: int) -> None:
    cam = await camera("127.78.0.3", port, encrypt=False)
    try:
        assert (await (await cam.create_devicemgmt_service()).GetDeviceInformation()).Model == "IPC-HFW1230S"
    finally:
        await cam.close()
    cam = await camera("127.78.0.3", port, password="guess")
    try:
        with pytest.raises(zeep.exceptions.Fault) as raised:
            await (await cam.create_devicemgmt_service()).GetDeviceInformation()
        assert any(code.localname == "NotAuthorized" for code in raised.value.subcodes)
    finally:
        await cam.close()


async def test_wrong_password_fault_refuses_every_login_but_not_the_time(port: int, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.WRONG_PASSWORD)
    cam = await camera("127.78.0.3", port)
    try:
        device = await cam.create_devicemgmt_service()
        assert utc(await device.GetSystemDateAndTime()).year >= 2024
        with pytest.raises(zeep.exceptions.Fault, match="not authorized"):
            await device.GetDeviceInformation()
        with pytest.raises(zeep.exceptions.Fault, match="not authorized"):
            await (await cam.create_media_service()).GetProfiles()
    finally:
        await cam.close()


async def test_clock_skew_shows_and_breaks_logins_not_signed_with_the_device_time(
        port: int, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.CLOCK_SKEW, 900)
    naive = await camera("127.78.0.3", port)
    try:
        device = await naive.create_devicemgmt_service()
        skew = (utc(await device.GetSystemDateAndTime()) - dt.datetime.now(dt.UTC)).total_seconds()
        assert 897 <= skew <= 902
        with pytest.raises(zeep.exceptions.Fault, match="not authorized"):
            await device.GetDeviceInformation()
    finally:
        await naive.close()
    adjusted = await camera("127.78.0.3", port, adjust_time=True)
    try:
        assert (await (await adjusted.create_devicemgmt_service()).GetDeviceInformation()).Manufacturer == "Dahua"
    finally:
        await adjusted.close()


async def test_setting_the_clock_or_ntp_corrects_the_skew(port: int, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.CLOCK_SKEW, -3600)
    control.set(control.device("cam-2"), Fault.CLOCK_SKEW, 700)
    cam = await camera("127.78.0.3", port, adjust_time=True)
    try:
        device = await cam.create_devicemgmt_service()
        now = dt.datetime.now(dt.UTC)
        await device.SetSystemDateAndTime({
            "DateTimeType": "Manual", "DaylightSavings": False, "TimeZone": {"TZ": "UTC0"},
            "UTCDateTime": {"Date": {"Year": now.year, "Month": now.month, "Day": now.day},
                            "Time": {"Hour": now.hour, "Minute": now.minute, "Second": now.second}}})
        skew = (utc(await device.GetSystemDateAndTime()) - dt.datetime.now(dt.UTC)).total_seconds()
        assert abs(skew) <= 2
    finally:
        await cam.close()
    cam = await camera("127.78.0.4", port, adjust_time=True)
    try:
        device = await cam.create_devicemgmt_service()
        await device.SetNTP({"FromDHCP": False, "NTPManual": [{"Type": "IPv4", "IPv4Address": "127.0.0.1"}]})
        await device.SetSystemDateAndTime({"DateTimeType": "NTP", "DaylightSavings": False})
        answer = await device.GetSystemDateAndTime()
        assert answer.DateTimeType == "NTP"
        assert abs((utc(answer) - dt.datetime.now(dt.UTC)).total_seconds()) <= 2
    finally:
        await cam.close()
    cam = await camera("127.78.0.4", port)  # signs with our clock, which is the device's again
    try:
        assert (await (await cam.create_devicemgmt_service()).GetNTP()).NTPManual[0].IPv4Address == "127.0.0.1"
    finally:
        await cam.close()
    assert Fault.CLOCK_SKEW not in control.device("cam-1").faults | control.device("cam-2").faults


async def recordings(port: int) -> list[Any]:
    cam = await camera("127.78.0.2", port)
    try:
        search = await cam.create_search_service()
        token = await search.FindRecordings({"Scope": {}, "KeepAliveTime": "PT10S"})
        return list((await search.GetRecordingSearchResults({"SearchToken": token})).RecordingInformation)
    finally:
        await cam.close()


async def test_recording_stopped_freezes_the_latest_recording_hours_back(port: int, control: FaultControl) -> None:
    control.set(control.device("nvr-1"), Fault.RECORDING_STOPPED)
    first = await recordings(port)
    await asyncio.sleep(1.1)
    second = await recordings(port)
    now = dt.datetime.now(dt.UTC)
    for before, after in zip(first, second, strict=True):
        assert after.RecordingStatus == "Stopped"
        assert after.LatestRecording == before.LatestRecording  # not advancing
        assert (now - after.LatestRecording).total_seconds() > 3600
    control.clear(control.device("nvr-1"))
    assert all((now - r.LatestRecording).total_seconds() < 5 for r in await recordings(port))


async def test_a_full_disk_holds_only_days_of_footage(port: int, control: FaultControl) -> None:
    healthy = await recordings(port)
    control.set(control.device("nvr-1"), Fault.DISK_FULL)
    full = await recordings(port)
    now = dt.datetime.now(dt.UTC)
    assert all((now - r.EarliestRecording).days >= 7 for r in healthy)
    assert all((now - r.EarliestRecording).days <= 2 for r in full)


async def test_hostile_requests_get_soap_faults_not_expansion(port: int) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&lol2;</env:Body></env:Envelope>')
    async with aiohttp.ClientSession() as session:
        for body in (bomb, b"<not-closed", b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'/>"):
            async with session.post(f"http://127.78.0.3:{port}/onvif/device_service", data=body) as response:
                assert response.status == 400
                assert b"env:Fault" in await response.read()
        unknown = (b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'><env:Body>"
                   b"<x:Reboot xmlns:x='http://www.onvif.org/ver10/device/wsdl'/></env:Body></env:Envelope>")
        async with session.post(f"http://127.78.0.3:{port}/onvif/device_service", data=unknown) as response:
            assert response.status == 500
            assert b"ActionNotSupported" in await response.read()
        async with session.post(f"http://127.78.0.99:{port}/onvif/device_service", data=unknown) as response:
            assert response.status == 404  # no device at that address
