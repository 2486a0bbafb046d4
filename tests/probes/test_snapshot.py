"""Snapshot probe against the simulator's cameras and against hostile fakes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.http.snapshot import CameraAuth, SnapshotResult, probe_snapshot
from fleetmon.probes.image_quality import ImageFingerprint
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.scene import Look, SceneRenderer
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME, SNAPSHOT_PATH
from tests.peers import free_port
from tests.probes.hostile_http import Handler, Serve, drip, garbage, hang_after_accept, huge_body, status_only

CAMERA_HOST = "127.77.4.1"
FAKE_PASSWORD = "Cam-s3cret!"

@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[Fleet, int]]:
    port = free_port()
    fleet = Fleet.from_inventory([Device("cam-1", DeviceKind.CAMERA, CAMERA_HOST, vendor="Dahua", http_port=port)])
    runner = await start_http(fleet, port)
    yield fleet, port
    await runner.cleanup()


def camera(port: int, password: str = DEMO_PASSWORD.get_secret_value(), timeout: float = 3.0,
           host: str = CAMERA_HOST) -> Target:
    return Target("cam-1", host, http_port=port, timeout=timeout,
                  credentials=Credentials(username=DEMO_USERNAME, password=SecretStr(password)))


def simulated_url(port: int) -> str:
    return f"http://{CAMERA_HOST}:{port}" + SNAPSHOT_PATH.format(profile="Profile_1")


async def test_live_camera_is_normal_and_hands_back_its_fingerprint(
    simulated: tuple[Fleet, int], client: httpx.AsyncClient
) -> None:
    _, port = simulated
    first = await probe_snapshot(camera(port), client, simulated_url(port))
    assert first.status is ProbeStatus.OK, first.error
    assert (first.width, first.height, first.verdict, first.problems) == (640, 360, "normal", [])
    assert 15_000 < first.size_bytes < 60_000 and first.fingerprint is not None
    second = await probe_snapshot(camera(port), client, simulated_url(port), first.fingerprint, first.fingerprint)
    assert second.verdict == "normal", [c.text for c in second.checks]
    assert {c.check for c in second.checks} == {"blank", "frozen", "covered", "blurred", "moved"}


@pytest.mark.parametrize(("fault", "verdict"), [
    (Fault.SNAPSHOT_BLACK, "blank"), (Fault.SNAPSHOT_FROZEN, "frozen"), (Fault.SNAPSHOT_BLURRED, "blurred"),
    (Fault.SNAPSHOT_COVERED, "covered"), (Fault.SCENE_MOVED, "moved"),
], ids=lambda v: getattr(v, "value", v))
async def test_picture_faults_are_findings_of_an_ok_probe(
    simulated: tuple[Fleet, int], client: httpx.AsyncClient, fault: Fault, verdict: str
) -> None:
    fleet, port = simulated
    reference = await probe_snapshot(camera(port), client, simulated_url(port))
    fleet.devices["cam-1"].faults[fault] = 0.0
    previous: ImageFingerprint | None = reference.fingerprint
    if fault is Fault.SNAPSHOT_FROZEN:  # frozen means: the same as the previous faulty frame
        previous = (await probe_snapshot(camera(port), client, simulated_url(port))).fingerprint
    result = await probe_snapshot(camera(port), client, simulated_url(port), previous, reference.fingerprint)
    assert result.status is ProbeStatus.OK, result.error
    assert result.verdict == verdict
    assert result.problems and result.problems[0] == next(c.text for c in result.checks if c.failed)


async def test_logins_that_fail_are_auth_failed_without_the_password(
    simulated: tuple[Fleet, int], client: httpx.AsyncClient
) -> None:
    fleet, port = simulated
    wrong = await probe_snapshot(camera(port, password="Wr0ng-guess"), client, simulated_url(port))
    assert wrong.status is ProbeStatus.AUTH_FAILED
    fleet.devices["cam-1"].faults[Fault.WRONG_PASSWORD] = 0.0
    changed = await probe_snapshot(camera(port), client, simulated_url(port))
    assert changed.status is ProbeStatus.AUTH_FAILED
    for result in (wrong, changed):
        assert "Wr0ng-guess" not in repr(result) and DEMO_PASSWORD.get_secret_value() not in repr(result)


async def test_no_uri_or_a_bad_one_is_not_supported(client: httpx.AsyncClient) -> None:
    assert (await probe_snapshot(camera(1), client, None)).status is ProbeStatus.NOT_SUPPORTED
    bad = await probe_snapshot(camera(1), client, "rtsp://admin:pw@127.0.0.1/x")
    assert (bad.status, bad.url) == (ProbeStatus.NOT_SUPPORTED, "rtsp://127.0.0.1/x")


async def test_credentials_in_the_uri_are_neither_shown_nor_sent_in_clear(
    simulated: tuple[Fleet, int], client: httpx.AsyncClient
) -> None:
    _, port = simulated
    url = simulated_url(port).replace("http://", "http://admin:leaked-pw@")
    result = await probe_snapshot(camera(port), client, url)
    assert result.status is ProbeStatus.OK, result.error
    assert result.url == simulated_url(port) and "leaked-pw" not in repr(result)


# -- hostile and odd cameras: raw HTTP on 127.0.0.1 ---------------------------------------------
# The transport-level peers (hang, drip, garbage, 50 MB) are fetch_bounded's own test peers: here
# they prove the probe is bounded through it; the picture-level ones are the snapshot's own.

def _resized(size: tuple[int, int]) -> bytes:
    """A scene frame of the simulator, re-encoded at `size`."""
    frame = Image.open(io.BytesIO(SceneRenderer(cache_size=1).frame("fake-cam", Look.NORMAL, 0.0, "fake")))
    out = io.BytesIO()
    frame.resize(size).save(out, "JPEG", quality=80)
    return out.getvalue()


def _declared_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with a lying frame header (SOF0): what a decompression bomb looks like."""
    at = jpeg.index(b"\xff\xc0") + 5
    return jpeg[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 4:]


def _answer(body: bytes, content_type: str = "image/jpeg", status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "\r\n").encode() + body


def _replying(body: bytes, content_type: str = "image/jpeg") -> Handler:
    """One 200 answer to the request the peer has read."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_answer(body, content_type))
        await writer.drain()
    return handler


async def _probe_fake(base_url: str, client: httpx.AsyncClient) -> tuple[SnapshotResult, float]:
    started = time.monotonic()
    result = await probe_snapshot(camera(0, password=FAKE_PASSWORD, timeout=1.0, host="127.0.0.1"), client,
                                  f"{base_url}/snap.jpg", max_bytes=1 << 20)
    return result, time.monotonic() - started


HOSTILE: list[tuple[str, Handler, ProbeStatus, str]] = [
    ("hang", hang_after_accept, ProbeStatus.TIMEOUT, "no complete answer within 1 s"),
    ("slow-drip", drip, ProbeStatus.TIMEOUT, "no complete answer within 1 s"),
    ("garbage", garbage, ProbeStatus.PROTOCOL_ERROR, ""),
    ("50MB-declared", huge_body(declared=True), ProbeStatus.PROTOCOL_ERROR, "exceeds the limit of 1048576"),
    ("50MB-unannounced", huge_body(declared=False), ProbeStatus.PROTOCOL_ERROR, "exceeds the limit of 1048576"),
    ("html-login-page", _replying(b"<html><body>Please log in</body></html>", "text/html"),
     ProbeStatus.PROTOCOL_ERROR, "not a JPEG: text/html"),
    ("truncated", _replying(_resized((640, 360))[:9000]), ProbeStatus.PROTOCOL_ERROR, "corrupt JPEG"),
    ("bomb", _replying(_declared_size(_resized((64, 36)), 60000, 60000)), ProbeStatus.PROTOCOL_ERROR, "corrupt JPEG"),
    ("too-many-pixels", _replying(_declared_size(_resized((64, 36)), 8000, 6000)), ProbeStatus.PROTOCOL_ERROR,
     "too large"),
    ("500", status_only(500, b"Internal Server Error"), ProbeStatus.PROTOCOL_ERROR, "HTTP 500"),
    ("404", status_only(404, b"Not Found"), ProbeStatus.NOT_SUPPORTED, "HTTP 404"),
]


@pytest.mark.parametrize(("name", "handler", "status", "error"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_cameras_end_within_the_timeout_with_a_status(
    serve: Serve, client: httpx.AsyncClient, name: str, handler: Handler, status: ProbeStatus, error: str
) -> None:
    url = await serve(handler)
    tracemalloc.start()
    try:
        result, elapsed = await _probe_fake(url, client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status is status, f"{name}: {result.error}"
    assert error in result.error
    assert elapsed < 1.5
    assert peak < 8 << 20, f"{name}: {peak} bytes"
    assert FAKE_PASSWORD not in result.error


def _challenging(*challenges: str, accept: Callable[[bytes], bool]) -> Handler:
    """401 with `challenges` until a request passes `accept`, then a JPEG (one connection, kept alive)."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            headers = "".join(f"WWW-Authenticate: {c}\r\n" for c in challenges)
            writer.write(f"HTTP/1.1 401 Unauthorized\r\n{headers}Content-Length: 0\r\n\r\n".encode())
            await writer.drain()
            if accept(await reader.readuntil(b"\r\n\r\n")):
                writer.write(_answer(_resized((320, 180))))
                return
    return handler


async def test_basic_only_camera_gets_basic_after_its_challenge(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    seen: list[bytes] = []
    token = base64.b64encode(f"{DEMO_USERNAME}:{FAKE_PASSWORD}".encode())

    def accept(head: bytes) -> bool:
        seen.append(head)
        return b"Authorization: Basic " + token in head
    url = await serve(_challenging('Basic realm="DVR"', accept=accept))
    result, _ = await _probe_fake(url, client)
    assert result.status is ProbeStatus.OK, result.error
    assert (result.width, result.height) == (320, 180)
    assert len(seen) == 1  # one login, answering the challenge


def test_the_password_waits_for_a_challenge() -> None:
    """The first request carries no login: a Digest camera never sees the password in Basic."""
    flow = CameraAuth(DEMO_USERNAME, FAKE_PASSWORD).sync_auth_flow(httpx.Request("GET", "http://127.0.0.1/snap.jpg"))
    assert "authorization" not in next(flow).headers
    assert FAKE_PASSWORD not in repr(CameraAuth(DEMO_USERNAME, FAKE_PASSWORD))


async def test_digest_is_chosen_when_basic_is_offered_too(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    seen: list[bytes] = []

    def accept(head: bytes) -> bool:
        seen.append(head)
        return b"Authorization: Digest " in head
    url = await serve(_challenging('Digest realm="IPC", nonce="abc", qop="auth"', 'Basic realm="IPC"', accept=accept))
    result, _ = await _probe_fake(url, client)
    assert result.status is ProbeStatus.OK, result.error
    assert not any(b"Basic " in head for head in seen)


async def test_refused_port_is_refused(client: httpx.AsyncClient) -> None:
    result, _ = await _probe_fake(f"http://127.0.0.1:{free_port()}", client)
    assert result.status is ProbeStatus.REFUSED

