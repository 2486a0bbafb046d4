"""One SNMP manager for the whole fleet: a few UDP sockets, replies matched by id, v2c and v3.

Sized for a province swept every minute (136,000 devices on 2 cores), so nothing here is per
device except a bounded cache:

    sockets     `sockets` asyncio UDP endpoints per address family, used in turn; each allows at
                most `in_flight_per_socket` requests (more than ~200 on one socket lose replies
                to the receive buffer); a reply is matched to its request by request-id (v2c) or
                msgID (v3) and must come from the address asked
    retries     a request is re-sent with the same id within its deadline, so a late answer to
                the first copy still counts; the whole exchange never outlives the deadline
    v3          USM (`fleetmon.probes.snmp.usm`) on the same sockets: engine-ID discovery once per
                agent, then authNoPriv/authPriv; each agent's engine ID, boots and clock sit
                in an LRU of at most `engines` entries (an evicted agent is discovered again);
                master keys are cached per password, localised keys derived per message
    outcomes    `Reply` or `Failure(status, error)`, never an exception: silence is timeout
                (also a wrong v2c community), USM reports are auth_failed, bytes that are not
                the SNMP asked for are protocol_error

pysnmp is not used on this path: its v3arch engine keeps ~21 KiB per target forever and costs
1.4-2.5 ms a request against ~0.1 ms here (docs/BENCHMARKS.md, "Probes: SNMP").
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import lru_cache

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.usm import (
    AUTH_PROTOCOLS,
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    NOT_IN_TIME_WINDOWS,
    PRIV_PROTOCOLS,
    REPORT,
    UNKNOWN_ENGINE_IDS,
    LocalizedKeys,
    build_message,
    localize,
    parse_message,
    password_to_key,
    scoped_plaintext,
    verify,
)
from fleetmon.probes.target import SnmpV2c, SnmpV3

log = logging.getLogger(__name__)

GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
V2C = 1
MAX_MESSAGE = 65507
RECEIVE_BUFFER = 4 << 20
READS_PER_WAKEUP = 256  # drain in batches without starving other callbacks
RESENDS = 2  # copies after the first, spread over the deadline
TOO_BIG = 1
ERROR_NAMES = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr"}
USM_REPORTS: dict[ber.Oid, str] = {
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0): "unsupported security level",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0): "not in time window",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0): "unknown user name",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0): "unknown engine ID",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0): "wrong digest (auth key)",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0): "decryption error (privacy key)",
}

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Reply:
    """A Response-PDU: error-status 0 means the varbinds answer the request."""

    error_status: int
    error_index: int
    varbinds: list[ber.Varbind]


@dataclass(frozen=True, slots=True)
class Failure:
    status: ProbeStatus
    error: str


@dataclass(frozen=True, slots=True)
class Request:
    """One PDU to send: GET/GETNEXT (a, b = 0) or GETBULK (a = non-repeaters, b = max-repetitions)."""

    tag: int
    oids: tuple[ber.Oid, ...]
    non_repeaters: int = 0
    max_repetitions: int = 0

    def pdu(self, request_id: int) -> bytes:
        return ber.tlv(self.tag, ber.integer(request_id) + ber.integer(self.non_repeaters)
                       + ber.integer(self.max_repetitions) + _null_varbinds(self.oids))


@lru_cache(maxsize=4096)
def _null_varbinds(oids: tuple[ber.Oid, ...]) -> bytes:
    """A request's VarBindList; the same few lists serve the whole fleet."""
    return ber.tlv(ber.SEQUENCE, b"".join(ber.tlv(ber.SEQUENCE, ber.encode_oid(oid) + ber.NULL_VALUE) for oid in oids))


def read_pdu(buf: bytes, pos: int) -> tuple[int, int, Reply]:
    """(PDU tag, request-id, reply) of the PDU at `pos`."""
    tag, start, _ = ber.header(buf, pos)
    request_id, pos = ber.read_int(buf, start)
    error_status, pos = ber.read_int(buf, pos)
    error_index, pos = ber.read_int(buf, pos)
    list_start, list_end = ber.expect(buf, pos, ber.SEQUENCE)
    return tag, request_id, Reply(error_status, error_index, ber.read_varbinds(buf, list_start, list_end))


def demux_key(message: bytes) -> int | None:
    """The id a reply is matched by: msgID for v3, the PDU's request-id otherwise; None for garbage."""
    try:
        start, _ = ber.expect(message, 0, ber.SEQUENCE)
        version, pos = ber.read_int(message, start)
        if version == 3:
            header_start, _ = ber.expect(message, pos, ber.SEQUENCE)
            return ber.read_int(message, header_start)[0]
        _, pdu_pos = ber.read_octets(message, pos)
        _, pdu_start, _ = ber.header(message, pdu_pos)
        return ber.read_int(message, pdu_start)[0]
    except ber.BerError:
        return None


@dataclass(slots=True)
class _Pending:
    address: Address
    future: asyncio.Future[bytes | None]
    garbled: bool = False


class _Endpoint:
    """One non-blocking UDP socket with its requests in flight, keyed by id.

    The socket is drained in batches on each wake-up (asyncio's datagram transport reads one
    datagram per loop iteration), so a flooding device cannot fill the buffer and crowd out
    the replies its neighbours are waiting for.
    """

    def __init__(self, family: int, in_flight: int) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self.sock.setblocking(False)
            self.sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        except OSError:
            self.sock.close()
            raise
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.sock.fileno(), self._on_readable)
        self.pending: dict[int, _Pending] = {}
        self.by_address: dict[Address, _Pending] = {}
        self.slots = asyncio.Semaphore(in_flight)
        self._ids = itertools.count(random.randrange(1, 1 << 30))

    def new_id(self) -> int:
        while True:
            request_id = next(self._ids) & 0x7FFFFFFF
            if request_id and request_id not in self.pending:
                return request_id

    def send(self, message: bytes, address: Address) -> None:
        if self.sock.fileno() < 0:
            return
        try:
            self.sock.sendto(message, address)
        except OSError as exc:  # a full buffer or no route: the datagram is lost, as UDP loses it
            log.debug("snmp sendto %s: %s", address[0], exc)

    def _on_readable(self) -> None:
        for _ in range(READS_PER_WAKEUP):
            try:
                data, addr = self.sock.recvfrom(MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket
                log.debug("snmp recvfrom: %s", exc)
                continue
            self.datagram_received(data, (str(addr[0]), int(addr[1])))

    def datagram_received(self, data: bytes, source: Address) -> None:
        key = demux_key(data)
        pending = self.pending.get(key) if key is not None else None
        if pending is None or pending.address != source:
            # Not an answer to anything asked from there: a stale copy, a flood or garbage.
            suspect = self.by_address.get(source)
            if key is None and suspect is not None:
                suspect.garbled = True
            return
        if not pending.future.done():
            pending.future.set_result(data)

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()


@dataclass(slots=True)
class _EngineState:
    """What a v3 agent told us about itself; its clock advances with ours."""

    engine_id: bytes
    boots: int
    engine_time: int
    learnt: float = field(default_factory=time.monotonic)

    def clock(self) -> tuple[int, int]:
        return self.boots, self.engine_time + int(time.monotonic() - self.learnt)


def _address(host: str, port: int) -> Address | None:
    """(the address in the form the kernel reports replies from, port); None for a name."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, host.strip())), port
        except OSError:
            continue
    return None


@dataclass(slots=True)
class SnmpClient:
    """Shared by every SNMP probe of a process; `start` it on the service's exit stack."""

    sockets: int = 4
    in_flight_per_socket: int = 128
    engines: int = 100_000
    _pools: dict[int, list[_Endpoint]] = field(default_factory=dict, repr=False)
    _turn: itertools.count[int] = field(default_factory=itertools.count, repr=False)
    _engines: OrderedDict[Address, _EngineState] = field(default_factory=OrderedDict, repr=False)

    @classmethod
    async def start(cls, stack: AsyncExitStack, *, sockets: int = 4, in_flight_per_socket: int = 128,
                    engines: int = 100_000) -> SnmpClient:
        client = cls(sockets, in_flight_per_socket, engines)
        client._pool(socket.AF_INET)
        stack.callback(client.close)
        return client

    def close(self) -> None:
        for pool in self._pools.values():
            for endpoint in pool:
                endpoint.close()
        self._pools.clear()

    def _pool(self, family: int) -> list[_Endpoint]:
        """The sockets of one address family, opened on first use (IPv6 only when a device has it)."""
        pool = self._pools.get(family)
        if pool is None:
            pool = self._pools[family] = [_Endpoint(family, self.in_flight_per_socket) for _ in range(self.sockets)]
        return pool

    async def exchange(self, address: Address, build: Callable[[int], bytes], timeout: float) -> bytes | Failure:
        """Send `build(id)` to `address` (re-sent within `timeout`) and return the reply matched by id."""
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        pool = self._pool(family)
        endpoint = pool[next(self._turn) % len(pool)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with endpoint.slots:
            remaining = timeout - (loop.time() - started)
            if remaining <= 0:
                return Failure(ProbeStatus.TIMEOUT, f"no free SNMP request slot within {timeout:g} s")
            request_id = endpoint.new_id()
            message = build(request_id)
            pending = _Pending(address, loop.create_future())
            endpoint.pending[request_id] = pending
            endpoint.by_address[address] = pending

            def send() -> None:
                endpoint.send(message, address)

            def expire() -> None:
                if not pending.future.done():
                    pending.future.set_result(None)

            timers = [loop.call_later(remaining * i / (RESENDS + 1), send) for i in range(1, RESENDS + 1)]
            timers.append(loop.call_later(remaining, expire))
            try:
                send()
                reply = await pending.future
            finally:
                for timer in timers:
                    timer.cancel()
                del endpoint.pending[request_id]
                if endpoint.by_address.get(address) is pending:
                    del endpoint.by_address[address]
        if reply is not None:
            return reply
        if pending.garbled:
            return Failure(ProbeStatus.PROTOCOL_ERROR, "answered with bytes that are not SNMP")
        return Failure(ProbeStatus.TIMEOUT, f"no SNMP answer within {timeout:g} s")

    async def request(self, host: str, port: int, credentials: SnmpV2c | SnmpV3, request: Request,
                      timeout: float) -> Reply | Failure:
        """One request/response with the device, authenticated as `credentials` say."""
        address = _address(host, port)
        if address is None:
            return Failure(ProbeStatus.UNREACHABLE, f"{host!r} is not an IP address")
        if isinstance(credentials, SnmpV2c):
            return await self._v2c(address, credentials, request, timeout)
        if credentials.auth_key is not None and credentials.auth_protocol not in AUTH_PROTOCOLS:
            return Failure(ProbeStatus.NOT_SUPPORTED, f"SNMPv3 auth protocol {credentials.auth_protocol} is not supported")
        if credentials.priv_key is not None and credentials.priv_protocol not in PRIV_PROTOCOLS:
            return Failure(ProbeStatus.NOT_SUPPORTED,
                           f"SNMPv3 privacy protocol {credentials.priv_protocol} is not supported (des, aes)")
        return await self._v3(address, credentials, request, time.monotonic() + timeout)

    async def _v2c(self, address: Address, credentials: SnmpV2c, request: Request, timeout: float) -> Reply | Failure:
        head = ber.integer(V2C) + ber.octets(credentials.community.get_secret_value())
        raw = await self.exchange(address, lambda rid: ber.tlv(ber.SEQUENCE, head + request.pdu(rid)), timeout)
        if isinstance(raw, Failure):
            return raw
        try:
            start, _ = ber.expect(raw, 0, ber.SEQUENCE)
            version, pos = ber.read_int(raw, start)
            _, pdu_pos = ber.read_octets(raw, pos)
            tag, _, reply = read_pdu(raw, pdu_pos)
        except ber.BerError as exc:
            return Failure(ProbeStatus.PROTOCOL_ERROR, f"malformed SNMP reply: {exc}")
        if version != V2C or tag != RESPONSE:
            return Failure(ProbeStatus.PROTOCOL_ERROR, f"unexpected SNMP reply (version {version}, PDU 0x{tag:02x})")
        return reply

    def _remember(self, address: Address, state: _EngineState) -> None:
        self._engines[address] = state
        self._engines.move_to_end(address)
        while len(self._engines) > self.engines:
            self._engines.popitem(last=False)

    async def _discover(self, address: Address, deadline: float) -> _EngineState | Failure:
        """RFC 3414 4: an empty unauthenticated request; the agent's report names its engine."""
        probe = Request(GET, ())
        raw = await self.exchange(address, lambda mid: build_message(
            mid, MAX_MESSAGE, FLAG_REPORTABLE, b"", 0, 0, b"",
            ber.tlv(ber.SEQUENCE, ber.octets(b"") + ber.octets(b"") + probe.pdu(mid)), None), deadline - time.monotonic())
        if isinstance(raw, Failure):
            return raw
        try:
            parsed = parse_message(raw)
        except ber.BerError as exc:
            return Failure(ProbeStatus.PROTOCOL_ERROR, f"malformed SNMPv3 discovery reply: {exc}")
        if parsed is None or not parsed.engine_id:
            return Failure(ProbeStatus.PROTOCOL_ERROR, "SNMPv3 discovery reply names no engine")
        state = _EngineState(parsed.engine_id, parsed.boots, parsed.time)
        self._remember(address, state)
        return state

    async def _v3(self, address: Address, credentials: SnmpV3, request: Request, deadline: float) -> Reply | Failure:
        state = self._engines.get(address)
        for attempt in range(3):  # discovery, then at most one resynchronisation (clock or engine change)
            if state is None:
                found = await self._discover(address, deadline)
                if isinstance(found, Failure):
                    return found
                state = found
            keys = localized_keys(credentials, state.engine_id)
            flags = FLAG_REPORTABLE | (FLAG_AUTH if keys else 0) | (FLAG_PRIV if keys and keys.priv_protocol else 0)
            user = credentials.user.encode()
            context = credentials.context.encode()  # contextName: agents serving several contexts, proxies
            boots, clock = state.clock()
            engine_id = state.engine_id

            build = functools.partial(_v3_message, request, engine_id, context, flags, boots, clock, user, keys)
            raw = await self.exchange(address, build, deadline - time.monotonic())
            if isinstance(raw, Failure):
                return raw
            outcome = _read_v3(raw, keys, flags)
            if isinstance(outcome, Failure):
                return outcome
            parsed_state, tag, reply = outcome
            if tag == REPORT:
                stat = reply.varbinds[0][0] if reply.varbinds else ()
                if stat in (NOT_IN_TIME_WINDOWS, UNKNOWN_ENGINE_IDS) and attempt < 2 and parsed_state.engine_id:
                    state = parsed_state
                    self._remember(address, state)
                    continue
                return Failure(ProbeStatus.AUTH_FAILED, f"SNMPv3 refused: {USM_REPORTS.get(stat, 'report ' + str(stat))}")
            self._remember(address, parsed_state)
            return reply
        return Failure(ProbeStatus.AUTH_FAILED, "SNMPv3 agent keeps refusing our engine time")


def _v3_message(request: Request, engine_id: bytes, context: bytes, flags: int, boots: int, clock: int, user: bytes,
                keys: LocalizedKeys | None, mid: int) -> bytes:
    scoped = ber.tlv(ber.SEQUENCE, ber.octets(engine_id) + ber.octets(context) + request.pdu(mid))
    return build_message(mid, MAX_MESSAGE, flags, engine_id, boots, clock, user, scoped, keys)


def localized_keys(credentials: SnmpV3, engine_id: bytes) -> LocalizedKeys | None:
    """The user's keys for one engine; None for noAuthNoPriv."""
    if credentials.auth_key is None:
        return None
    hash_name = AUTH_PROTOCOLS[credentials.auth_protocol][0]
    auth = localize(password_to_key(credentials.auth_key.get_secret_value().encode(), hash_name), engine_id, hash_name)
    if credentials.priv_key is None:
        return LocalizedKeys(credentials.auth_protocol, auth)
    priv = localize(password_to_key(credentials.priv_key.get_secret_value().encode(), hash_name), engine_id, hash_name)
    return LocalizedKeys(credentials.auth_protocol, auth, credentials.priv_protocol, priv)


def _read_v3(raw: bytes, keys: LocalizedKeys | None, sent_flags: int) -> tuple[_EngineState, int, Reply] | Failure:
    """(the agent's engine state, PDU tag, reply) of a v3 reply, its digest checked."""
    try:
        parsed = parse_message(raw)
        if parsed is None:
            return Failure(ProbeStatus.PROTOCOL_ERROR, "reply is not an SNMPv3 USM message")
        authenticated = bool(parsed.flags & FLAG_AUTH)
        if authenticated and (keys is None or not verify(raw, parsed, keys)):
            return Failure(ProbeStatus.PROTOCOL_ERROR, "SNMPv3 reply failed its digest check")
        scoped = scoped_plaintext(raw, parsed, keys)
        start, _ = ber.expect(scoped, 0, ber.SEQUENCE)
        _, pos = ber.read_octets(scoped, start)
        _, pdu_pos = ber.read_octets(scoped, pos)
        tag, _, reply = read_pdu(scoped, pdu_pos)
    except (ber.BerError, ValueError) as exc:
        return Failure(ProbeStatus.PROTOCOL_ERROR, f"malformed SNMPv3 reply: {exc}")
    if tag == RESPONSE and sent_flags & FLAG_AUTH and not authenticated:
        return Failure(ProbeStatus.PROTOCOL_ERROR, "SNMPv3 response without authentication")
    if tag not in (RESPONSE, REPORT):
        return Failure(ProbeStatus.PROTOCOL_ERROR, f"unexpected SNMPv3 PDU 0x{tag:02x}")
    return _EngineState(parsed.engine_id, parsed.boots, parsed.time), tag, reply
