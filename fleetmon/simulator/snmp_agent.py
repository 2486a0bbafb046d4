"""The simulator's SNMP agent: every emulated device on one UDP socket per port.

The socket is bound to 0.0.0.0 so a datagram to any 127.x.y.z reaches it; `IP_PKTINFO` tells
which address it was sent to (-> which device, via `Fleet.at`) and lets the reply leave FROM
that address, as net-snmp and pysnmp drop replies from any other source. Datagrams from
outside 127.0.0.0/8 are dropped unread.

v2c GET/GETNEXT/GETBULK run on the hand-written codec of `fleetmon.probes.snmp.ber` (the hot path: the
simulator must outrun fleetmon's probes); v3 goes through `fleetmon.simulator.usm`; v1 is not answered. Faults, as a client
sees them: offline, refused, hang, parent down, flapping and packet loss -> no answer; slow ->
the answer is delayed; wrong password -> the community is refused (v2c silence) and v3 gets a
usmStatsWrongDigests report; reboot and reboot loop -> sysUpTime restarts (see `fleetmon.simulator.mib`);
garbage BER -> a v2c answer whose varbind list claims 4 GiB.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import struct
import time
from dataclasses import dataclass, field

from pydantic import SecretStr

from fleetmon.probes.snmp import ber
from fleetmon.probes.target import AuthProtocol, PrivProtocol
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.loopback import WILDCARD, bind_loopback, is_loopback_peer
from fleetmon.simulator.mib import View, view_for
from fleetmon.simulator.state import EmulatedDevice, Fault
from fleetmon.simulator.usm import Engine, Usm, UsmUser, engine_id_for

log = logging.getLogger(__name__)

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux value; Python does not export it
PKTINFO = struct.Struct("=I4s4s")  # ifindex, spec_dst, addr
CMSG_SPACE = socket.CMSG_SPACE(PKTINFO.size)
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
GET, GETNEXT, RESPONSE, SET, GETBULK = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5
NO_ACCESS = 6
V2C = 1
MAX_DATAGRAM = 65507
MAX_BULK_VARBINDS = 2000
READS_PER_WAKEUP = 256  # drain the socket in batches without starving other callbacks
SILENT_FAULTS = frozenset({Fault.REFUSED, Fault.HANG})


# The demo's documented SNMP logins (SecretStr is immutable: one instance serves every default).
DEMO_COMMUNITY = SecretStr("public")
DEMO_AUTH_KEY = SecretStr("fleetmon-demo-auth")
DEMO_PRIV_KEY = SecretStr("fleetmon-demo-priv")


@dataclass(frozen=True, slots=True)
class SnmpSettings:
    """What every emulated device accepts. The v3 passwords below are documented demo keys."""

    community: SecretStr = DEMO_COMMUNITY
    user: str = "fleetmon"
    auth_protocol: AuthProtocol = "sha"
    auth_key: SecretStr = DEMO_AUTH_KEY
    priv_protocol: PrivProtocol = "aes"
    priv_key: SecretStr = DEMO_PRIV_KEY


def _varbind(oid_tlv: bytes, value: bytes) -> bytes:
    return ber.tlv(ber.SEQUENCE, oid_tlv + value)


def _end_of_view(oid: ber.Oid) -> bytes:
    return _varbind(ber.encode_oid(oid), bytes((ber.END_OF_MIB_VIEW, 0)))


def answer_pdu(device: EmulatedDevice, buf: bytes, pos: int, now: float, max_bytes: int = MAX_DATAGRAM - 100) -> bytes | None:
    """The Response-PDU to the request PDU at `pos` of `buf`, or None for PDUs an agent ignores."""
    tag, start, _ = ber.header(buf, pos)
    if tag not in (GET, GETNEXT, GETBULK, SET):
        return None
    _, after_id = ber.read_int(buf, start)
    request_id = buf[start:after_id]
    a, pos = ber.read_int(buf, after_id)
    b, pos = ber.read_int(buf, pos)
    list_start, list_end = ber.expect(buf, pos, ber.SEQUENCE)
    oids = ber.read_varbind_oids(buf, list_start, list_end)
    view = view_for(device)
    if tag == SET:
        error = ber.integer(NO_ACCESS) + ber.integer(1)
        varbinds = b"".join(_varbind(ber.encode_oid(oid), ber.NULL_VALUE) for oid in oids)
        return ber.tlv(RESPONSE, request_id + error + ber.tlv(ber.SEQUENCE, varbinds))
    parts: list[bytes] = []
    if tag == GET:
        parts = [_varbind(ber.encode_oid(oid), view.get(device, oid, now)) for oid in oids]
    else:
        non_repeaters = min(max(a, 0), len(oids)) if tag == GETBULK else len(oids)
        repetitions = max(b, 0) if tag == GETBULK else 0
        for oid in oids[:non_repeaters]:
            found = view.next(device, oid, now)
            parts.append(_varbind(ber.encode_oid(found[0]), found[1]) if found else _end_of_view(oid))
        parts.extend(_bulk(device, view, oids[non_repeaters:], repetitions, now, max_bytes - sum(map(len, parts))))
    body = request_id + b"\x02\x01\x00\x02\x01\x00" + ber.tlv(ber.SEQUENCE, b"".join(parts))
    return ber.tlv(RESPONSE, body)


def garbled_pdu(buf: bytes, pos: int) -> bytes:
    """A Response-PDU to the request at `pos` that no parser may trust: its varbind list claims 4 GiB."""
    _, start, _ = ber.header(buf, pos)
    _, after_id = ber.read_int(buf, start)
    return ber.tlv(RESPONSE, buf[start:after_id] + b"\x02\x01\x00\x02\x01\x00\x30\x84\xff\xff\xff\xff" + b"\x30" * 40)


def _bulk(device: EmulatedDevice, view: View, oids: list[ber.Oid], repetitions: int, now: float, budget: int) -> list[bytes]:
    """GETBULK's repeated part, row by row, cut at a whole row before the reply outgrows `budget`."""
    out: list[bytes] = []
    cursor = list(oids)
    size = 0
    for _ in range(min(repetitions, MAX_BULK_VARBINDS // max(len(oids), 1))):
        row = []
        done = True
        for i, oid in enumerate(cursor):
            found = view.next(device, oid, now)
            if found is None:
                row.append(_end_of_view(oid))
                continue
            done = False
            cursor[i] = found[0]
            row.append(_varbind(ber.encode_oid(found[0]), found[1]))
        size += sum(map(len, row))
        if size > budget:
            break
        out.extend(row)
        if done:
            break
    return out


@dataclass(slots=True)
class SnmpAgent:
    """One UDP socket answering for the whole fleet; `respond` is the socket-free core."""

    fleet: Fleet = field(repr=False)
    settings: SnmpSettings
    sock: socket.socket | None = None
    rng: random.Random = field(default_factory=random.Random)
    started: float = field(default_factory=time.time)
    usm: Usm | None = None
    _community: bytes = field(default=b"", repr=False)
    _loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        self._community = self.settings.community.get_secret_value().encode()
        self.usm = Usm(UsmUser.from_passwords(
            self.settings.user, self.settings.auth_protocol, self.settings.auth_key.get_secret_value(),
            self.settings.priv_protocol, self.settings.priv_key.get_secret_value()))

    def respond(self, device: EmulatedDevice, message: bytes, now: float) -> bytes | None:
        """The reply to `message` reaching `device`, or None when the device stays silent."""
        try:
            start, _ = ber.expect(message, 0, ber.SEQUENCE)
            version, pos = ber.read_int(message, start)
            if version == V2C:
                community, pdu_pos = ber.read_octets(message, pos)
                if community != self._community or Fault.WRONG_PASSWORD in device.faults:
                    return None
                hostile = Fault.GARBAGE_BER in device.faults
                pdu = garbled_pdu(message, pdu_pos) if hostile else answer_pdu(device, message, pdu_pos, now)
                return None if pdu is None else ber.tlv(ber.SEQUENCE, message[start:pdu_pos] + pdu)
            if version == 3 and self.usm is not None:
                engine = Engine(engine_id_for(device.device.id), 1, int(now - self.started))
                return self.usm.process(message, engine, lambda buf, at, size: answer_pdu(device, buf, at, now, size),
                                        password_changed=Fault.WRONG_PASSWORD in device.faults)
        except ber.BerError:
            return None
        return None

    def reachable(self, device: EmulatedDevice, now: float) -> bool:
        return not (device.faults.keys() & SILENT_FAULTS) and device.answers(now, self.rng)

    def _on_readable(self) -> None:
        sock = self.sock
        assert sock is not None
        for _ in range(READS_PER_WAKEUP):
            try:
                message, ancillary, _, source = sock.recvmsg(MAX_DATAGRAM, CMSG_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP port unreachable from an earlier reply
                log.debug("snmp recvmsg: %s", exc)
                continue
            if not is_loopback_peer(source[0]):
                continue
            local = next((data[8:12] for level, kind, data in ancillary if level == socket.IPPROTO_IP and kind == IP_PKTINFO), None)
            device = self.fleet.at(socket.inet_ntoa(local)) if local is not None else None
            if local is None or device is None:
                continue
            now = time.time()
            if not self.reachable(device, now):
                continue
            reply = self.respond(device, message, now)
            if reply is not None and Fault.SLOW in device.faults:
                assert self._loop is not None
                self._loop.call_later(device.param(Fault.SLOW), self._send, reply, local, source)
            elif reply is not None:
                self._send(reply, local, source)

    def _send(self, reply: bytes, local: bytes, destination: tuple[str, int]) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, PKTINFO.pack(0, local, b"\x00" * 4))], 0, destination)
        except OSError as exc:  # a full send buffer drops the datagram, as UDP does
            log.debug("snmp sendmsg: %s", exc)

    def close(self) -> None:
        if self.sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None


async def start_snmp(fleet: Fleet, port: int, settings: SnmpSettings | None = None) -> SnmpAgent:
    """Serve `fleet` over SNMP on UDP `port` of every loopback address; `close()` stops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sock.setblocking(False)
        bind_loopback(sock, WILDCARD, port)
    except OSError:
        sock.close()
        raise
    agent = SnmpAgent(fleet, settings or SnmpSettings(), sock)
    agent._loop = asyncio.get_running_loop()
    agent._loop.add_reader(sock.fileno(), agent._on_readable)
    return agent
