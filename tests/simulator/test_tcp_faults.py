"""Transport faults of the simulator's web side, seen from a TCP or HTTP client on loopback.

Offline must look powered off (the connect times out) while the same port keeps answering every
other device; refused resets; the rest shows on the HTTP exchange.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from tests.peers import free_port

INVENTORY = [
    Device(id="nvr-1", kind=DeviceKind.NVR, host="127.79.0.2"),
    Device(id="cam-1", kind=DeviceKind.CAMERA, host="127.79.0.3", parent="nvr-1"),
    Device(id="cam-2", kind=DeviceKind.CAMERA, host="127.79.0.4"),
]
TIME_REQUEST = (b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'><env:Body>"
                b"<tds:GetSystemDateAndTime xmlns:tds='http://www.onvif.org/ver10/device/wsdl'/></env:Body></env:Envelope>")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def control(port: int) -> FaultControl:
    return FaultControl(Fleet.from_inventory(dataclasses.replace(d, onvif_port=port) for d in INVENTORY))


@pytest.fixture(autouse=True)
async def server(control: FaultControl, port: int) -> AsyncIterator[None]:
    runner = await start_http(control.fleet, port)
    yield
    await runner.cleanup()


async def connects(host: str, port: int, timeout: float = 0.5) -> str:
    """"connected", "timeout" or "reset" for one TCP connect plus a first read."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(1), timeout)
        return "connected" if data else "reset"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except TimeoutError:
        return "connected"  # accepted, no answer: an HTTP-level fault, not a TCP one
    finally:
        writer.close()


async def ask_time(session: aiohttp.ClientSession, host: str, port: int, timeout: float) -> int | str:
    """HTTP status of one ONVIF GetSystemDateAndTime, or "timeout"."""
    try:
        async with session.post(f"http://{host}:{port}/onvif/device_service", data=TIME_REQUEST,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            await response.read()
            return response.status
    except TimeoutError:
        return "timeout"


async def until(predicate_result: str, host: str, port: int, within: float = 3.0) -> str:
    """Poll `connects` until it gives `predicate_result` (the fault reconciler runs every 0.5 s)."""
    deadline = time.monotonic() + within
    seen = await connects(host, port)
    while seen != predicate_result and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        seen = await connects(host, port)
    return seen


async def test_offline_device_times_out_while_its_port_serves_others(port: int, control: FaultControl) -> None:
    assert await connects("127.79.0.3", port) == "connected"
    control.set(control.device("cam-1"), Fault.OFFLINE)
    assert await until("timeout", "127.79.0.3", port) == "timeout"
    assert await connects("127.79.0.4", port) == "connected"
    assert await connects("127.79.0.2", port) == "connected"
    control.clear(control.device("cam-1"))
    assert await until("connected", "127.79.0.3", port) == "connected"


async def test_parent_down_silences_the_parent_and_what_sits_behind_it(port: int, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.PARENT_DOWN)
    assert await until("timeout", "127.79.0.2", port) == "timeout"
    assert await connects("127.79.0.3", port) == "timeout"
    assert await connects("127.79.0.4", port) == "connected"


async def test_refused_device_resets_connections(port: int, control: FaultControl) -> None:
    control.set(control.device("cam-2"), Fault.REFUSED)
    assert await until("reset", "127.79.0.4", port) == "reset"
    assert await connects("127.79.0.3", port) == "connected"
    control.clear(control.device("cam-2"))
    assert await until("connected", "127.79.0.4", port) == "connected"


async def test_flapping_device_alternates_between_answering_and_silence(port: int, control: FaultControl) -> None:
    control.set(control.device("cam-2"), Fault.FLAPPING, 1.0)
    seen = set()
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline and len(seen) < 2:
        seen.add(await connects("127.79.0.4", port, timeout=0.3))
        await asyncio.sleep(0.2)
    assert seen == {"connected", "timeout"}


async def test_hang_slow_and_total_packet_loss_show_on_the_http_exchange(port: int, control: FaultControl) -> None:
    async with aiohttp.ClientSession() as session:
        assert await ask_time(session, "127.79.0.3", port, 2.0) == 200
        control.set(control.device("cam-1"), Fault.HANG)
        assert await ask_time(session, "127.79.0.3", port, 1.0) == "timeout"
        control.clear(control.device("cam-1"))
        control.set(control.device("cam-1"), Fault.SLOW, 0.6)
        assert await ask_time(session, "127.79.0.3", port, 0.3) == "timeout"
        assert await ask_time(session, "127.79.0.3", port, 3.0) == 200
        control.clear(control.device("cam-1"))
        control.set(control.device("cam-1"), Fault.PACKET_LOSS, 100)
        assert await ask_time(session, "127.79.0.3", port, 1.5) == "timeout"
        assert await ask_time(session, "127.79.0.4", port, 1.5) == 200


async def test_an_open_connection_gets_no_answer_once_the_device_is_offline(port: int, control: FaultControl) -> None:
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        assert await ask_time(session, "127.79.0.4", port, 2.0) == 200  # the connection stays pooled
        control.set(control.device("cam-2"), Fault.OFFLINE)
        assert await ask_time(session, "127.79.0.4", port, 1.0) == "timeout"


async def test_partial_packet_loss_delays_some_answers_like_a_retransmission(port: int, control: FaultControl) -> None:
    control.set(control.device("cam-1"), Fault.PACKET_LOSS, 50)

    async def one(session: aiohttp.ClientSession) -> str:
        started = time.monotonic()
        status = await ask_time(session, "127.79.0.3", port, 2.5)
        if status == "timeout":
            return "lost"
        return "late" if time.monotonic() - started >= 0.9 else "on time"

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        seen = await asyncio.gather(*(one(session) for _ in range(16)))
    assert "on time" in seen  # half get through at once (1 in 65,536 runs sees none)
    assert {"late", "lost"} & set(seen)  # the rest wait a retransmission, or never come
