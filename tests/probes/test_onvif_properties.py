"""Properties of the ONVIF answer parsers over any answer a device can give (issue 14, "prove the rest").

A loopback device (the one of `test_onvif_malformed`) answers the clock, identity and recording
search with arbitrary text in every field, arbitrary XML in place of the answer, and dates no
calendar has (month 13, second 60, year 99999, odd zones). The probe ends `ok` with a finite clock
skew or none, an identity of short printable text and recordings with finite times, or
`protocol_error` naming the operation: never an exception.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import SimpleNamespace
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from fleetmon.probes.onvif.client import OnvifClients, utc_timestamp
from fleetmon.probes.onvif.probe import OnvifResult, probe_onvif
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from fleetmon.probes.text import MAX_TEXT
from tests.probes.hostile_http import soap_device
from tests.probes.test_onvif_malformed import ENVELOPE, Device

SEARCH = ('<tse:{0} xmlns:tse="http://www.onvif.org/ver10/search/wsdl" '
          'xmlns:tt="http://www.onvif.org/ver10/schema">{1}</tse:{0}>')
SERVICES = ("<tds:GetServicesResponse><tds:Service><tds:Namespace>http://www.onvif.org/ver10/search/wsdl</tds:Namespace>"
            "<tds:XAddr>http://10.0.0.9/onvif/search_service</tds:XAddr><tds:Version><tt:Major>2</tt:Major>"
            "<tt:Minor>0</tt:Minor></tds:Version></tds:Service></tds:GetServicesResponse>")

_TEXT = st.text(max_size=300).map(lambda t: escape("".join(c for c in t if c.isprintable() or c in "\t\n")))
_FIELD = st.integers(-(10**20), 10**20).map(str) | _TEXT | st.sampled_from(
    ["", "60", "13", "0", "-1", "29", "2147483648", "99999", "1e3", "  7 ", "NaN", "０"])
_DATETIME = st.one_of(
    st.builds("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}".format, st.integers(0, 99999), st.integers(0, 14),
              st.integers(0, 32), st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
              st.sampled_from(["Z", "", "+14:00", "-12:00", "+99:99", "+05:30", ".5Z", "UTC", " Asia/Ho_Chi_Minh"])),
    _TEXT,
    st.sampled_from(["2026-06-30T23:59:60Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "-0001-01-01T00:00:00Z"]),
)
# Arbitrary XML where the answer's parts should be: unknown elements, nesting, text.
_NAMES = st.sampled_from(["tt:Time", "tt:Date", "tt:Year", "tds:Model", "x", "tt:RecordingInformation", "tt:Source"])
_XML = st.recursive(_TEXT, lambda inner: st.builds("<{0}>{1}</{0}>".format, _NAMES, st.lists(inner, max_size=3).map("".join)),
                    max_leaves=8)


def _clock(f: list[str]) -> str:
    return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
            "<tt:DaylightSavings>false</tt:DaylightSavings>"
            f"<tt:TimeZone><tt:TZ>{f[6]}</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time><tt:Hour>{f[0]}</tt:Hour>"
            f"<tt:Minute>{f[1]}</tt:Minute><tt:Second>{f[2]}</tt:Second></tt:Time><tt:Date><tt:Year>{f[3]}</tt:Year>"
            f"<tt:Month>{f[4]}</tt:Month><tt:Day>{f[5]}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
            "</tds:GetSystemDateAndTimeResponse>")


def _identity(f: list[str]) -> str:
    names = ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")
    return f"<tds:GetDeviceInformationResponse>{''.join(f'<tds:{n}>{v}</tds:{n}>' for n, v in zip(names, f, strict=False))}" \
           "</tds:GetDeviceInformationResponse>"


def _results(items: list[tuple[str, str, str, str]]) -> str:
    return SEARCH.format("GetRecordingSearchResultsResponse", "<tse:ResultList><tt:SearchState>Completed</tt:SearchState>" + "".join(
        f"<tt:RecordingInformation><tt:RecordingToken>{token}</tt:RecordingToken><tt:Source><tt:SourceId>{token}</tt:SourceId>"
        "<tt:Name/><tt:Location/><tt:Description/><tt:Address/></tt:Source>"
        f"<tt:EarliestRecording>{earliest}</tt:EarliestRecording><tt:LatestRecording>{latest}</tt:LatestRecording>"
        f"<tt:Content/><tt:RecordingStatus>{status}</tt:RecordingStatus></tt:RecordingInformation>"
        for token, earliest, latest, status in items) + "</tse:ResultList>")


@st.composite
def _answers(draw: st.DrawFn) -> dict[str, str]:
    """The device's answers: each a well-formed one with arbitrary fields, or arbitrary XML in its place."""
    clock = _clock(draw(st.lists(_FIELD, min_size=7, max_size=7)))
    identity = _identity(draw(st.lists(_FIELD, min_size=0, max_size=5)))
    items = draw(st.lists(st.tuples(_TEXT, _DATETIME, _DATETIME, _TEXT), max_size=3))
    answers = {"GetSystemDateAndTime": clock, "GetDeviceInformation": identity, "GetServices": SERVICES,
               "FindRecordings": SEARCH.format("FindRecordingsResponse", f"<tse:SearchToken>{draw(_TEXT)}</tse:SearchToken>"),
               "GetRecordingSearchResults": _results(items), "EndSearch": SEARCH.format("EndSearchResponse", "")}
    for operation in draw(st.lists(st.sampled_from(sorted(answers)), max_size=2)):
        answers[operation] = draw(_XML)
    return {operation: ENVELOPE.format(answer) for operation, answer in answers.items()}


@dataclass
class Peer:
    runner: asyncio.Runner
    device: Device
    clients: OnvifClients
    port: int

    def probe(self, answers: dict[str, str]) -> OnvifResult:
        self.device.broken = answers
        target = Target(device_id="any", host="127.0.0.1", onvif_port=self.port, timeout=5.0, kind="nvr",
                        credentials=Credentials("admin", SecretStr("pw")))
        return self.runner.run(probe_onvif(target, self.clients, media=False))


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    """One loop, one set of clients and one device for every example (the WSDLs parse once)."""
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        device = Device()
        server = runner.run(asyncio.start_server(soap_device(device.answer), "127.0.0.1", 0))
        clients = runner.run(OnvifClients.start(stack))
        try:
            yield Peer(runner, device, clients, server.sockets[0].getsockname()[1])
        finally:
            runner.run(stack.aclose())
            server.close()
            runner.run(server.wait_closed())


def _bounded_text(text: str) -> bool:
    return len(text) <= MAX_TEXT and text == text.strip() and text.isprintable()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(answers=_answers())
@example(answers={"GetSystemDateAndTime": ENVELOPE.format(_clock(["23", "59", "60", "2026", "6", "30", "UTC"])),
                  "GetDeviceInformation": ENVELOPE.format(_identity(["Acme\x1b[2J", "C1\n\nforged line", "x" * 5000])),
                  "GetRecordingSearchResults": ENVELOPE.format(_results([("r1\n", "2026-01-01T00:00:00+99:99", "x", "Rec\tording")]))})
def test_any_answer_gives_sane_findings_or_a_protocol_error(peer: Peer, answers: dict[str, str]) -> None:
    result = peer.probe(answers)
    assert result.status in (ProbeStatus.OK, ProbeStatus.PROTOCOL_ERROR), (result.status, result.error)
    assert len(result.error) <= 300 and "\n" not in result.error
    if not result.ok:
        assert result.error.split(":")[0] in answers, result.error
        return
    assert result.clock_skew_seconds is None or math.isfinite(result.clock_skew_seconds)
    assert result.identity is not None
    for text in (result.identity.manufacturer, result.identity.model, result.identity.firmware, result.identity.serial,
                 result.identity.hardware_id):
        assert _bounded_text(text), text
    for recording in result.recordings or []:
        assert all(t is None or math.isfinite(t) for t in (recording.earliest, recording.latest)), recording
        assert _bounded_text(recording.channel) and _bounded_text(recording.token) and _bounded_text(recording.status)


_PART = st.integers(-(10**20), 10**20) | st.none() | st.text(max_size=5) | st.floats() | st.booleans()


@given(st.tuples(_PART, _PART, _PART, _PART, _PART, _PART))
@example((2026, 6, 30, 23, 59, 60))  # a leap second: read as the second before it
@example((9999, 12, 31, 23, 59, 59))
@example((10000, 1, 1, 0, 0, 0))
def test_any_date_and_time_parts_are_a_finite_time_or_none(parts: tuple[object, ...]) -> None:
    year, month, day, hour, minute, second = parts
    value = SimpleNamespace(Date=SimpleNamespace(Year=year, Month=month, Day=day),
                            Time=SimpleNamespace(Hour=hour, Minute=minute, Second=second))
    moment = utc_timestamp(value)
    assert moment is None or math.isfinite(moment)
    if parts == (2026, 6, 30, 23, 59, 60):
        assert moment == utc_timestamp(SimpleNamespace(Date=value.Date, Time=SimpleNamespace(Hour=23, Minute=59, Second=59)))
