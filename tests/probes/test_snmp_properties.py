"""Properties of the SNMP answer parsers over any values an agent can send (issue 14, "prove the rest").

An in-process agent answers the probe's GETBULKs from a table of arbitrary values: any tag, any
size, negative and huge numbers, octet strings of undecodable bytes, columns missing from rows, in
the standard tables and in the vendor MIBs of `fleetmon/probes/data/vendors.yaml`. Whatever they
hold, the probe ends `ok` with sane readings or `protocol_error` with one bounded line: never an
exception, never a volume fuller than its size, a negative free space, an infinite temperature or
an identity that is not short printable text.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from typing import cast

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.client import Reply, Request, SnmpClient
from fleetmon.probes.snmp.oids import (
    ENT_CLASS,
    ENT_COLUMNS,
    ENT_PHYSICAL_ENTRY,
    ENT_SENSOR_COLUMNS,
    ENT_SENSOR_ENTRY,
    HR_DEVICE_COLUMNS,
    HR_DEVICE_DESCR,
    HR_DEVICE_DISK_STORAGE,
    HR_DEVICE_ENTRY,
    HR_DEVICE_TYPE,
    HR_DISK_COLUMNS,
    HR_DISK_STORAGE_ENTRY,
    HR_STORAGE_COLUMNS,
    HR_STORAGE_DESCR,
    HR_STORAGE_ENTRY,
    HR_STORAGE_FIXED_DISK,
    HR_STORAGE_TYPE,
    HR_SYSTEM_DATE,
    HR_SYSTEM_UPTIME,
    IF_COLUMNS,
    IF_DESCR,
    IF_ENTRY,
    IFX_ENTRY,
    IFX_HC_IN_OCTETS,
    SNMP_ENGINE_TIME,
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    vendor_mibs,
)
from fleetmon.probes.snmp.probe import SnmpResult, date_and_time, probe_snmp
from fleetmon.probes.target import Credentials, SnmpV2c, Target
from fleetmon.probes.text import MAX_TEXT

Value = tuple[int, bytes]
NUMBER_TAGS = (ber.INTEGER, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64)
ROWS = (1, 2, 3)

def _content(encoded: bytes) -> bytes:
    """The content of one TLV, as a varbind holds its value."""
    _, start, end = ber.header(encoded, 0)
    return encoded[start:end]


def _int(number: int) -> bytes:
    return _content(ber.integer(number))


def _oid(oid: tuple[int, ...]) -> bytes:
    return _content(ber.encode_oid(oid))


_OIDS = st.lists(st.integers(0, 2**32), max_size=10).map(lambda o: (1, 3, *o))
_NUMBER = st.integers(-(2**70), 2**70) | st.integers(0, 2**32) | st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, -(2**31)])
_TEXT = (st.binary(max_size=300)
         | st.text(max_size=300).map(str.encode)
         | st.sampled_from([b"\xff\xfe\x00", b"\x1b[31mred\x1b[0m", b"line\r\nnext", b"\x00" * 8, b"\x01\x02\x03\x04\x05\x06",
                            b"9" * 400, b"1e308 GB", b"nan", b"-5 GB", b"inf MB", b"100", b"\t\x0b\x0c\x7f\xc2\x85"]))
_VALUE: st.SearchStrategy[Value] = st.one_of(
    st.tuples(st.sampled_from(NUMBER_TAGS), _NUMBER.map(_int)),
    st.tuples(st.sampled_from(NUMBER_TAGS), st.binary(max_size=12)),
    st.tuples(st.just(ber.OCTET_STRING), _TEXT),
    st.tuples(st.just(ber.OBJECT_IDENTIFIER), _OIDS.map(_oid) | st.binary(max_size=10)
              | st.sampled_from([_oid(HR_STORAGE_FIXED_DISK), _oid(HR_DEVICE_DISK_STORAGE)])),
    st.tuples(st.sampled_from([ber.NULL, ber.IP_ADDRESS, ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE]), st.binary(max_size=6)),
)


SCALARS = [oid + (0,) for oid in (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, HR_SYSTEM_DATE, HR_SYSTEM_UPTIME, SNMP_ENGINE_TIME)]
TABLES = [(IF_ENTRY, IF_COLUMNS), (IFX_ENTRY, (IFX_HC_IN_OCTETS,)), (HR_STORAGE_ENTRY, HR_STORAGE_COLUMNS),
          (HR_DEVICE_ENTRY, HR_DEVICE_COLUMNS), (HR_DISK_STORAGE_ENTRY, HR_DISK_COLUMNS),
          (ENT_PHYSICAL_ENTRY, ENT_COLUMNS), (ENT_SENSOR_ENTRY, ENT_SENSOR_COLUMNS)]
FAMILIES = sorted(vendor_mibs().families)
_NUMBER_CELL = st.tuples(st.sampled_from(NUMBER_TAGS), _NUMBER.map(_int))
_TEXT_CELL = st.tuples(st.just(ber.OCTET_STRING), _TEXT)
_TYPE_CELL = st.tuples(st.just(ber.OBJECT_IDENTIFIER), st.sampled_from([_oid(HR_STORAGE_FIXED_DISK), _oid(HR_DEVICE_DISK_STORAGE)]))
# Columns holding text or a type OID; every other column holds a number (or a state code as text).
_TEXT_COLUMNS = {(IF_ENTRY, IF_DESCR), (HR_STORAGE_ENTRY, HR_STORAGE_DESCR), (HR_DEVICE_ENTRY, HR_DEVICE_DESCR),
                 *((ENT_PHYSICAL_ENTRY, c) for c in ENT_COLUMNS if c != ENT_CLASS)}
_TYPE_COLUMNS = {(HR_STORAGE_ENTRY, HR_STORAGE_TYPE), (HR_DEVICE_ENTRY, HR_DEVICE_TYPE)}
for _family in vendor_mibs().families.values():
    _TEXT_COLUMNS |= {(t.entry, t.columns["name"]) for t in (*_family.disk_tables, *_family.sensor_tables) if "name" in t.columns}


def _cell(entry: tuple[int, ...], column: int) -> st.SearchStrategy[Value]:
    """A cell of the type its column holds, with values no MIB allows; now and then of any type at all."""
    typed = (_TEXT_CELL if (entry, column) in _TEXT_COLUMNS else _TYPE_CELL if (entry, column) in _TYPE_COLUMNS
             else _NUMBER_CELL | _TEXT_CELL.filter(lambda v: len(v[1]) < 12))
    return st.integers(0, 3).flatmap(lambda n: typed if n else _VALUE)


Case = tuple[dict[tuple[int, ...], Value], str, str]  # what the agent holds, the inventory's kind and brand


@st.composite
def _agents(draw: st.DrawFn) -> Case:
    """A unit of a family (the inventory's brand or its sysObjectID says which): some scalars, some whole
    rows of the standard tables and its family's (any column may be missing)."""
    family = vendor_mibs().family(draw(st.sampled_from(["", *FAMILIES])))
    scalars = draw(st.lists(st.sampled_from(SCALARS + family.scalars), max_size=12, unique=True))
    values = {oid: draw(_TEXT_CELL | _NUMBER_CELL | _VALUE) for oid in scalars}
    kind = draw(st.sampled_from(["nvr", "nvr", "camera", "switch", ""]))
    host_tables = [] if kind in ("camera", "switch") else [(HR_STORAGE_ENTRY, HR_STORAGE_COLUMNS)] * 3  # volumes need whole rows
    tables = TABLES + host_tables + [(entry, tuple(columns)) for entry, columns in family.tables] * 2
    for entry, columns in draw(st.lists(st.sampled_from(tables), max_size=5)):
        row = draw(st.sampled_from(ROWS))
        for column in columns:
            if draw(st.integers(0, 5)):
                values[entry + (column, row)] = draw(_cell(entry, column))
    brand = draw(st.sampled_from([family.name, family.name.upper(), ""]))
    numbers = [n for n, name in vendor_mibs().data.enterprises.items() if name == family.name]
    if numbers and (not brand or draw(st.booleans())):
        values[SYS_OBJECT_ID + (0,)] = (ber.OBJECT_IDENTIFIER, _oid((1, 3, 6, 1, 4, 1, draw(st.sampled_from(numbers)), 1)))
    return values, kind, brand


class Agent:
    """GETBULK over a fixed table, as RFC 3416 says: next OID per non-repeater, then rows of the others."""

    def __init__(self, values: dict[tuple[int, ...], Value]) -> None:
        self.oids = sorted(values)
        self.values = values

    def _next(self, oid: tuple[int, ...]) -> ber.Varbind:
        at = bisect.bisect_right(self.oids, oid)
        if at == len(self.oids):
            return (oid, ber.END_OF_MIB_VIEW, b"")
        found = self.oids[at]
        return (found, *self.values[found])

    async def request(self, host: str, port: int, credentials: object, request: Request, timeout: float) -> Reply:
        varbinds = [self._next(oid) for oid in request.oids[:request.non_repeaters]]
        last = list(request.oids[request.non_repeaters:])
        for _ in range(request.max_repetitions if last else 0):
            row = [self._next(oid) for oid in last]
            varbinds += row
            last = [oid for oid, _, _ in row]
        return Reply(0, 0, varbinds)


def _probe(values: dict[tuple[int, ...], Value], kind: str, brand: str) -> SnmpResult:
    target = Target(device_id="any", host="127.0.0.1", kind=kind, vendor=brand, serial="SN-1",
                    credentials=Credentials(snmp=SnmpV2c(SecretStr("public"))))
    return asyncio.run(probe_snmp(target, cast(SnmpClient, Agent(values))))


def _bounded_text(text: str) -> bool:
    return len(text) <= MAX_TEXT and text == text.strip() and text.isprintable()


def _check(result: SnmpResult) -> None:
    assert result.status in (ProbeStatus.OK, ProbeStatus.PROTOCOL_ERROR), (result.status, result.error)
    assert len(result.error) <= 300 and "\n" not in result.error
    if not result.ok:
        return
    assert result.uptime_seconds is None or (math.isfinite(result.uptime_seconds) and result.uptime_seconds >= 0)
    assert result.clock_skew_seconds is None or math.isfinite(result.clock_skew_seconds)
    identity = result.identity
    for text in (identity.vendor, identity.model, identity.serial, identity.firmware, identity.hardware, result.sys_descr):
        assert _bounded_text(text), text
    for volume in result.volumes:
        assert 0 <= volume.used_bytes <= volume.size_bytes and 0 <= volume.used_percent <= 100, volume
        assert _bounded_text(volume.name)
    for disk in result.disks:
        assert disk.capacity_bytes is None or disk.capacity_bytes >= 0, disk
        assert disk.free_bytes is None or disk.free_bytes >= 0, disk
        assert disk.capacity_bytes is None or disk.free_bytes is None or disk.free_bytes <= disk.capacity_bytes, disk
        assert _bounded_text(disk.name) and _bounded_text(disk.vendor_state)
    for sensor in result.sensors:
        assert sensor.value is None or math.isfinite(sensor.value), sensor
        assert _bounded_text(sensor.name) and _bounded_text(sensor.vendor_state)
    for port in result.interfaces:
        assert _bounded_text(port.name)
        assert all(n is None or n >= 0 for n in (port.in_errors, port.out_errors)), port
    for problem in result.problems:  # a disk's or sensor's line: its name, its state and the vendor's word
        assert problem.isprintable() and len(problem) <= 4 * MAX_TEXT, problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_agents())
@example(  # an agent whose volume is "fuller" than its size: no volume, not one at 200 %
    case=({HR_STORAGE_ENTRY + (2, 1): (ber.OBJECT_IDENTIFIER, _oid(HR_STORAGE_FIXED_DISK)),
           HR_STORAGE_ENTRY + (4, 1): (ber.INTEGER, _int(4096)),
           HR_STORAGE_ENTRY + (5, 1): (ber.INTEGER, _int(100)),
           HR_STORAGE_ENTRY + (6, 1): (ber.INTEGER, _int(200))}, "nvr", ""))
@example(  # terminal escapes and line breaks in a model name stay out of logs and pages
    case=({SYS_DESCR + (0,): (ber.OCTET_STRING, b"Linux nvr \x1b[2J4.9\r\n"),
           ENT_PHYSICAL_ENTRY + (ENT_COLUMNS[-1], 1): (ber.OCTET_STRING, b"DS-7608\x1b]0;owned\x07\nNI")}, "nvr", ""))
@example(case=({(1, 3, 6, 1, 4, 1, 50001, 1, 241, 1, 4, 1): (ber.INTEGER, _int(1)),  # HIKVISION-MIB: 1 MiB free of 0
                (1, 3, 6, 1, 4, 1, 50001, 1, 241, 1, 5, 1): (ber.INTEGER, _int(0))}, "nvr", "hikvision"))
@example(case=({IF_ENTRY + (IF_COLUMNS[-1], 1): (ber.INTEGER, _int(-1))}, "switch", ""))  # ifOutErrors sent signed
def test_any_agent_values_give_sane_readings_or_a_protocol_error(case: Case) -> None:
    _check(_probe(*case))


@given(st.binary(max_size=12))
@example(bytes((0x07, 0xEA, 6, 30, 23, 59, 60, 0)))  # a leap second
@example(bytes((0xFF, 0xFF, 12, 31, 23, 59, 59, 9, ord("+"), 14, 0)))  # year 65535
@example(bytes((0x07, 0xEA, 13, 1, 0, 0, 0, 0, ord("-"), 99, 99)))  # month 13, zone -99:99
def test_any_date_and_time_is_a_finite_time_or_none(content: bytes) -> None:
    moment = date_and_time(content)
    assert moment is None or math.isfinite(moment)
