"""SNMPv3 User-based Security Model (RFC 3414, 3826, 7860) for the simulator's agent.

Correctness over speed: net-snmp's `snmpget -v3 -l authPriv` must accept the emulated device,
including engine-ID discovery and the time-window exchange. Each device is its own
authoritative engine (its engine ID derives from its device id), so keys are localised per
device: one cheap hash, while the expensive password-to-key step runs once per agent.

    process()   one incoming v3 message -> the reply bytes (a response or a report), or None
    reports     usmStatsUnknownEngineIDs (discovery), UnknownUserNames, UnsupportedSecLevels,
                WrongDigests (also while the device's password is "changed"), NotInTimeWindows,
                DecryptionErrors
Auth: HMAC-MD5-96, HMAC-SHA-96 and the SHA-2 family; privacy: DES-CBC and AES-128-CFB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.usm import (
    AUTH_PROTOCOLS,
    DECRYPTION_ERRORS,
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    NOT_IN_TIME_WINDOWS,
    PRIV_PROTOCOLS,
    REPORT,
    TIME_WINDOW,
    UNKNOWN_ENGINE_IDS,
    UNKNOWN_USER_NAMES,
    UNSUPPORTED_SEC_LEVELS,
    WRONG_DIGESTS,
    LocalizedKeys,
    Message,
    build_message,
    localize,
    parse_message,
    password_to_key,
    scoped_plaintext,
    verify,
)


def engine_id_for(device_id: str) -> bytes:
    """RFC 3411 SnmpEngineID, format 5 (octets) under net-snmp's enterprise number."""
    return b"\x80\x00\x1f\x88\x05" + hashlib.sha1(device_id.encode()).digest()[:8]


@dataclass(frozen=True, slots=True)
class UsmUser:
    """A user with its master keys (Ku); localised keys are derived per engine."""

    name: bytes
    auth_protocol: str
    priv_protocol: str
    auth_master: bytes = field(repr=False)
    priv_master: bytes = field(repr=False)

    @classmethod
    def from_passwords(cls, name: str, auth_protocol: str, auth_password: str, priv_protocol: str,
                       priv_password: str) -> UsmUser:
        if auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(f"unsupported SNMPv3 auth protocol {auth_protocol!r}")
        if priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"unsupported SNMPv3 privacy protocol {priv_protocol!r} (des or aes)")
        hash_name = AUTH_PROTOCOLS[auth_protocol][0]
        return cls(name.encode(), auth_protocol, priv_protocol,
                   password_to_key(auth_password.encode(), hash_name), password_to_key(priv_password.encode(), hash_name))

    def keys(self, engine_id: bytes) -> LocalizedKeys:
        hash_name = AUTH_PROTOCOLS[self.auth_protocol][0]
        return LocalizedKeys(self.auth_protocol, localize(self.auth_master, engine_id, hash_name),
                             self.priv_protocol, localize(self.priv_master, engine_id, hash_name))


@dataclass(frozen=True, slots=True)
class Engine:
    """The authoritative engine a message reaches: one emulated device."""

    id: bytes
    boots: int
    time: int


def _request_id(scoped: bytes, pos: int = 0) -> tuple[int, int]:
    """(request-id, position of the PDU) in a plaintext ScopedPDU."""
    start, _ = ber.expect(scoped, pos, ber.SEQUENCE)
    _, after_context = ber.read_octets(scoped, start)
    _, pdu_pos = ber.read_octets(scoped, after_context)
    _, pdu_start, _ = ber.header(scoped, pdu_pos)
    request_id, _ = ber.read_int(scoped, pdu_start)
    return request_id, pdu_pos


def _message(request: Message, engine: Engine, flags: int, scoped: bytes, keys: LocalizedKeys | None) -> bytes:
    return build_message(request.msg_id, request.max_size, flags, engine.id, engine.boots, engine.time, request.user,
                         scoped, keys)


def _report(request: Message, engine: Engine, request_id: int, stat: ber.Oid, count: int, flags: int = 0,
            keys: LocalizedKeys | None = None) -> bytes:
    varbind = ber.tlv(ber.SEQUENCE, ber.encode_oid(stat) + ber.integer(count, ber.COUNTER32))
    pdu = ber.tlv(REPORT, ber.integer(request_id) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQUENCE, varbind))
    scoped = ber.tlv(ber.SEQUENCE, ber.octets(engine.id) + ber.octets(b"") + pdu)
    return _message(request, engine, flags, scoped, keys)


Answer = Callable[[bytes, int, int], "bytes | None"]  # (plaintext, PDU position, max reply size) -> PDU


@dataclass(slots=True)
class Usm:
    """The agent's USM: one user, its statistics counters, and the per-message procedure."""

    user: UsmUser
    counters: dict[ber.Oid, int] = field(default_factory=dict)

    def _count(self, stat: ber.Oid) -> int:
        self.counters[stat] = self.counters.get(stat, 0) + 1
        return self.counters[stat]

    def process(self, message: bytes, engine: Engine, answer: Answer, password_changed: bool = False) -> bytes | None:
        """The reply to one v3 message reaching `engine`, or None to stay silent."""
        request = parse_message(message)
        if request is None:
            return None
        plain_id = 0
        if not request.flags & FLAG_PRIV:
            plain_id, _ = _request_id(message, request.data_pos)

        def report(stat: ber.Oid, flags: int = 0, keys: LocalizedKeys | None = None) -> bytes | None:
            if not request.flags & FLAG_REPORTABLE:
                return None
            return _report(request, engine, plain_id, stat, self._count(stat), flags, keys)

        if request.engine_id != engine.id:
            return report(UNKNOWN_ENGINE_IDS)
        if request.user != self.user.name:
            return report(UNKNOWN_USER_NAMES)
        if not request.flags & FLAG_AUTH:
            return report(UNSUPPORTED_SEC_LEVELS)
        keys = self.user.keys(engine.id)
        if password_changed or not verify(message, request, keys):
            return report(WRONG_DIGESTS)
        if request.boots != engine.boots or abs(request.time - engine.time) > TIME_WINDOW:
            return report(NOT_IN_TIME_WINDOWS, FLAG_AUTH, keys)
        try:
            scoped = scoped_plaintext(message, request, keys)
            _, pdu_pos = _request_id(scoped)
        except (ber.BerError, ValueError):
            return report(DECRYPTION_ERRORS, FLAG_AUTH, keys)
        context_start, _ = ber.expect(scoped, 0, ber.SEQUENCE)
        pdu = answer(scoped, pdu_pos, min(request.max_size, 65507) - 200)
        if pdu is None:
            return None
        reply = ber.tlv(ber.SEQUENCE, scoped[context_start:pdu_pos] + pdu)
        return _message(request, engine, request.flags & (FLAG_AUTH | FLAG_PRIV), reply, keys)
