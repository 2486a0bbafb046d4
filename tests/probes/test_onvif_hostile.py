"""The ONVIF probe against hostile or broken devices: small asyncio servers on loopback.

Each costs at most one timeout and bounded memory, and ends as a typed result, never an exception.
"""

from __future__ import annotations

import asyncio
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from pydantic import SecretStr

from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import OnvifResult, probe_onvif
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIME_REPLY = (
    '<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><env:Body>'
    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType>"
    "<tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>10</tt:Hour>"
    "<tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year>"
    "<tt:Month>{month}</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
    "</tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>")
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + ']><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&lol9;</env:Body></env:Envelope>')
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&x;</env:Body></env:Envelope>')


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    await reader.readexactly(length)


def http(body: bytes | str, status: str = "200 OK") -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/soap+xml\r\nContent-Length: {len(data)}\r\n\r\n"
            .encode() + data)


def answering(reply: bytes) -> Serve:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()
        writer.close()
    return serve


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def drips(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<")
    for _ in range(300):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


async def floods(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """50 MB of XML text, chunked (no length to refuse up front)."""
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"<a>" + b"x" * 65536 + b"</a>"
    for _ in range(800):
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()


def _gzip_bomb() -> bytes:
    """~50 KB that inflate to 50 MB of XML, made without holding the 50 MB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
    parts = [packer.compress(b"<a>")] + [packer.compress(b"x" * (1 << 20)) for _ in range(50)]
    return b"".join([*parts, packer.compress(b"</a>"), packer.flush()])


GZIP_BOMB = _gzip_bomb()


async def gzip_bomb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A small declared length that inflates to 50 MB."""
    await read_request(reader)
    body = GZIP_BOMB
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"\x00\xff SSH-2.0-OpenSSH nonsense\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.fixture
async def clients() -> AsyncIterator[OnvifClients]:
    async with AsyncExitStack() as stack:
        yield await OnvifClients.start(stack)


async def probe_against(serve: Serve, clients: OnvifClients, timeout: float = 1.0) -> tuple[ProbeStatus, str, float]:
    result = await probe_fake(serve, clients, timeout)
    return result.status, result.error, result.duration_seconds


async def probe_fake(serve: Serve, clients: OnvifClients, timeout: float) -> OnvifResult:
    """Probe a fake device on 127.0.0.1; its handlers are cancelled and connections aborted after."""
    handlers: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await serve(reader, writer)
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await probe_onvif(Target(device_id="hostile", host="127.0.0.1", onvif_port=port, timeout=timeout,
                                        credentials=Credentials("admin", SecretStr("pw"))), clients)
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@pytest.mark.parametrize("serve", [never_answers, drips], ids=["never-answers", "drips"])
async def test_a_stalling_device_costs_one_timeout(serve: Serve, clients: OnvifClients) -> None:
    status, _, duration = await probe_against(serve, clients, timeout=0.8)
    assert status is ProbeStatus.TIMEOUT
    assert duration < 1.3


@pytest.mark.parametrize("serve", [floods, gzip_bomb], ids=["chunked-flood", "gzip-bomb"])
async def test_a_flood_is_cut_off_with_bounded_memory(serve: Serve, clients: OnvifClients) -> None:
    tracemalloc.start()
    try:
        status, error, _ = await probe_against(serve, clients, timeout=5.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status is ProbeStatus.PROTOCOL_ERROR
    assert "limit" in error
    assert peak < 8 * 1024 * 1024  # the cap is 1 MiB; 50 MB were offered


@pytest.mark.parametrize(("body", "status"), [
    (http(BILLION_LAUGHS), ProbeStatus.PROTOCOL_ERROR),
    (http(EXTERNAL_ENTITY), ProbeStatus.PROTOCOL_ERROR),
    (http("<env:Envelope><unclosed"), ProbeStatus.PROTOCOL_ERROR),
    (http("plain text"), ProbeStatus.PROTOCOL_ERROR),
    (http(b"", "500 Internal Server Error"), ProbeStatus.PROTOCOL_ERROR),
    (http("<html>login</html>", "401 Unauthorized"), ProbeStatus.AUTH_FAILED),
    (http("Not Found", "404 Not Found"), ProbeStatus.NOT_SUPPORTED),
], ids=["billion-laughs", "external-entity", "malformed", "not-xml", "empty-500", "html-401", "404"])
async def test_bad_replies_are_classified(body: bytes, status: ProbeStatus, clients: OnvifClients) -> None:
    got, error, _ = await probe_against(answering(body), clients)
    assert got is status, error
    assert "root:" not in error  # the external entity was never read


async def test_garbage_instead_of_http(clients: OnvifClients) -> None:
    status, _, _ = await probe_against(garbage, clients)
    assert status is ProbeStatus.PROTOCOL_ERROR


async def test_an_impossible_date_leaves_the_skew_unknown(clients: OnvifClients) -> None:
    """Month 13: no skew, and the probe goes on to the login (which this fake cannot answer)."""
    replies = iter([http(TIME_REPLY.format(month=13)), http("Not Found", "404 Not Found")])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for reply in replies:
            await read_request(reader)
            writer.write(reply)
            await writer.drain()
        writer.close()

    result = await probe_fake(serve, clients, timeout=1.0)
    assert result.clock_skew_seconds is None
    assert result.status is ProbeStatus.NOT_SUPPORTED  # GetDeviceInformation got the 404
