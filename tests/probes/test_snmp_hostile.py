"""The SNMP probe against hostile agents: small UDP servers that misbehave on purpose.

Each ends within its timeout with the status a technician should see, the client keeps no
trace of it afterwards, and a hostile device does not hold up the others sharing the client.
"""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
from pydantic import SecretStr

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.client import RESPONSE, SnmpClient, read_pdu
from fleetmon.probes.snmp.probe import SnmpResult, probe_snmp
from fleetmon.probes.target import Credentials, SnmpV2c, Target
from fleetmon.simulator.snmp_agent import SnmpAgent
from tests.simulator.net_snmp import INVENTORY

COMMUNITY = "public"
Behaviour = Callable[[bytes, "asyncio.DatagramTransport", tuple[str, int]], None]


def request_of(message: bytes) -> tuple[int, list[ber.Oid]]:
    """(request-id, OIDs) of a v2c request."""
    start, _ = ber.expect(message, 0, ber.SEQUENCE)
    _, pos = ber.read_int(message, start)
    _, pdu_pos = ber.read_octets(message, pos)
    _, request_id, reply = read_pdu(message, pdu_pos)
    return request_id, [oid for oid, _, _ in reply.varbinds]


def response(request_id: int, varbinds: bytes) -> bytes:
    pdu = ber.tlv(RESPONSE, ber.integer(request_id) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQUENCE, varbinds))
    return ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets(COMMUNITY) + pdu)


def uptime_varbind(oid: ber.Oid) -> bytes:
    return ber.tlv(ber.SEQUENCE, ber.encode_oid(oid) + ber.integer(4200, ber.TIMETICKS))


class _Hostile(asyncio.DatagramProtocol):
    def __init__(self, behave: Behaviour) -> None:
        self.behave = behave
        self.transport: asyncio.DatagramTransport | None = None
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        assert self.transport is not None
        self.behave(data, self.transport, addr)


@pytest.fixture
async def hostile() -> AsyncIterator[Callable[[Behaviour], asyncio.Future[int]]]:
    """Start a misbehaving agent on 127.0.0.1: `port = await hostile(behaviour)`."""
    transports: list[asyncio.DatagramTransport] = []

    async def start(behave: Behaviour) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Hostile(behave), local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return int(transport.get_extra_info("sockname")[1])

    yield start  # type: ignore[misc]
    for transport in transports:
        transport.close()


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with AsyncExitStack() as stack:
        yield await SnmpClient.start(stack, sockets=1)


async def probe_at(port: int, client: SnmpClient, timeout: float = 0.5) -> SnmpResult:
    target = Target("hostile", "127.0.0.1", snmp_port=port, timeout=timeout, kind="camera",
                    credentials=Credentials(snmp=SnmpV2c(SecretStr(COMMUNITY))))
    return await probe_snmp(target, client)


def silence(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    pass


def garbage(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    transport.sendto(os.urandom(200), addr)


def wrong_request_id(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    request_id, oids = request_of(data)
    transport.sendto(response(request_id + 1, b"".join(uptime_varbind(oid + (0,)) for oid in oids)), addr)


def oversized_length(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    """A varbind list whose length field claims 4 GiB."""
    request_id, _ = request_of(data)
    pdu_body = ber.integer(request_id) + ber.integer(0) + ber.integer(0) + b"\x30\x84\xff\xff\xff\xff" + b"\x30" * 40
    transport.sendto(ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets(COMMUNITY) + ber.tlv(RESPONSE, pdu_body)), addr)


def bomb_oid(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    """An OID of 60,000 continuation bytes: one sub-identifier that never ends."""
    request_id, _ = request_of(data)
    varbind = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, b"\x2b" + b"\xff" * 60_000) + ber.NULL_VALUE)
    transport.sendto(response(request_id, varbind), addr)


def endless_table(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    """Answers every GETBULK with ever-growing OIDs inside each asked column: a table without end."""
    start, _ = ber.expect(data, 0, ber.SEQUENCE)
    _, pos = ber.read_int(data, start)
    _, pdu_pos = ber.read_octets(data, pos)
    _, pdu_start, _ = ber.header(data, pdu_pos)
    request_id, after = ber.read_int(data, pdu_start)
    non_repeaters, after = ber.read_int(data, after)
    repetitions, after = ber.read_int(data, after)
    list_start, list_end = ber.expect(data, after, ber.SEQUENCE)
    oids = ber.read_varbind_oids(data, list_start, list_end)
    out = [uptime_varbind(oid + (0,)) for oid in oids[:non_repeaters]]
    columns = oids[non_repeaters:]
    for row in range(1, repetitions + 1):
        out += [ber.tlv(ber.SEQUENCE, ber.encode_oid(oid + (row,)) + ber.integer(1)) for oid in columns]
    transport.sendto(response(request_id, b"".join(out)), addr)


@pytest.mark.parametrize(("behave", "status", "words"), [
    (silence, ProbeStatus.TIMEOUT, "no SNMP answer"),
    (garbage, ProbeStatus.PROTOCOL_ERROR, "not SNMP"),
    (wrong_request_id, ProbeStatus.TIMEOUT, "no SNMP answer"),
    (oversized_length, ProbeStatus.PROTOCOL_ERROR, "malformed"),
    (bomb_oid, ProbeStatus.PROTOCOL_ERROR, "malformed"),
], ids=lambda v: getattr(v, "__name__", str(v)))
async def test_misbehaving_agent_ends_within_its_timeout(hostile: Callable[[Behaviour], asyncio.Future[int]],
                                                        client: SnmpClient, behave: Behaviour, status: ProbeStatus,
                                                        words: str) -> None:
    port = await hostile(behave)
    result = await probe_at(port, client)
    assert result.status is status and words in result.error, result
    assert result.duration_seconds < 0.6
    assert not any(endpoint.pending or endpoint.by_address for pool in client._pools.values() for endpoint in pool)


async def test_endless_table_is_cut_and_reported(hostile: Callable[[Behaviour], asyncio.Future[int]],
                                                 client: SnmpClient) -> None:
    port = await hostile(endless_table)
    result = await probe_at(port, client, timeout=2)
    assert result.status is ProbeStatus.OK and "cut" in result.error
    assert result.duration_seconds < 2.1


async def test_answer_after_the_deadline_is_a_timeout(hostile: Callable[[Behaviour], asyncio.Future[int]],
                                                      client: SnmpClient) -> None:
    loop = asyncio.get_running_loop()

    def late(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
        loop.call_later(0.5, _echo_uptime, data, transport, addr)

    port = await hostile(late)
    result = await probe_at(port, client, timeout=0.3)
    assert result.status is ProbeStatus.TIMEOUT and result.duration_seconds < 0.4
    await asyncio.sleep(0.4)  # the late answers land on a socket that no longer waits for them
    assert (await probe_at(port, client, timeout=1.0)).ok


def _echo_uptime(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
    request_id, oids = request_of(data)
    transport.sendto(response(request_id, b"".join(uptime_varbind(oid + (0,)) for oid in oids[:4])), addr)


async def test_a_flooding_device_does_not_hold_up_its_neighbours(
        hostile: Callable[[Behaviour], asyncio.Future[int]], client: SnmpClient, agent: SnmpAgent) -> None:
    """Every request to the flooder brings 2,000 datagrams (garbage and stale ids) onto the shared socket."""

    def flood(data: bytes, transport: asyncio.DatagramTransport, addr: tuple[str, int]) -> None:
        request_id, oids = request_of(data)
        stale = response(request_id + 7, b"".join(uptime_varbind(oid + (0,)) for oid in oids))
        for i in range(1000):
            transport.sendto(stale, addr)
            transport.sendto(os.urandom(64 + i % 500), addr)

    port = await hostile(flood)
    assert agent.sock is not None
    honest = [Target(device.id, device.host, snmp_port=agent.sock.getsockname()[1], timeout=1.0,
                     kind=device.kind.value, credentials=Credentials(snmp=SnmpV2c(SecretStr(COMMUNITY))))
              for device in INVENTORY]
    tracemalloc.start()
    try:
        flooded, *neighbours = await asyncio.gather(probe_at(port, client, timeout=1.0),
                                                    *(probe_snmp(t, client) for t in honest * 5))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert flooded.status is ProbeStatus.PROTOCOL_ERROR  # nothing it sent answered what was asked
    assert all(r.ok for r in neighbours), [r.error for r in neighbours if not r.ok]  # each within its 1 s
    assert peak < 8 << 20  # datagrams are judged and dropped one by one, never queued


async def test_ipv6_agent_on_the_loopback(client: SnmpClient) -> None:
    """A device with an IPv6 address is asked from an IPv6 socket, opened on first use."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Hostile(_echo_uptime), local_addr=("::1", 0))
    try:
        target = Target("v6", "::1", snmp_port=transport.get_extra_info("sockname")[1], timeout=1, kind="camera",
                        credentials=Credentials(snmp=SnmpV2c(SecretStr(COMMUNITY))))
        results = await asyncio.gather(*(probe_snmp(target, client) for _ in range(3)))
    finally:
        transport.close()
    assert [r.uptime_seconds for r in results] == [42.0] * 3, [r.error for r in results]
