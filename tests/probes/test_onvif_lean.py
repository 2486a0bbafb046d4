"""The lean SOAP path reads every answer as zeep does (issue 15, part 3).

Both paths probe the same peers in the same test and must find the same: the simulator's units
healthy and faulty, and a loopback device answering as vendors do (other prefixes, default
namespaces, extra elements, time zone forms, no UTC time, empty fields, odd xs:dateTime forms,
paged recording searches, SOAP faults). The third-party ipycam camera is in
`tests/thirdparty/test_onvif_lean.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from lxml import etree
from pydantic import SecretStr

from fleetmon.probes.onvif.client import DeviceSession, OnvifCallError, OnvifClients
from fleetmon.probes.onvif.probe import OnvifResult, identity_of, probe_onvif
from fleetmon.probes.onvif.recording import find_recordings
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import HttpSettings
from tests.peers import free_port
from tests.probes.hostile_http import soap_device
from tests.probes.test_onvif import INVENTORY, PASSWORD, target


@pytest.fixture
async def both() -> AsyncIterator[tuple[OnvifClients, OnvifClients]]:
    """The lean path and zeep's, side by side."""
    async with AsyncExitStack() as stack:
        yield await OnvifClients.start(stack, lean=True), await OnvifClients.start(stack, lean=False)


def same(lean: OnvifResult, zeep: OnvifResult) -> None:
    """Equal findings; clocks and footage times within the second the two exchanges lie apart."""
    assert (lean.status, lean.error.split(":")[0]) == (zeep.status, zeep.error.split(":")[0]), (lean.error, zeep.error)
    assert lean.identity == zeep.identity
    assert lean.profiles == zeep.profiles
    assert (lean.clock_skew_seconds is None) == (zeep.clock_skew_seconds is None)
    if lean.clock_skew_seconds is not None and zeep.clock_skew_seconds is not None:
        assert abs(lean.clock_skew_seconds - zeep.clock_skew_seconds) < 1.5
    assert (lean.recordings is None) == (zeep.recordings is None)
    for ours, theirs in zip(lean.recordings or [], zeep.recordings or [], strict=True):
        assert dataclasses.replace(ours, earliest=None, latest=None) == dataclasses.replace(theirs, earliest=None, latest=None)
        for a, b in ((ours.earliest, theirs.earliest), (ours.latest, theirs.latest)):
            assert (a is None) == (b is None) and abs((a or 0) - (b or 0)) < 2


# -- the simulator ------------------------------------------------------------------------------

@pytest.fixture
async def simulator() -> AsyncIterator[tuple[FaultControl, int]]:
    port = free_port()
    control = FaultControl(Fleet.from_inventory(dataclasses.replace(d, onvif_port=port) for d in INVENTORY))
    runner = await start_http(control.fleet, port, HttpSettings(password=SecretStr(PASSWORD)))
    yield control, port
    await runner.cleanup()


RECORDER_FAULTS = (Fault.RECORDING_STOPPED, Fault.DISK_FULL)


@pytest.mark.parametrize("fault", [None, Fault.CLOCK_SKEW, Fault.WRONG_PASSWORD, Fault.RECORDING_STOPPED, Fault.DISK_FULL])
@pytest.mark.parametrize("media", [True, False], ids=["first-sweep", "steady-state"])
async def test_the_simulator_reads_the_same(both: tuple[OnvifClients, OnvifClients], simulator: tuple[FaultControl, int],
                                            fault: Fault | None, media: bool) -> None:
    control, port = simulator
    for device in INVENTORY:
        recorder = device.kind.value == "nvr"
        if fault is not None and (recorder or fault not in RECORDER_FAULTS):
            control.set(control.device(device.id), fault)
        lean, zeep = [await probe_onvif(target(device.host, port), clients, media=media) for clients in both]
        same(lean, zeep)
        assert lean.ok or fault is Fault.WRONG_PASSWORD, lean.error
        assert (lean.recordings is not None) == (recorder and lean.ok)


async def test_an_address_without_onvif_reads_the_same(both: tuple[OnvifClients, OnvifClients],
                                                       simulator: tuple[FaultControl, int]) -> None:
    _, port = simulator
    for host, on in (("127.81.0.99", port), ("127.81.0.3", free_port())):
        lean, zeep = [await probe_onvif(target(host, on), clients, media=False) for clients in both]
        same(lean, zeep)
        assert lean.status in (ProbeStatus.NOT_SUPPORTED, ProbeStatus.REFUSED)


# -- a device answering as vendors do --------------------------------------------------------------

S12 = "http://www.w3.org/2003/05/soap-envelope"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
TDS, TSE, TT = "http://www.onvif.org/ver10/device/wsdl", "http://www.onvif.org/ver10/search/wsdl", "http://www.onvif.org/ver10/schema"


def envelope(body: str, env: str = "SOAP-ENV", soap: str = S12, head: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{env}:Envelope xmlns:{env}="{soap}" xmlns:tds="{TDS}" '
            f'xmlns:tse="{TSE}" xmlns:tt="{TT}" xmlns:ns1="{TDS}" xmlns:ns2="{TT}">{head}<{env}:Body>{body}'
            f"</{env}:Body></{env}:Envelope>")


def date_time(date_first: bool = False, p: str = "tt", year: str = "2026", month: str = "3") -> str:
    date = f"<{p}:Date><{p}:Year>{year}</{p}:Year><{p}:Month>{month}</{p}:Month><{p}:Day>9</{p}:Day></{p}:Date>"
    clock = f"<{p}:Time><{p}:Hour>7</{p}:Hour><{p}:Minute>5</{p}:Minute><{p}:Second>3</{p}:Second></{p}:Time>"
    return date + clock if date_first else clock + date


def clock(utc: str | None = None, zone: str = "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>", local: bool = True,
          extra: str = "", kind: str = "Manual") -> str:
    utc_part = f"<tt:UTCDateTime>{date_time() if utc is None else utc}</tt:UTCDateTime>" if utc != "" else ""
    local_part = f"<tt:LocalDateTime>{date_time()}</tt:LocalDateTime>" if local else ""
    return (f"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>{kind}</tt:DateTimeType>"
            f"<tt:DaylightSavings>false</tt:DaylightSavings>{zone}{utc_part}{local_part}{extra}"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")


def information(p: str = "tds", **fields: str | None) -> str:
    values = {"Manufacturer": "Hikvision", "Model": "DS-2CD2043G2-I", "FirmwareVersion": "V5.7.3 build 220112",
              "SerialNumber": "DS-2CD2043G2-I20220101AAWRJ12345678", "HardwareId": "88"} | fields
    parts = "".join(f"<{p}:{k}/>" if v == "" else f"<{p}:{k}>{v}</{p}:{k}>" for k, v in values.items() if v is not None)
    return f"<{p}:GetDeviceInformationResponse>{parts}</{p}:GetDeviceInformationResponse>"


def recording(token: str, earliest: str | None, latest: str | None, source: str | None = "<tt:SourceId>ch1</tt:SourceId>"
              "<tt:Name>Gate</tt:Name><tt:Location/><tt:Description/><tt:Address>rtsp://x/1</tt:Address>",
              status: str | None = "Recording") -> str:
    return ("<tt:RecordingInformation>"
            f"<tt:RecordingToken>{token}</tt:RecordingToken>"
            + (f"<tt:Source>{source}</tt:Source>" if source is not None else "")
            + (f"<tt:EarliestRecording>{earliest}</tt:EarliestRecording>" if earliest is not None else "")
            + (f"<tt:LatestRecording>{latest}</tt:LatestRecording>" if latest is not None else "")
            + '<tt:Content/><tt:Track><tt:TrackToken>VIDEO001</tt:TrackToken><tt:TrackType>Video</tt:TrackType>'
            "<tt:Description/></tt:Track>"
            + (f"<tt:RecordingStatus>{status}</tt:RecordingStatus>" if status is not None else "")
            + "</tt:RecordingInformation>")


def results(*items: str, state: str | None = "Completed") -> str:
    state_part = f"<tt:SearchState>{state}</tt:SearchState>" if state is not None else ""
    return (f"<tse:GetRecordingSearchResultsResponse><tse:ResultList>{state_part}{''.join(items)}</tse:ResultList>"
            "</tse:GetRecordingSearchResultsResponse>")


FOUND = "<tse:FindRecordingsResponse><tse:SearchToken>search-1</tse:SearchToken></tse:FindRecordingsResponse>"
ENDED = "<tse:EndSearchResponse><tse:Endpoint>PT0S</tse:Endpoint></tse:EndSearchResponse>"


def fault(subcode: str, reason: str = "Sender not authorized", soap: str = S12) -> str:
    if soap == S11:
        return f"<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>{reason}</faultstring></SOAP-ENV:Fault>"
    return (f'<SOAP-ENV:Fault xmlns:ter="http://www.onvif.org/ver10/error"><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender'
            f"</SOAP-ENV:Value><SOAP-ENV:Subcode><SOAP-ENV:Value>{subcode}</SOAP-ENV:Value></SOAP-ENV:Subcode>"
            f'</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">{reason}</SOAP-ENV:Text></SOAP-ENV:Reason>'
            "</SOAP-ENV:Fault>")


Reply = tuple[int, str]  # HTTP status, body


class Vendor:
    """Answers each operation with the next of its replies (the last one repeats)."""

    def __init__(self, replies: dict[str, list[Reply]]) -> None:
        self.replies = replies

    def reply(self, operation: str) -> Reply:
        queue = self.replies.get(operation) or [(404, "Not Found")]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def answer(self, request: bytes) -> tuple[int, bytes]:
        body = etree.fromstring(request).find(f"{{{S12}}}Body")
        status, reply = self.reply(etree.QName(body[0]).localname if body is not None else "")
        return status, reply.encode()


async def read(clients: OnvifClients, port: int) -> list[Any]:
    """What each steady-state call reads: clock, identity, recordings (or the error each ends in)."""
    session = DeviceSession(clients, Target(device_id="v", host="127.0.0.1", onvif_port=port, timeout=3.0,
                                            credentials=Credentials("admin", SecretStr("pw"))))
    session.xaddrs["search"] = f"http://127.0.0.1:{port}/onvif/search_service"
    found: list[Any] = []
    for step in (session.read_clock, lambda: identity_of(session), lambda: find_recordings(session)):
        try:
            found.append(await step())
        except OnvifCallError as exc:
            found.append((exc.status, str(exc).split(":")[0]))
    return found


async def read_both(replies: dict[str, list[Reply]], both: tuple[OnvifClients, OnvifClients]) -> list[list[Any]]:
    readings = []
    for clients in both:
        server = await asyncio.start_server(soap_device(Vendor({k: list(v) for k, v in replies.items()}).answer), "127.0.0.1", 0)
        async with server:
            readings.append(await read(clients, server.sockets[0].getsockname()[1]))
    return readings


def ok(body: str, **how: str) -> list[Reply]:
    return [(200, envelope(body, **how))]


TYPICAL = {"GetSystemDateAndTime": ok(clock()), "GetDeviceInformation": ok(information()),
           "FindRecordings": ok(FOUND), "EndSearch": ok(ENDED),
           "GetRecordingSearchResults": ok(results(recording("R1", "2026-01-01T00:00:00Z", "2026-03-09T07:05:00Z")))}
VARIANTS: dict[str, dict[str, list[Reply]]] = {
    "typical": {},
    "other-prefixes": {"GetSystemDateAndTime": ok(clock(utc=date_time(p="ns2")).replace("tds:", "ns1:"), env="s"),
                       "GetDeviceInformation": ok(information(p="ns1"), env="env")},
    "default-namespaces": {"GetDeviceInformation": ok(information(p="x").replace("<x:", "<").replace("</x:", "</")
                                                      .replace("<GetDeviceInformationResponse>",
                                                               f'<GetDeviceInformationResponse xmlns="{TDS}">'))},
    "pretty-printed": {"GetDeviceInformation": ok(information().replace("><", ">\n  <"))},
    "header-and-extras": {"GetSystemDateAndTime": ok(clock(extra="<tt:Extension><tt:Vendor>x</tt:Vendor></tt:Extension>"),
                                                     head='<SOAP-ENV:Header><wsa:Action xmlns:wsa="http://www.w3.org/2005/08/'
                                                     'addressing">x</wsa:Action></SOAP-ENV:Header>'),
                          "GetDeviceInformation": ok(information().replace("</tds:GetDeviceInformationResponse>",
                                                                           "<tds:Extra>1</tds:Extra>"
                                                                           "</tds:GetDeviceInformationResponse>"))},
    "posix-time-zone": {"GetSystemDateAndTime": ok(clock(zone="<tt:TimeZone><tt:TZ>ICT-7</tt:TZ></tt:TimeZone>"))},
    "gmt-time-zone": {"GetSystemDateAndTime": ok(clock(zone="<tt:TimeZone><tt:TZ>GMT+07:00</tt:TZ></tt:TimeZone>",
                                                       kind="NTP"))},
    "no-time-zone": {"GetSystemDateAndTime": ok(clock(zone=""))},
    "local-time-only": {"GetSystemDateAndTime": ok(clock(utc=""))},
    "utc-only": {"GetSystemDateAndTime": ok(clock(local=False))},
    "impossible-date": {"GetSystemDateAndTime": ok(clock(utc=date_time(month="13")))},
    "empty-year": {"GetSystemDateAndTime": ok(clock(utc=date_time(year="")))},
    "empty-firmware-and-serial": {"GetDeviceInformation": ok(information(FirmwareVersion="", SerialNumber=""))},
    "missing-hardware-id": {"GetDeviceInformation": ok(information(HardwareId=None))},
    "padded-and-escaped": {"GetDeviceInformation": ok(information(Manufacturer="  Bosch &amp; Co\n",
                                                                  Model="<![CDATA[FLEXIDOME <IP>]]>",
                                                                  SerialNumber="Camera Việt Nam"))},
    "nul-padded": {"GetDeviceInformation": [(200, envelope(information()) + "\0\0\n")]},
    "recording-time-forms": {"GetRecordingSearchResults": ok(results(
        recording("R1", "2026-01-01T00:00:00+07:00", "2026-03-09T07:05:00.1234567Z"),
        recording("R2", "2026-01-01T00:00:00", "2026-03-09T07:05:00.5+0700"),
        recording("R3", "2026-01-01", "yesterday"),
        recording("R4", None, None, source="<tt:SourceId/><tt:Name>Back door</tt:Name>", status=None),
        recording("R5", "2026-01-01T00:00:00Z", "", source=None, status="Stopped")))},
    "paged-search": {"GetRecordingSearchResults": [
        (200, envelope(results(recording("R1", "2026-01-01T00:00:00Z", "2026-03-09T07:05:00Z"), state="Searching"))),
        (200, envelope(results(state="Searching"))),
        (200, envelope(results(recording("R2", "2026-02-01T00:00:00Z", "2026-03-09T07:05:00Z"))))]},
    "no-search-state": {"GetRecordingSearchResults": [(200, envelope(results(recording("R1", None, None), state=None)))]},
    "no-result-list": {"GetRecordingSearchResults": ok("<tse:GetRecordingSearchResultsResponse/>")},
    "end-search-refused": {"EndSearch": [(500, envelope(fault("ter:InvalidArgVal", "no such search")))]},
    "fault-not-authorized": {"GetDeviceInformation": [(400, envelope(fault("ter:NotAuthorized")))]},
    "fault-at-http-200": {"GetDeviceInformation": ok(fault("ter:NotAuthorized"))},
    "fault-action-not-supported": {"FindRecordings": [(500, envelope(fault("ter:ActionNotSupported", "no search")))]},
    "fault-other": {"GetSystemDateAndTime": [(500, envelope(fault("ter:InvalidArgVal", "bad")))]},
    "fault-unknown-prefix": {"GetDeviceInformation": [(500, envelope(fault("nope:NotAuthorized")))]},
    "soap-1.1-answer": {"GetDeviceInformation": ok(information(), soap=S11)},
    "soap-1.1-fault": {"GetDeviceInformation": [(500, envelope(fault("", soap=S11), soap=S11))]},
    "http-500-without-fault": {"GetDeviceInformation": [(500, envelope(information()))]},
    "wrong-answer": {"GetDeviceInformation": ok(clock())},
    "answer-in-another-namespace": {"GetDeviceInformation": ok(information().replace("<tds:GetDeviceInformationResponse>",
                                                                                    f'<tds:GetDeviceInformationResponse '
                                                                                    f'xmlns:tds="{TT}">'))},
    "fault-after-the-answer": {"GetDeviceInformation": ok(information() + fault("ter:NotAuthorized"))},
    "login-needed-for-the-clock": {"GetSystemDateAndTime": [(401, "Unauthorized"), (200, envelope(clock()))]},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_vendor_answers_read_the_same(variant: str, both: tuple[OnvifClients, OnvifClients]) -> None:
    lean, zeep = await read_both(TYPICAL | VARIANTS[variant], both)
    if isinstance(lean[0], float) and isinstance(zeep[0], float):  # clock skews, taken a moment apart
        assert abs(lean[0] - zeep[0]) < 1.5
    else:
        assert lean[0] == zeep[0]
    assert lean[1:] == zeep[1:]


async def test_the_typical_answers_are_read_in_full(both: tuple[OnvifClients, OnvifClients]) -> None:
    """The baseline the variants differ from: every field found (the comparison is not of two blanks)."""
    lean, _ = await read_both(TYPICAL, both)
    assert isinstance(lean[0], float)
    assert lean[1].serial == "DS-2CD2043G2-I20220101AAWRJ12345678" and lean[1].firmware == "V5.7.3 build 220112"
    assert [(r.token, r.channel, r.status) for r in lean[2]] == [("R1", "ch1", "Recording")]
    assert lean[2][0].earliest == 1767225600.0


async def test_out_of_schema_order_the_lean_path_reads_what_zeep_drops(both: tuple[OnvifClients, OnvifClients]) -> None:
    """Date before Time breaks the schema's order: zeep loses the time of day and with it the clock."""
    lean, zeep = await read_both(TYPICAL | {"GetSystemDateAndTime": ok(clock(utc=date_time(date_first=True)))}, both)
    assert isinstance(lean[0], float)
    assert zeep[0] is None
