"""SNMPv3 User-based Security Model (RFC 3414, 3826, 7860): keys, digests, privacy, message layout.

Shared by both ends so there is one USM: the probe's client signs requests and checks replies
with it, the simulator's agent (`fleetmon.simulator.usm`) does the reverse. Everything is plain bytes
in, bytes out; which engine and user a message belongs to is the caller's business.

    password_to_key   RFC 3414 A.2: one megabyte hashed (a few ms) -> cached, bounded
    localize          Ku -> Kul for one authoritative engine: one small hash
    build_message     a whole v3 message, encrypted and signed as `flags` say
    parse_message     the header and security parameters of a v3 message, by offsets
    verify            the HMAC of a received message
Auth: HMAC-MD5-96, HMAC-SHA-96 and the SHA-2 family; privacy: DES-CBC and AES-128-CFB.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fleetmon.probes.snmp import ber

# auth protocol -> (hash name, digest bytes sent in msgAuthenticationParameters)
AUTH_PROTOCOLS = {"md5": ("md5", 12), "sha": ("sha1", 12), "sha224": ("sha224", 16), "sha256": ("sha256", 24),
                  "sha384": ("sha384", 32), "sha512": ("sha512", 48)}
PRIV_PROTOCOLS = ("des", "aes")
TIME_WINDOW = 150  # seconds, RFC 3414 3.2.7
REPORT = 0xA8
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 1, 2, 4
USM_SECURITY_MODEL = 3

_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS = _STATS + (1, 0)
NOT_IN_TIME_WINDOWS = _STATS + (2, 0)
UNKNOWN_USER_NAMES = _STATS + (3, 0)
UNKNOWN_ENGINE_IDS = _STATS + (4, 0)
WRONG_DIGESTS = _STATS + (5, 0)
DECRYPTION_ERRORS = _STATS + (6, 0)


@lru_cache(maxsize=256)
def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: hash one megabyte of the repeated password. Cached: a fleet shares few passwords."""
    if not password:
        raise ValueError("an SNMPv3 key needs a non-empty password")
    repeated = password * (1_048_576 // len(password) + 1)
    return hashlib.new(hash_name, repeated[:1_048_576]).digest()


def localize(key: bytes, engine_id: bytes, hash_name: str) -> bytes:
    return hashlib.new(hash_name, key + engine_id + key).digest()


@dataclass(frozen=True, slots=True)
class LocalizedKeys:
    """One user's keys for one authoritative engine; `priv_protocol` None means authNoPriv."""

    auth_protocol: str
    auth: bytes = field(repr=False)
    priv_protocol: str | None = None
    priv: bytes = field(default=b"", repr=False)

    @property
    def digest_size(self) -> int:
        return AUTH_PROTOCOLS[self.auth_protocol][1]

    def digest(self, message: bytes) -> bytes:
        hash_name, size = AUTH_PROTOCOLS[self.auth_protocol]
        return hmac.new(self.auth, message, hash_name).digest()[:size]


def _cipher(protocol: str, key: bytes, boots: int, time: int, salt: bytes) -> Cipher:  # type: ignore[type-arg]
    if protocol == "aes":
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
        return Cipher(algorithms.AES(key[:16]), CFB(iv))
    iv = bytes(a ^ b for a, b in zip(key[8:16], salt, strict=True))
    return Cipher(TripleDES(key[:8] * 3), modes.CBC(iv))  # one key thrice: plain DES


def decrypt(protocol: str, key: bytes, boots: int, time: int, salt: bytes, data: bytes) -> bytes:
    """The plaintext ScopedPDU; `boots`/`time` are the ones the sender put in the message."""
    if len(salt) != 8 or (protocol == "des" and len(data) % 8):
        raise ber.BerError("bad privacy parameters")
    decryptor = _cipher(protocol, key, boots, time, salt).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def encrypt(protocol: str, key: bytes, boots: int, time: int, data: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, salt sent as msgPrivacyParameters)."""
    salt = boots.to_bytes(4, "big") + os.urandom(4) if protocol == "des" else os.urandom(8)
    if protocol == "des":
        data += b"\x00" * (-len(data) % 8)
    encryptor = _cipher(protocol, key, boots, time, salt).encryptor()
    return encryptor.update(data) + encryptor.finalize(), salt


@dataclass(frozen=True, slots=True)
class Message:
    """A v3 message's header and USM parameters; offsets point into the raw bytes."""

    msg_id: int
    max_size: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_start: int  # offset of msgAuthenticationParameters' content
    auth_end: int
    salt: bytes
    data_pos: int  # offset of msgData: a plaintext ScopedPDU or an encrypted OCTET STRING


def parse_message(message: bytes) -> Message | None:
    """None for another version or security model; `BerError` for malformed bytes."""
    start, _ = ber.expect(message, 0, ber.SEQUENCE)
    version, pos = ber.read_int(message, start)
    if version != 3:
        return None
    header_start, header_end = ber.expect(message, pos, ber.SEQUENCE)
    msg_id, pos = ber.read_int(message, header_start)
    max_size, pos = ber.read_int(message, pos)
    flags, pos = ber.read_octets(message, pos)
    model, _ = ber.read_int(message, pos)
    if model != USM_SECURITY_MODEL or len(flags) != 1:
        return None
    params_start, data_pos = ber.expect(message, header_end, ber.OCTET_STRING)
    seq_start, _ = ber.expect(message, params_start, ber.SEQUENCE)
    engine_id, pos = ber.read_octets(message, seq_start)
    boots, pos = ber.read_int(message, pos)
    time, pos = ber.read_int(message, pos)
    user, pos = ber.read_octets(message, pos)
    auth_start, auth_end = ber.expect(message, pos, ber.OCTET_STRING)
    salt, _ = ber.read_octets(message, auth_end)
    return Message(msg_id, max_size, flags[0], engine_id, boots, time, user, auth_start, auth_end, salt, data_pos)


def verify(message: bytes, parsed: Message, keys: LocalizedKeys) -> bool:
    """Whether the message carries the right HMAC (computed with its auth parameters zeroed)."""
    size = parsed.auth_end - parsed.auth_start
    if size != keys.digest_size:
        return False
    zeroed = message[:parsed.auth_start] + b"\x00" * size + message[parsed.auth_end:]
    return hmac.compare_digest(keys.digest(zeroed), message[parsed.auth_start:parsed.auth_end])


def scoped_plaintext(message: bytes, parsed: Message, keys: LocalizedKeys | None) -> bytes:
    """The ScopedPDU of a message whose digest was checked (decrypted when the priv flag is set)."""
    if not parsed.flags & FLAG_PRIV:
        return message[parsed.data_pos:]
    if keys is None or keys.priv_protocol is None:
        raise ber.BerError("encrypted message without a privacy key")
    cipher, _ = ber.read_octets(message, parsed.data_pos)
    return decrypt(keys.priv_protocol, keys.priv, parsed.boots, parsed.time, parsed.salt, cipher)


def build_message(msg_id: int, max_size: int, flags: int, engine_id: bytes, boots: int, time: int, user: bytes,
                  scoped: bytes, keys: LocalizedKeys | None) -> bytes:
    """A whole v3 message around the plaintext `scoped` PDU, encrypted and signed as `flags` ask."""
    salt = b""
    if flags & FLAG_PRIV and keys is not None and keys.priv_protocol is not None:
        cipher, salt = encrypt(keys.priv_protocol, keys.priv, boots, time, scoped)
        scoped = ber.octets(cipher)
    digest_size = keys.digest_size if flags & FLAG_AUTH and keys is not None else 0
    head = ber.octets(engine_id) + ber.integer(boots) + ber.integer(time) + ber.octets(user)
    params = ber.tlv(ber.SEQUENCE, head + ber.octets(b"\x00" * digest_size) + ber.octets(salt))
    header = ber.tlv(ber.SEQUENCE, ber.integer(msg_id) + ber.integer(max_size) + ber.octets(bytes((flags,)))
                     + ber.integer(USM_SECURITY_MODEL))
    whole = ber.tlv(ber.SEQUENCE, ber.integer(3) + header + ber.octets(params) + scoped)
    if not digest_size or keys is None:
        return whole
    # The zeroed digest ends where the security parameters end, minus the salt's TLV.
    end = len(whole) - len(scoped) - len(ber.octets(salt))
    return whole[:end - digest_size] + keys.digest(whole) + whole[end:]
