"""Vendor HTTP disk probe against a fake NVR on loopback with real HTTP Digest auth."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from fleetmon.probes.http.vendor_api import probe_vendor_http
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from tests.peers import free_port

USER, PASSWORD, REALM = "admin", "Nvr-s3cret!", "NVR"
ISAPI_PATH = "/ISAPI/ContentMgmt/Storage/hdd"
DAHUA_PATH = "/cgi-bin/storageDevice.cgi"

HIK_OK = b"""<?xml version="1.0" encoding="UTF-8"?>
<hddList version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<hdd version="2.0"><id>1</id><hddName>hdd1</hddName><hddPath></hddPath><hddType>SATA</hddType>
<status>ok</status><capacity>3815447</capacity><freeSpace>1024000</freeSpace><property>RW</property></hdd>
<hdd version="2.0"><id>2</id><hddName>hdd2</hddName><status>smartFailed</status>
<capacity>3815447</capacity><freeSpace>0</freeSpace></hdd>
<hdd version="2.0"><id>3</id><hddName>hdd3</hddName><status>ok</status>
<capacity>3815447</capacity><freeSpace>0</freeSpace></hdd>
</hddList>"""

DAHUA_OK = b"""list.info[0].Detail[0].IsError=false\r
list.info[0].Detail[0].Path=/dev/sda0\r
list.info[0].Detail[0].TotalBytes=1000000000000.000000\r
list.info[0].Detail[0].UsedBytes=250000000000.000000\r
list.info[0].Detail[1].IsError=false\r
list.info[0].Detail[1].TotalBytes=1000000000000.000000\r
list.info[0].Detail[1].UsedBytes=250000000000.000000\r
list.info[0].Name=/dev/sda\r
list.info[0].State=Success\r
list.info[1].Detail[0].IsError=true\r
list.info[1].Detail[0].TotalBytes=2000000000000\r
list.info[1].Detail[0].UsedBytes=10\r
list.info[1].Name=/dev/sdb\r
list.info[1].State=Success\r
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
""" + b"".join(
    b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
) + b"""]>
<hddList><hdd><id>1</id><hddName>&lol9;</hddName><status>ok</status></hdd></hddList>"""


def _xxe(canary_port: int, encoding: str) -> bytes:
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE hddList [<!ENTITY file SYSTEM "file:///etc/passwd">
<!ENTITY net SYSTEM "http://127.0.0.1:{canary_port}/leak">]>
<hddList><hdd><id>1</id><hddName>&file;&net;</hddName><status>ok</status></hdd></hddList>""".encode(encoding)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@dataclass
class FakeNvr:
    """What the fake recorder answers on both vendors' paths once Digest auth passed."""

    url: str
    port: int
    body: bytes = b""
    status: int = 200
    requests: int = 0


def _digest_valid(header: str, method: str) -> bool:
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header.removeprefix("Digest ")))
    try:
        ha1 = _md5(f"{fields['username']}:{REALM}:{PASSWORD}")
        ha2 = _md5(f"{method}:{fields['uri']}")
        expected = _md5(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}")
    except KeyError:
        return False
    return fields["username"] == USER and secrets.compare_digest(fields["response"], expected)


@pytest.fixture
async def nvr() -> AsyncIterator[FakeNvr]:
    port = free_port()
    fake = FakeNvr(f"http://127.0.0.1:{port}", port)

    async def storage(request: web.Request) -> web.Response:
        fake.requests += 1
        if not _digest_valid(request.headers.get("Authorization", ""), request.method):
            challenge = f'Digest realm="{REALM}", nonce="{secrets.token_hex(8)}", qop="auth"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        return web.Response(status=fake.status, body=fake.body)

    app = web.Application()
    app.router.add_get(ISAPI_PATH, storage)
    app.router.add_get(DAHUA_PATH, storage)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield fake
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def _target(nvr: FakeNvr, vendor: str, password: str = PASSWORD) -> Target:
    return Target("nvr-1", "127.0.0.1", http_port=nvr.port, vendor=vendor, timeout=2.0,
                  credentials=Credentials(username=USER, password=SecretStr(password)))


async def test_hikvision_disks_with_states_normalised(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    nvr.body = HIK_OK
    result = await probe_vendor_http(_target(nvr, "Hikvision"), client)
    assert result.status is ProbeStatus.OK, result.error
    assert [(d.id, d.name, d.state, d.vendor_state) for d in result.disks] == [
        ("1", "hdd1", "ok", "ok"), ("2", "hdd2", "failed", "smartFailed"), ("3", "hdd3", "full", "ok")]
    assert result.disks[0].capacity_bytes == 3815447 << 20 and result.disks[0].free_bytes == 1024000 << 20
    assert result.problems == ["disk 2 (hdd2): failed (smartFailed), 0 bytes of 3.6 TiB free",
                               "disk 3 (hdd3): full (ok), 0 bytes of 3.6 TiB free"]


async def test_isapi_org_namespace_is_read_too(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    nvr.body = HIK_OK.replace(b"http://www.hikvision.com/ver20/XMLSchema", b"http://www.isapi.org/ver20/XMLSchema")
    result = await probe_vendor_http(_target(nvr, "hikvision"), client)
    assert [d.state for d in result.disks] == ["ok", "failed", "full"]


async def test_dahua_disks_sum_partitions_and_flag_errors(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    nvr.body = DAHUA_OK
    result = await probe_vendor_http(_target(nvr, "Dahua"), client)
    assert result.status is ProbeStatus.OK, result.error
    first, second = result.disks
    assert (first.name, first.state, first.capacity_bytes, first.free_bytes) == (
        "/dev/sda", "ok", 2_000_000_000_000, 1_500_000_000_000)
    assert (second.name, second.state, second.vendor_state) == ("/dev/sdb", "failed", "Error")


async def test_wrong_password_is_auth_failed_and_never_shown(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    nvr.body = HIK_OK
    result = await probe_vendor_http(_target(nvr, "hikvision", password="wrong-Pa55"), client)
    assert result.status is ProbeStatus.AUTH_FAILED
    assert "wrong-Pa55" not in repr(result) and "wrong-Pa55" not in result.error


async def test_missing_api_is_not_supported(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    nvr.status = 404
    result = await probe_vendor_http(_target(nvr, "dahua"), client)
    assert result.status is ProbeStatus.NOT_SUPPORTED
    assert result.error == "HTTP 404 Not Found"


async def test_unknown_vendor_is_not_supported_without_traffic(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    result = await probe_vendor_http(_target(nvr, "Uniview"), client)
    assert (result.status, result.error) == (ProbeStatus.NOT_SUPPORTED, "no storage API known for vendor 'Uniview'")
    assert nvr.requests == 0


@pytest.mark.parametrize(("vendor", "body", "error"), [
    ("hikvision", b"<hddList><hdd><id>1</id><status>ok</hdd>", "malformed XML"),
    ("hikvision", b"<html><body>Login</body></html>", "expected an ISAPI hddList, got <html>"),
    ("hikvision", b"<hddList><hdd><id>1</id><capacity>lots</capacity></hdd></hddList>", "capacity is not a number"),
    ("dahua", b"\x00\xffgarbage\r\nnot=dahua\r\n", "not a Dahua storage answer"),
], ids=["malformed-xml", "wrong-document", "bad-number", "dahua-garbage"])
async def test_malformed_answers_are_protocol_errors(
    nvr: FakeNvr, client: httpx.AsyncClient, vendor: str, body: bytes, error: str
) -> None:
    nvr.body = body
    result = await probe_vendor_http(_target(nvr, vendor), client)
    assert result.status is ProbeStatus.PROTOCOL_ERROR
    assert error in result.error


async def test_entity_expansion_bomb_is_refused_unexpanded(nvr: FakeNvr, client: httpx.AsyncClient) -> None:
    """Expanded, &lol9; is 10^9 "lol"s (3 GB); the probe refuses the DTD instead."""
    nvr.body = BILLION_LAUGHS
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = await probe_vendor_http(_target(nvr, "hikvision"), client)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status is ProbeStatus.PROTOCOL_ERROR
    assert "DTD refused" in result.error
    assert peak < 2 << 20 and elapsed < 2.0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
async def test_external_entities_are_neither_read_nor_fetched(
    nvr: FakeNvr, client: httpx.AsyncClient, encoding: str
) -> None:
    hits: list[str] = []

    async def leak(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="leaked")

    canary = web.Application()
    canary.router.add_get("/leak", leak)
    runner = web.AppRunner(canary)
    await runner.setup()
    canary_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", canary_port).start()
    try:
        nvr.body = _xxe(canary_port, encoding)
        result = await probe_vendor_http(_target(nvr, "hikvision"), client)
    finally:
        await runner.cleanup()
    assert result.status is ProbeStatus.PROTOCOL_ERROR
    assert "DTD refused" in result.error and "root:" not in repr(result)
    assert hits == []
