"""The few BER encodings SNMP needs, by hand: pyasn1 costs ~1 ms a message, this ~20 µs.

One codec for both ends: the SNMP probe's client (`fleetmon.probes.snmp.client`) and the simulator's
agent. Only definite lengths and the universal/application types SNMP uses. Encoders return
whole TLVs (tag, length, content) as bytes so a message is assembled by concatenation; the
decoder walks a buffer by offsets and never copies what it does not keep. Malformed input
raises `BerError`: the agent drops the packet, as real agents do; the probe reports a
protocol error. Lengths are checked against the buffer before anything is read, so a
hostile length field costs nothing.
"""

from __future__ import annotations

from functools import lru_cache

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

Oid = tuple[int, ...]


class BerError(ValueError):
    """The bytes are not the BER the agent expects."""


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def integer(value: int, tag: int = INTEGER) -> bytes:
    """A signed INTEGER; for the unsigned application types pass a non-negative value and their tag."""
    return tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def octets(value: bytes | str) -> bytes:
    return tlv(OCTET_STRING, value.encode() if isinstance(value, str) else value)


# Every device of a fleet answers the same OIDs: their encodings are memoised (bounded).
OID_CACHE = 1 << 16


@lru_cache(maxsize=OID_CACHE)
def encode_oid(oid: Oid) -> bytes:
    out = bytearray((oid[0] * 40 + oid[1],))
    for sub in oid[2:]:
        if sub < 0x80:
            out.append(sub)
            continue
        chunk = [sub & 0x7F]
        sub >>= 7
        while sub:
            chunk.append(0x80 | (sub & 0x7F))
            sub >>= 7
        out.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(out))


def parse_oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


NULL_VALUE = b"\x05\x00"


def header(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos`."""
    try:
        tag = buf[pos]
        first = buf[pos + 1]
    except IndexError:
        raise BerError("truncated TLV") from None
    start = pos + 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 4:
            raise BerError("unsupported length")
        length = int.from_bytes(buf[start:start + count], "big")
        start += count
    else:
        length = first
    end = start + length
    if end > len(buf):
        raise BerError("TLV runs past the end")
    return tag, start, end


def expect(buf: bytes, pos: int, tag: int) -> tuple[int, int]:
    """(content start, content end) of the TLV at `pos`, which must carry `tag`."""
    got, start, end = header(buf, pos)
    if got != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{got:02x}")
    return start, end


def read_int(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, position after) of the INTEGER at `pos`."""
    start, end = expect(buf, pos, INTEGER)
    return int.from_bytes(buf[start:end], "big", signed=True), end


def read_octets(buf: bytes, pos: int) -> tuple[bytes, int]:
    start, end = expect(buf, pos, OCTET_STRING)
    return buf[start:end], end


MAX_OID_LENGTH = 128  # RFC 2578 section 3.5
MAX_SUBIDENTIFIER = 0xFFFFFFFF


@lru_cache(maxsize=OID_CACHE)
def decode_oid(content: bytes) -> Oid:
    if not content or len(content) > MAX_OID_LENGTH * 5:
        raise BerError("empty or oversized OID")
    first = content[0]
    out = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    sub = 0
    for byte in content[1:]:
        sub = (sub << 7) | (byte & 0x7F)
        if sub > MAX_SUBIDENTIFIER:
            raise BerError("OID sub-identifier out of range")
        if not byte & 0x80:
            out.append(sub)
            sub = 0
    return tuple(out)


Varbind = tuple[Oid, int, bytes]  # (name, value tag, value content)


def read_varbinds(buf: bytes, start: int, end: int) -> list[Varbind]:
    """The varbinds of a VarBindList, values left as (tag, content) for the caller to read.

    Hot on both ends: a varbind and its OID under 128 bytes (all but exotic ones) are read
    inline; longer forms take the general `header` path.
    """
    varbinds = []
    pos = start
    try:
        while pos < end:
            if buf[pos] == SEQUENCE and buf[pos + 1] < 0x80 and buf[pos + 2] == OBJECT_IDENTIFIER and buf[pos + 3] < 0x80:
                vb_end = pos + 2 + buf[pos + 1]
                oid_start, oid_end = pos + 4, pos + 4 + buf[pos + 3]
            else:
                vb_start, vb_end = expect(buf, pos, SEQUENCE)
                oid_start, oid_end = expect(buf, vb_start, OBJECT_IDENTIFIER)
            tag, value_start, value_end = header(buf, oid_end)
            if value_end != vb_end or vb_end > end:
                raise BerError("varbind and its value disagree on length")
            varbinds.append((decode_oid(buf[oid_start:oid_end]), tag, buf[value_start:value_end]))
            pos = vb_end
    except IndexError:
        raise BerError("truncated varbind") from None
    if pos != end:
        raise BerError("varbind runs past its list")
    return varbinds


def read_varbind_oids(buf: bytes, start: int, end: int) -> list[Oid]:
    """The OIDs of a VarBindList (values of a request are NULL and ignored)."""
    return [oid for oid, _, _ in read_varbinds(buf, start, end)]


SIGNED_TAGS = frozenset((INTEGER,))


def to_int(tag: int, content: bytes) -> int:
    """An INTEGER (signed) or Counter32/Gauge32/TimeTicks/Counter64 (unsigned) value."""
    if not content or len(content) > 9:
        raise BerError("integer of unsupported size")
    return int.from_bytes(content, "big", signed=tag in SIGNED_TAGS)
