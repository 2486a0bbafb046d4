"""Hostile HTTP peers for the probes' tests: raw TCP handlers that hang, drip, lie or flood.

The `serve` fixture (tests/probes/conftest.py) runs one of these per connection on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Serve = Callable[[Handler], Awaitable[str]]


async def hang_after_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then one byte every 0.5 s: no single read ever times out."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.5)


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xff\xfeSSH-2.0-dropbear\r\n\x13\x37" * 20)
    await writer.drain()


def huge_body(declared: bool) -> Handler:
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


def status_only(code: int, reason: bytes) -> Handler:
    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n" % (code, reason))
        await writer.drain()

    return send


def soap_device(answer: Callable[[bytes], tuple[int, bytes]]) -> Handler:
    """A keep-alive SOAP peer: each request's body goes to `answer`, which gives the HTTP status and reply."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                status, body = answer(await reader.readexactly(length))
                writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (status, len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
    return serve
