"""The simulator's RTSP servers, asked by fleetmon's RTSP probe and by hand over a raw socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.http.digest import challenge_fields
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.rtsp import MediaTrack, probe_rtsp
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.rtsp import RtspServer, start_rtsp
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from tests.peers import free_port

HOSTS = {"cam-1": "127.77.3.1", "cam-2": "127.77.3.2"}


@pytest.fixture
async def rtsp() -> AsyncIterator[tuple[Fleet, int, RtspServer]]:
    port = free_port()
    fleet = Fleet.from_inventory([Device(name, DeviceKind.CAMERA, host, model="DS-2CD2143G2-I", rtsp_port=port)
                                  for name, host in HOSTS.items()])
    server = await start_rtsp(fleet, port)
    yield fleet, port, server
    server.close()
    await server.wait_closed()


def camera(port: int, device_id: str = "cam-1", password: str | None = None, timeout: float = 2.0) -> Target:
    secret = DEMO_PASSWORD if password is None else SecretStr(password)
    return Target(device_id, HOSTS[device_id], rtsp_port=port, timeout=timeout,
                  credentials=Credentials(username=DEMO_USERNAME, password=secret))


async def exchange(host: str, port: int, *requests: bytes) -> list[bytes]:
    """Send each request on one connection and read its answer's head (and body, if any)."""
    reader, writer = await asyncio.open_connection(host, port)
    answers = []
    try:
        for request in requests:
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            answers.append(head + await reader.readexactly(length))
    finally:
        writer.close()
    return answers


async def test_stream_is_described_after_a_digest_login(rtsp: tuple[Fleet, int, RtspServer]) -> None:
    _, port, _ = rtsp
    result = await probe_rtsp(camera(port), f"rtsp://{HOSTS['cam-1']}:{port}/stream/Profile_1")
    assert result.status is ProbeStatus.OK, result.error
    assert result.video_codec == "H264"
    assert result.tracks == (MediaTrack("video", "H264", 90000),)
    assert result.methods == ("OPTIONS", "DESCRIBE")
    assert result.problems == []
    default = await probe_rtsp(camera(port, "cam-2"))
    assert (default.status, default.url) == (ProbeStatus.OK, f"rtsp://{HOSTS['cam-2']}:{port}/")


async def test_options_is_open_and_describe_challenges(rtsp: tuple[Fleet, int, RtspServer]) -> None:
    _, port, _ = rtsp
    url = f"rtsp://{HOSTS['cam-1']}:{port}/stream/Profile_2".encode()
    options, describe = await exchange(HOSTS["cam-1"], port, b"OPTIONS " + url + b" RTSP/1.0\r\nCSeq: 7\r\n\r\n",
                                       b"DESCRIBE " + url + b" RTSP/1.0\r\nCSeq: 8\r\n\r\n")
    assert options.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 7\r\n")
    assert b"Public: OPTIONS, DESCRIBE\r\n" in options
    assert describe.startswith(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 8\r\n")
    challenge = next(line for line in describe.decode().split("\r\n") if line.startswith("WWW-Authenticate: "))
    assert challenge.split(": ", 1)[1].startswith("Digest ")
    assert challenge_fields(challenge.split(": ", 1)[1])["realm"] and "qop" not in challenge


async def test_malformed_requests_are_refused(rtsp: tuple[Fleet, int, RtspServer]) -> None:
    _, port, _ = rtsp
    no_cseq, http, play = await exchange(HOSTS["cam-1"], port, b"OPTIONS * RTSP/1.0\r\n\r\n",
                                         b"OPTIONS * HTTP/1.1\r\nCSeq: 2\r\n\r\n", b"PLAY * RTSP/1.0\r\nCSeq: 3\r\n\r\n")
    assert no_cseq.startswith(b"RTSP/1.0 400 ")
    assert http.startswith(b"RTSP/1.0 505 ")
    assert play.startswith(b"RTSP/1.0 405 ") and b"Allow: OPTIONS, DESCRIBE" in play
    garbage = await exchange(HOSTS["cam-1"], port, b"\x16\x03\x01 hello\r\n\r\n")
    assert garbage[0].startswith(b"RTSP/1.0 400 ")


async def test_wrong_and_changed_passwords_fail_the_login(rtsp: tuple[Fleet, int, RtspServer]) -> None:
    fleet, port, _ = rtsp
    assert (await probe_rtsp(camera(port, password="guess"))).status is ProbeStatus.AUTH_FAILED
    fleet.devices["cam-1"].faults[Fault.WRONG_PASSWORD] = 0.0
    changed = await probe_rtsp(camera(port))
    assert changed.status is ProbeStatus.AUTH_FAILED
    assert changed.methods == ("OPTIONS", "DESCRIBE")  # the server itself still answers


async def test_unknown_stream_is_not_supported(rtsp: tuple[Fleet, int, RtspServer]) -> None:
    _, port, _ = rtsp
    result = await probe_rtsp(camera(port), f"rtsp://{HOSTS['cam-1']}:{port}/live/ch00_0")
    assert (result.status, result.error) == (ProbeStatus.NOT_SUPPORTED, "DESCRIBE answered RTSP 404 Not Found")


@pytest.mark.parametrize(("fault", "param", "status"), [
    (Fault.HANG, 0.0, ProbeStatus.TIMEOUT),
    (Fault.SLOW, 5.0, ProbeStatus.TIMEOUT),
    (Fault.OFFLINE, 0.0, ProbeStatus.TIMEOUT),
    (Fault.REFUSED, 0.0, ProbeStatus.REFUSED),
], ids=["hang", "slow", "offline", "refused"])
async def test_transport_faults_cost_at_most_the_timeout(
    rtsp: tuple[Fleet, int, RtspServer], fault: Fault, param: float, status: ProbeStatus
) -> None:
    fleet, port, server = rtsp
    fleet.devices["cam-2"].faults[fault] = param
    await server.blocked.reconcile()  # at once, not within the fault sockets' period
    started = time.monotonic()
    result = await probe_rtsp(camera(port, "cam-2", timeout=0.5))
    assert result.status is status, result.error
    assert time.monotonic() - started < 1.0
    neighbour = await probe_rtsp(camera(port, "cam-1", timeout=0.5))
    assert neighbour.status is ProbeStatus.OK


async def test_slow_camera_answers_late(rtsp: tuple[Fleet, int, RtspServer]) -> None:
    fleet, port, _ = rtsp
    fleet.devices["cam-1"].faults[Fault.SLOW] = 0.2
    started = time.monotonic()
    result = await probe_rtsp(camera(port, timeout=3.0))
    assert result.status is ProbeStatus.OK
    assert time.monotonic() - started >= 0.6  # OPTIONS, 401, DESCRIBE: three delayed answers
