"""Hostile units: web answers that a broken or malicious device sends, to prove a probe's bounds.

    drip         headers at once, then one byte every `param` seconds: no single read times out
    huge_reply   `param` MB of XML, chunked, so no declared length can be refused up front
    xml_bomb     a SOAP answer that is an entity bomb (a billion "lol"s once expanded)

Hang after accept is the `hang` fault (`fleetmon.simulator.http_server`); malformed SNMP is
`garbage_ber` (`fleetmon.simulator.snmp_agent`). Each answer ends when the client gives up.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from fleetmon.simulator.state import EmulatedDevice, Fault

CONTENT_TYPE = "application/soap+xml"
DRIP_LENGTH = 100_000  # bytes a drip declares; at 0.5 s a byte it outlasts any client
FLOOD_CHUNK = b"<a>" + b"x" * 65_529 + b"</a>"  # 64 KiB
XML_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + ']><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&lol9;</env:Body></env:Envelope>'
).encode()
HOSTILE = frozenset({Fault.DRIP, Fault.HUGE_REPLY, Fault.XML_BOMB})


async def drip(request: web.Request, every: float) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
    response.content_length = DRIP_LENGTH
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):  # the client stopped reading, as it should
        for _ in range(DRIP_LENGTH):
            await response.write(b" ")
            await asyncio.sleep(every)
    return response


async def flood(request: web.Request, megabytes: float) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
    response.enable_chunked_encoding()
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):
        for _ in range(int(megabytes * (1 << 20) / len(FLOOD_CHUNK))):
            await response.write(FLOOD_CHUNK)
    return response


async def answer(request: web.Request, device: EmulatedDevice) -> web.StreamResponse:
    """The hostile answer of a device with one of `HOSTILE` set; the client leaving ends it quietly."""
    if Fault.DRIP in device.faults:
        return await drip(request, device.param(Fault.DRIP))
    if Fault.HUGE_REPLY in device.faults:
        return await flood(request, device.param(Fault.HUGE_REPLY))
    return web.Response(body=XML_BOMB, content_type=CONTENT_TYPE)
