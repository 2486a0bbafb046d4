"""fetch_bounded against hostile HTTP peers: each ends within its deadline, classified, memory bounded."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest

from fleetmon.probes.http.limits import fetch_bounded
from fleetmon.probes.result import ProbeStatus
from tests.peers import free_port
from tests.probes.hostile_http import Handler, Serve, drip, garbage, hang_after_accept, huge_body, status_only

TIMEOUT = 0.6
LIMIT = 1 << 20


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int = LIMIT) -> tuple[ProbeStatus, str, float]:
    started = time.perf_counter()
    response = await fetch_bounded(client, "GET", url + "/x", auth=None, timeout=TIMEOUT, max_bytes=max_bytes)
    return response.status, response.error, time.perf_counter() - started


@pytest.mark.parametrize(("handler", "expected"), [
    (hang_after_accept, ProbeStatus.TIMEOUT),
    (drip, ProbeStatus.TIMEOUT),
    (garbage, ProbeStatus.PROTOCOL_ERROR),
    (status_only(404, b"Not Found"), ProbeStatus.NOT_SUPPORTED),
    (status_only(401, b"Unauthorized"), ProbeStatus.AUTH_FAILED),
    (status_only(500, b"Internal Server Error"), ProbeStatus.PROTOCOL_ERROR),
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
    url = await serve(huge_body(declared))
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
