"""Snapshots of the simulator's cameras, fetched as a client would and judged by the image checks."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.http.digest import challenge_fields
from fleetmon.probes.image_quality import ImageThresholds, assess, fingerprint
from fleetmon.simulator.digest_auth import DeviceLogin, Verdict
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from tests.peers import free_port

CAMERAS = ("cam-000101", "cam-000102", "home-000103")
PICTURE_FAULTS = {
    Fault.SNAPSHOT_BLACK: "blank",
    Fault.SNAPSHOT_BLURRED: "blurred",
    Fault.SNAPSHOT_COVERED: "covered",
    Fault.SCENE_MOVED: "moved",
}
AUTH = httpx.DigestAuth(DEMO_USERNAME, DEMO_PASSWORD.get_secret_value())


def small_fleet(port: int) -> Fleet:
    devices = [Device(name, DeviceKind.CAMERA, f"127.77.1.{n}", vendor="Hikvision", http_port=port)
               for n, name in enumerate(CAMERAS, start=1)]
    devices.append(Device("sw-000100", DeviceKind.SWITCH, "127.77.1.100", vendor="TP-Link", http_port=port))
    return Fleet.from_inventory(devices)


@pytest.fixture
async def web_fleet() -> AsyncIterator[tuple[Fleet, int]]:
    port = free_port()
    fleet = small_fleet(port)
    runner = await start_http(fleet, port)
    yield fleet, port
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
        yield http


def snapshot_url(fleet: Fleet, device_id: str, port: int, profile: str = "Profile_1") -> str:
    return f"http://{fleet.devices[device_id].device.host}:{port}/onvif-snapshot/{profile}"


async def fetch(client: httpx.AsyncClient, fleet: Fleet, port: int, device_id: str) -> bytes:
    response = await client.get(snapshot_url(fleet, device_id, port), auth=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    return response.content


async def test_snapshot_is_a_live_looking_jpeg_behind_digest(web_fleet: tuple[Fleet, int],
                                                             client: httpx.AsyncClient) -> None:
    fleet, port = web_fleet
    first = await fetch(client, fleet, port, "cam-000101")
    second = await fetch(client, fleet, port, "cam-000101")
    with Image.open(io.BytesIO(first)) as image:
        assert (image.format, image.size) == ("JPEG", (640, 360))
    assert 15_000 < len(first) < 60_000
    assert first != second
    verdict = assess(second, fingerprint(first), fingerprint(first), ImageThresholds())
    assert verdict.verdict == "normal", verdict.explain()


async def test_each_camera_sees_its_own_street(web_fleet: tuple[Fleet, int], client: httpx.AsyncClient) -> None:
    fleet, port = web_fleet
    one, other = [await fetch(client, fleet, port, device_id) for device_id in CAMERAS[:2]]
    assert assess(other, None, fingerprint(one), ImageThresholds()).verdict == "moved"


@pytest.mark.parametrize("fault", list(PICTURE_FAULTS), ids=[f.value for f in PICTURE_FAULTS])
async def test_each_picture_fault_is_what_the_image_checks_find(
    web_fleet: tuple[Fleet, int], client: httpx.AsyncClient, fault: Fault
) -> None:
    fleet, port = web_fleet
    for device_id in CAMERAS:
        reference = fingerprint(await fetch(client, fleet, port, device_id))
        previous = fingerprint(await fetch(client, fleet, port, device_id))
        fleet.devices[device_id].faults[fault] = 0.0
        found = assess(await fetch(client, fleet, port, device_id), previous, reference, ImageThresholds())
        assert found.verdict == PICTURE_FAULTS[fault], f"{device_id}: {found.explain()}"
        del fleet.devices[device_id].faults[fault]
        healed = assess(await fetch(client, fleet, port, device_id), previous, reference, ImageThresholds())
        assert healed.verdict == "normal", f"{device_id} after clearing: {healed.explain()}"


async def test_frozen_camera_repeats_its_frame_until_cleared(web_fleet: tuple[Fleet, int],
                                                             client: httpx.AsyncClient) -> None:
    fleet, port = web_fleet
    camera = fleet.devices["cam-000102"]
    camera.faults[Fault.SNAPSHOT_FROZEN] = 0.0
    stuck = [await fetch(client, fleet, port, "cam-000102") for _ in range(3)]
    assert stuck[0] == stuck[1] == stuck[2]
    assert assess(stuck[2], fingerprint(stuck[1]), None, ImageThresholds()).verdict == "frozen"
    camera.faults.clear()
    live = await fetch(client, fleet, port, "cam-000102")
    assert live != stuck[0]
    assert assess(live, fingerprint(stuck[0]), None, ImageThresholds()).verdict == "normal"


async def test_login_is_required_and_a_changed_password_refuses_all(web_fleet: tuple[Fleet, int],
                                                                     client: httpx.AsyncClient) -> None:
    fleet, port = web_fleet
    url = snapshot_url(fleet, "cam-000101", port)
    anonymous = await client.get(url)
    assert anonymous.status_code == 401
    challenge = challenge_fields(anonymous.headers["www-authenticate"])
    assert anonymous.headers["www-authenticate"].startswith("Digest ")
    assert (challenge["qop"], challenge["algorithm"]) == ("auth", "MD5")
    assert (await client.get(url, auth=httpx.DigestAuth(DEMO_USERNAME, "guess"))).status_code == 401
    basic = await client.get(url, auth=httpx.BasicAuth(DEMO_USERNAME, DEMO_PASSWORD.get_secret_value()))
    assert basic.status_code == 200 and basic.content.startswith(b"\xff\xd8")
    fleet.devices["cam-000101"].faults[Fault.WRONG_PASSWORD] = 0.0
    assert (await client.get(url, auth=AUTH)).status_code == 401
    assert (await client.get(url, auth=httpx.BasicAuth(DEMO_USERNAME, DEMO_PASSWORD.get_secret_value()))).status_code == 401


async def test_switches_have_no_snapshot(web_fleet: tuple[Fleet, int], client: httpx.AsyncClient) -> None:
    fleet, port = web_fleet
    assert (await client.get(snapshot_url(fleet, "sw-000100", port), auth=AUTH)).status_code == 404


def test_expired_nonce_is_stale_and_a_forged_one_rejected() -> None:
    login = DeviceLogin("admin", DEMO_PASSWORD)
    nonce = challenge_fields(login.challenge(now=1_000_000))["nonce"]

    def signed(nonce: str) -> str:
        return _client_answer(nonce, "GET", "/onvif-snapshot/P1", DEMO_PASSWORD.get_secret_value())

    assert login.check(signed(nonce), "GET", "/onvif-snapshot/P1", now=1_000_010) is Verdict.ACCEPTED
    assert login.check(signed(nonce), "GET", "/onvif-snapshot/P2", now=1_000_010) is Verdict.REJECTED
    assert login.check(signed(nonce), "GET", "/onvif-snapshot/P1", now=1_000_900) is Verdict.STALE
    forged = f"{1_000_900:x}" + nonce[-16:]
    assert login.check(signed(forged), "GET", "/onvif-snapshot/P1", now=1_000_910) is Verdict.REJECTED


def _client_answer(nonce: str, method: str, uri: str, password: str) -> str:
    """What httpx sends for a challenge carrying `nonce`, computed by httpx itself."""
    request = httpx.Request(method, f"http://127.0.0.1{uri}")
    challenge = httpx.Response(401, request=request, headers={
        "WWW-Authenticate": f'Digest realm="IP Camera", nonce="{nonce}", qop="auth", algorithm=MD5'})
    flow = httpx.DigestAuth("admin", password).sync_auth_flow(request)
    next(flow)
    return str(flow.send(challenge).headers["Authorization"])

