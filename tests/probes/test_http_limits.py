"""fetch_bounded against hostile HTTP peers: each ends within its deadline, classified, memory bounded."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from fleetmon.probes.http.limits import fetch_bounded
from fleetmon.probes.result import ProbeStatus
from tests.peers import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Serve = Callable[[Handler], Awaitable[str]]

TIMEOUT = 0.6
LIMIT = 1 << 20


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a raw TCP peer running `handler` per connection; returns its base URL."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        port = free_port()
        servers.append(await asyncio.start_server(guarded, "127.0.0.1", port))
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int = LIMIT) -> tuple[ProbeStatus, str, float]:
    started = time.perf_counter()
    response = await fetch_bounded(client, "GET", url + "/x", auth=None, timeout=TIMEOUT, max_bytes=max_bytes)
    return response.status, response.error, time.perf_counter() - started


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then one byte every 0.5 s: no single read ever times out."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.5)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff\xfeSSH-2.0-dropbear\r\n\x13\x37" * 20)
    await writer.drain()


def _huge(declared: bool) -> Handler:
    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunk = b"\xff" * (1 << 20)
        if declared:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (50 * len(chunk)))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(50):
            writer.write(chunk)
            await writer.drain()

    return send


def _status(code: int, reason: bytes) -> Handler:
    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n" % (code, reason))
        await writer.drain()

    return send


@pytest.mark.parametrize(("handler", "expected"), [
    (_hang, ProbeStatus.TIMEOUT),
    (_drip, ProbeStatus.TIMEOUT),
    (_garbage, ProbeStatus.PROTOCOL_ERROR),
    (_status(404, b"Not Found"), ProbeStatus.NOT_SUPPORTED),
    (_status(401, b"Unauthorized"), ProbeStatus.AUTH_FAILED),
    (_status(500, b"Internal Server Error"), ProbeStatus.PROTOCOL_ERROR),
], ids=["hang-after-accept", "slow-drip", "garbage", "404", "401", "500"])
async def test_hostile_peer_ends_within_deadline_with_its_class(
    serve: Serve, client: httpx.AsyncClient, handler: Handler, expected: ProbeStatus
) -> None:
    status, error, elapsed = await _fetch(client, await serve(handler))
    assert status is expected, error
    assert error
    assert elapsed < TIMEOUT + 0.25


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "unannounced"])
async def test_50_mb_body_is_refused_with_bounded_memory(serve: Serve, client: httpx.AsyncClient, declared: bool) -> None:
    url = await serve(_huge(declared))
    tracemalloc.start()
    try:
        status, error, elapsed = await _fetch(client, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status is ProbeStatus.PROTOCOL_ERROR
    assert "exceeds the limit of 1048576" in error
    assert peak < 4 * LIMIT
    assert elapsed < TIMEOUT + 0.25


async def test_body_within_limit_is_returned_whole(serve: Serve, client: httpx.AsyncClient) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        await writer.drain()

    response = await fetch_bounded(client, "GET", await serve(answer) + "/", auth=None, timeout=TIMEOUT, max_bytes=5)
    assert (response.status, response.http_status, response.body, response.content_type) == (
        ProbeStatus.OK, 200, b"hello", "text/plain")


async def test_closed_port_is_refused(client: httpx.AsyncClient) -> None:
    status, error, _ = await _fetch(client, f"http://127.0.0.1:{free_port()}")
    assert status is ProbeStatus.REFUSED, error
