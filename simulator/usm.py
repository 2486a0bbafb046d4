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
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from probes import ber

# auth protocol -> (hash name, digest bytes sent in msgAuthenticationParameters)
AUTH_PROTOCOLS = {"md5": ("md5", 12), "sha": ("sha1", 12), "sha224": ("sha224", 16), "sha256": ("sha256", 24),
                  "sha384": ("sha384", 32), "sha512": ("sha512", 48)}
PRIV_PROTOCOLS = ("des", "aes")
TIME_WINDOW = 150  # seconds, RFC 3414 3.2.7
REPORT = 0xA8
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 1, 2, 4

_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS = _STATS + (1, 0)
NOT_IN_TIME_WINDOWS = _STATS + (2, 0)
UNKNOWN_USER_NAMES = _STATS + (3, 0)
UNKNOWN_ENGINE_IDS = _STATS + (4, 0)
WRONG_DIGESTS = _STATS + (5, 0)
DECRYPTION_ERRORS = _STATS + (6, 0)


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: hash one megabyte of the repeated password (a few ms; done once)."""
    if not password:
        raise ValueError("an SNMPv3 key needs a non-empty password")
    repeated = password * (1_048_576 // len(password) + 1)
    return hashlib.new(hash_name, repeated[:1_048_576]).digest()


def localize(key: bytes, engine_id: bytes, hash_name: str) -> bytes:
    return hashlib.new(hash_name, key + engine_id + key).digest()


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

    def keys(self, engine_id: bytes) -> tuple[bytes, bytes]:
        hash_name = AUTH_PROTOCOLS[self.auth_protocol][0]
        return localize(self.auth_master, engine_id, hash_name), localize(self.priv_master, engine_id, hash_name)

    def digest(self, auth_key: bytes, message: bytes) -> bytes:
        hash_name, size = AUTH_PROTOCOLS[self.auth_protocol]
        return hmac.new(auth_key, message, hash_name).digest()[:size]

    @property
    def digest_size(self) -> int:
        return AUTH_PROTOCOLS[self.auth_protocol][1]


@dataclass(frozen=True, slots=True)
class Engine:
    """The authoritative engine a message reaches: one emulated device."""

    id: bytes
    boots: int
    time: int


def _cipher(user: UsmUser, priv_key: bytes, engine: Engine, salt: bytes) -> Cipher:  # type: ignore[type-arg]
    if user.priv_protocol == "aes":
        iv = engine.boots.to_bytes(4, "big") + engine.time.to_bytes(4, "big") + salt
        return Cipher(algorithms.AES(priv_key[:16]), CFB(iv))
    iv = bytes(a ^ b for a, b in zip(priv_key[8:16], salt, strict=True))
    return Cipher(TripleDES(priv_key[:8] * 3), modes.CBC(iv))  # one key thrice: plain DES


def decrypt(user: UsmUser, priv_key: bytes, engine: Engine, salt: bytes, data: bytes) -> bytes:
    if len(salt) != 8 or (user.priv_protocol == "des" and len(data) % 8):
        raise ber.BerError("bad privacy parameters")
    decryptor = _cipher(user, priv_key, engine, salt).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def encrypt(user: UsmUser, priv_key: bytes, engine: Engine, data: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, salt sent as msgPrivacyParameters)."""
    salt = engine.boots.to_bytes(4, "big") + os.urandom(4) if user.priv_protocol == "des" else os.urandom(8)
    if user.priv_protocol == "des":
        data += b"\x00" * (-len(data) % 8)
    encryptor = _cipher(user, priv_key, engine, salt).encryptor()
    return encryptor.update(data) + encryptor.finalize(), salt


@dataclass(slots=True)
class _Request:
    msg_id: int
    max_size: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_start: int  # offset of msgAuthenticationParameters' content in the message
    auth_end: int
    salt: bytes
    data_pos: int


def _parse(message: bytes) -> _Request | None:
    start, _ = ber.expect(message, 0, ber.SEQUENCE)
    version, pos = ber.read_int(message, start)
    if version != 3:
        return None
    header_start, header_end = ber.expect(message, pos, ber.SEQUENCE)
    msg_id, pos = ber.read_int(message, header_start)
    max_size, pos = ber.read_int(message, pos)
    flags, pos = ber.read_octets(message, pos)
    model, _ = ber.read_int(message, pos)
    if model != 3 or len(flags) != 1:
        return None
    params_start, data_pos = ber.expect(message, header_end, ber.OCTET_STRING)
    seq_start, _ = ber.expect(message, params_start, ber.SEQUENCE)
    engine_id, pos = ber.read_octets(message, seq_start)
    boots, pos = ber.read_int(message, pos)
    time, pos = ber.read_int(message, pos)
    user, pos = ber.read_octets(message, pos)
    auth_start, auth_end = ber.expect(message, pos, ber.OCTET_STRING)
    salt, _ = ber.read_octets(message, auth_end)
    return _Request(msg_id, max_size, flags[0], engine_id, boots, time, user, auth_start, auth_end, salt, data_pos)


def _request_id(scoped: bytes, pos: int = 0) -> tuple[int, int]:
    """(request-id, position of the PDU) in a plaintext ScopedPDU."""
    start, _ = ber.expect(scoped, pos, ber.SEQUENCE)
    _, after_context = ber.read_octets(scoped, start)
    _, pdu_pos = ber.read_octets(scoped, after_context)
    _, pdu_start, _ = ber.header(scoped, pdu_pos)
    request_id, _ = ber.read_int(scoped, pdu_start)
    return request_id, pdu_pos


def _message(request: _Request, engine: Engine, flags: int, scoped: bytes, user: UsmUser | None,
             keys: tuple[bytes, bytes] | None) -> bytes:
    salt = b""
    if flags & FLAG_PRIV and user and keys:
        cipher, salt = encrypt(user, keys[1], engine, scoped)
        scoped = ber.octets(cipher)
    digest_size = user.digest_size if flags & FLAG_AUTH and user else 0
    head = ber.octets(engine.id) + ber.integer(engine.boots) + ber.integer(engine.time) + ber.octets(request.user)
    params = ber.tlv(ber.SEQUENCE, head + ber.octets(b"\x00" * digest_size) + ber.octets(salt))
    header = ber.tlv(ber.SEQUENCE, ber.integer(request.msg_id) + ber.integer(request.max_size)
                     + ber.octets(bytes((flags,))) + ber.integer(3))
    body = ber.integer(3) + header + ber.octets(params) + scoped
    whole = ber.tlv(ber.SEQUENCE, body)
    if not digest_size or not user or not keys:
        return whole
    # The placeholder ends where `params` ends minus the (empty or 8-byte) salt TLV.
    params_end = len(whole) - len(scoped)
    end = params_end - len(ber.octets(salt))
    return whole[:end - digest_size] + user.digest(keys[0], whole) + whole[end:]


def _report(request: _Request, engine: Engine, request_id: int, stat: ber.Oid, count: int, flags: int = 0,
            user: UsmUser | None = None, keys: tuple[bytes, bytes] | None = None) -> bytes:
    varbind = ber.tlv(ber.SEQUENCE, ber.encode_oid(stat) + ber.integer(count, ber.COUNTER32))
    pdu = ber.tlv(REPORT, ber.integer(request_id) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQUENCE, varbind))
    scoped = ber.tlv(ber.SEQUENCE, ber.octets(engine.id) + ber.octets(b"") + pdu)
    return _message(request, engine, flags, scoped, user, keys)


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
        request = _parse(message)
        if request is None:
            return None
        plain_id = 0
        if not request.flags & FLAG_PRIV:
            plain_id, _ = _request_id(message, request.data_pos)

        def report(stat: ber.Oid, flags: int = 0, keys: tuple[bytes, bytes] | None = None) -> bytes | None:
            if not request.flags & FLAG_REPORTABLE:
                return None
            return _report(request, engine, plain_id, stat, self._count(stat), flags, self.user, keys)

        if request.engine_id != engine.id:
            return report(UNKNOWN_ENGINE_IDS)
        if request.user != self.user.name:
            return report(UNKNOWN_USER_NAMES)
        if not request.flags & FLAG_AUTH:
            return report(UNSUPPORTED_SEC_LEVELS)
        keys = self.user.keys(engine.id)
        signed = request.auth_end - request.auth_start == self.user.digest_size
        zeroed = message[:request.auth_start] + b"\x00" * (request.auth_end - request.auth_start) + message[request.auth_end:]
        if password_changed or not signed or not hmac.compare_digest(
                self.user.digest(keys[0], zeroed), message[request.auth_start:request.auth_end]):
            return report(WRONG_DIGESTS)
        if request.boots != engine.boots or abs(request.time - engine.time) > TIME_WINDOW:
            return report(NOT_IN_TIME_WINDOWS, FLAG_AUTH, keys)
        scoped = message[request.data_pos:]
        if request.flags & FLAG_PRIV:
            try:
                cipher, _ = ber.read_octets(message, request.data_pos)
                scoped = decrypt(self.user, keys[1], Engine(engine.id, request.boots, request.time), request.salt, cipher)
                _request_id(scoped)
            except (ber.BerError, ValueError):
                return report(DECRYPTION_ERRORS, FLAG_AUTH, keys)
        _, pdu_pos = _request_id(scoped)
        context_start, _ = ber.expect(scoped, 0, ber.SEQUENCE)
        pdu = answer(scoped, pdu_pos, min(request.max_size, 65507) - 200)
        if pdu is None:
            return None
        reply = ber.tlv(ber.SEQUENCE, scoped[context_start:pdu_pos] + pdu)
        return _message(request, engine, request.flags & (FLAG_AUTH | FLAG_PRIV), reply, self.user, keys)
