"""Fixtures of the probes' tests: an SNMP client, the simulator's SNMP agent, a hostile HTTP peer.

`client` is the SNMP client; the HTTP probes' test modules define their own `client` (an httpx
client), which takes precedence there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.snmp_agent import SnmpAgent
from tests.peers import free_port
from tests.probes.hostile_http import Handler, Serve
from tests.simulator.net_snmp import running_agent, small_fleet


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with AsyncExitStack() as stack:
        yield await SnmpClient.start(stack)


@pytest.fixture
def fleet() -> Fleet:
    """The three devices of `tests/simulator/net_snmp.py`."""
    return small_fleet()


@pytest.fixture
def control(fleet: Fleet) -> FaultControl:
    return FaultControl(fleet)


@pytest.fixture
async def agent(fleet: Fleet) -> AsyncIterator[SnmpAgent]:
    async with running_agent(fleet) as running:
        yield running


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
