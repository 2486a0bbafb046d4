"""ONVIF answers that are not what was asked: never "ok", never a crash (issue 14, items 10 and 16).

A small loopback device answers every operation properly except one, which gets the broken
reply; the probe must end `protocol_error` naming what was wrong, whichever call it hit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
from pydantic import SecretStr

from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import OnvifResult, probe_onvif
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from tests.probes.hostile_http import soap_device

ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
            'xmlns:tt="http://www.onvif.org/ver10/schema"><env:Body>{}</env:Body></env:Envelope>')
GOOD = {
    "GetSystemDateAndTime": "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
                            "<tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>10</tt:Hour>"
                            "<tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year>"
                            "<tt:Month>1</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
                            "</tds:GetSystemDateAndTimeResponse>",
    "GetDeviceInformation": "<tds:GetDeviceInformationResponse><tds:Manufacturer>Acme</tds:Manufacturer><tds:Model>C1</tds:Model>"
                            "<tds:FirmwareVersion>1.0</tds:FirmwareVersion><tds:SerialNumber>S1</tds:SerialNumber>"
                            "<tds:HardwareId>H1</tds:HardwareId></tds:GetDeviceInformationResponse>",
    "GetServices": "<tds:GetServicesResponse><tds:Service><tds:Namespace>http://www.onvif.org/ver10/media/wsdl</tds:Namespace>"
                   "<tds:XAddr>http://10.0.0.9/onvif/media_service</tds:XAddr><tds:Version><tt:Major>2</tt:Major>"
                   "<tt:Minor>0</tt:Minor></tds:Version></tds:Service></tds:GetServicesResponse>",
    "GetCapabilities": "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>http://10.0.0.9/onvif/media_service"
                       "</tt:XAddr><tt:StreamingCapabilities/></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>",
    "GetProfiles": '<trt:GetProfilesResponse><trt:Profiles token="p1" fixed="true"><tt:Name>main</tt:Name></trt:Profiles>'
                   "</trt:GetProfilesResponse>",
    "GetStreamUri": "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>rtsp://10.0.0.9/main</tt:Uri>"
                    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                    "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>",
    "GetSnapshotUri": "<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>http://10.0.0.9/snap.jpg</tt:Uri>"
                      "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                      "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>",
}
OPERATIONS = [op for op in GOOD if op not in ("GetServices", "GetCapabilities")]  # those two: see below
BROKEN: dict[str, Callable[[str], str]] = {
    # XML that does not parse: a truncated answer, an unclosed element, stray text, no root
    "truncated": lambda op: ENVELOPE.format(GOOD[op])[:-40],
    "unclosed-element": lambda op: ENVELOPE.format(GOOD[op].replace("</tds:Manufacturer>", "").replace("</tt:Uri>", "")
                                                     .replace("</tt:Year>", "").replace("</tt:Name>", "")
                                                     .replace("</tds:Namespace>", "").replace("</tt:XAddr>", "")),
    "text-after-root": lambda op: ENVELOPE.format(GOOD[op]) + "trailing garbage <",
    # Well-formed SOAP, but not the answer to the question asked
    "wrong-element": lambda op: ENVELOPE.format(GOOD["GetSnapshotUri" if op != "GetSnapshotUri" else "GetSystemDateAndTime"]),
    "empty-body-element": lambda op: ENVELOPE.format(""),
    "no-soap-envelope": lambda op: GOOD[op].replace("tds:", "").replace("trt:", "").replace("tt:", ""),
    # Nothing at all
    "empty-reply": lambda op: "",
}


def operation_of(request: bytes) -> str:
    found = re.search(rb"<(?:\w+:)?([A-Z]\w+)\b", request.split(b"Body", 1)[-1])
    return found.group(1).decode() if found else ""


class Device:
    """Answers every operation well, except those in `broken`, which get their reply from it."""

    def __init__(self, broken: dict[str, str] | None = None) -> None:
        self.broken = broken or {}

    def answer(self, request: bytes) -> tuple[int, bytes]:
        op = operation_of(request)
        return 200, self.broken.get(op, ENVELOPE.format(GOOD.get(op, ""))).encode()


@pytest.fixture
async def clients() -> AsyncIterator[OnvifClients]:
    async with AsyncExitStack() as stack:
        yield await OnvifClients.start(stack)


async def probe_device(device: Device, clients: OnvifClients) -> OnvifResult:
    server = await asyncio.start_server(soap_device(device.answer), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with server:
            return await probe_onvif(Target(device_id="odd", host="127.0.0.1", onvif_port=port, timeout=3.0, kind="camera",
                                            credentials=Credentials("admin", SecretStr("pw"))), clients)
    finally:
        server.close()


async def test_the_well_behaved_fake_is_ok(clients: OnvifClients) -> None:
    """The baseline the broken cases differ from by one reply."""
    result = await probe_device(Device(), clients)
    assert result.ok, result.error
    assert result.identity is not None and (result.identity.manufacturer, result.identity.serial) == ("Acme", "S1")
    assert [(p.token, p.stream_uri, p.snapshot_uri) for p in result.profiles] == [
        ("p1", "rtsp://10.0.0.9/main", "http://10.0.0.9/snap.jpg")]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("kind", list(BROKEN))
async def test_a_broken_answer_is_a_protocol_error(kind: str, operation: str, clients: OnvifClients) -> None:
    result = await probe_device(Device({operation: BROKEN[kind](operation)}), clients)
    assert result.status is ProbeStatus.PROTOCOL_ERROR, (result.status, result.error)
    assert result.error.startswith(f"{operation}: "), result.error


@pytest.mark.parametrize("kind", list(BROKEN))
async def test_a_broken_service_list_falls_back_to_capabilities(kind: str, clients: OnvifClients) -> None:
    """Units whose GetServices is broken often answer GetCapabilities: the media service is still found."""
    result = await probe_device(Device({"GetServices": BROKEN[kind]("GetServices")}), clients)
    assert result.ok, result.error
    assert [p.stream_uri for p in result.profiles] == ["rtsp://10.0.0.9/main"]


@pytest.mark.parametrize("kind", list(BROKEN))
async def test_broken_service_list_and_capabilities_are_a_protocol_error(kind: str, clients: OnvifClients) -> None:
    result = await probe_device(Device({op: BROKEN[kind](op) for op in ("GetServices", "GetCapabilities")}), clients)
    assert result.status is ProbeStatus.PROTOCOL_ERROR, (result.status, result.error)
    assert result.error.startswith("GetCapabilities: "), result.error


async def test_trailing_nuls_are_tolerated(clients: OnvifClients) -> None:
    """Some firmwares pad replies with NUL bytes; the XML itself is fine."""
    result = await probe_device(Device({"GetDeviceInformation": ENVELOPE.format(GOOD["GetDeviceInformation"]) + "\0\0\n"}), clients)
    assert result.ok, result.error


async def test_a_closed_client_cancels_the_probe_instead_of_crashing() -> None:
    """`fleetmon run` stopping: clients closed under a probe in flight end it as cancelled, quietly."""
    answered = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            answered.set()
            await asyncio.sleep(5)
        finally:  # also when the test's loop ends first and cancels this handler
            writer.close()

    server = await asyncio.start_server(slow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, AsyncExitStack() as stack:
        clients = await OnvifClients.start(stack)
        probe = asyncio.create_task(probe_onvif(Target(device_id="x", host="127.0.0.1", onvif_port=port, timeout=10.0), clients))
        await answered.wait()
        await stack.aclose()  # what a stop does to the shared clients
        with pytest.raises(asyncio.CancelledError):
            await probe
        second = asyncio.create_task(probe_onvif(Target(device_id="y", host="127.0.0.1", onvif_port=port), clients))
        with pytest.raises(asyncio.CancelledError):
            await second
