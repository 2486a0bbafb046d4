"""A device's health over SNMP: identity, uptime, volumes, disks, sensors, ports and clock, in few requests.

    probe_snmp(target, client) -> SnmpResult

One GETBULK carries the scalars (sysDescr, sysObjectID, sysUpTime, hrSystemDate, hrSystemUptime,
snmpEngineTime, as non-repeaters) and the first rows of every table the device's kind can have; a
table longer than that is continued, column by column, from where the reply stopped. A camera or a
recorder answers in one request, a 28-port switch in one or two.

    tables      IF-MIB ifTable (every kind; ifXTable ifHCInOctets only for a down port whose agent
                has no 32-bit counter); HOST-RESOURCES-MIB hrStorageTable, hrDeviceTable and
                hrDiskStorageTable, ENTITY-MIB entPhysicalTable (first rows: the chassis) and
                ENTITY-SENSOR-MIB (recorders, switches and unknown kinds); the vendor's identity
                objects, disk, sensor and status tables
    vendors     a family from the inventory's brand (its objects then ride in the first request),
                else from sysObjectID's enterprise number, else from the first enterprise OID the
                agent answered (agents that serve only their vendor subtree); everything a family
                offers comes from `fleetmon/probes/data/vendors.yaml` through `fleetmon.probes.snmp.oids`
    problems    what the unit itself says is wrong, in technician words: "disk 2 (HDD2): failed
                (abnormal)", "port eth1 down", "temperature 1.1: out_of_range (72 °C)"; the clock
                skew and volume fill are measurements, judged against the configuration by the
                monitor (`fleetmon.monitor.observe`)

Statuses: ok whenever the agent answered (a unit that answers SNMP is alive; findings may be partial,
then `error` says why); timeout when it never did (also a wrong v2c community); auth_failed for SNMPv3
reports; protocol_error for bytes that are not SNMP; not_supported without SNMP credentials. Uptime
comes from sysUpTime, else hrSystemUptime, else snmpEngineTime, else is unknown: liveness never
depends on it. Reboots are seen by comparing two results (`rebooted_between`).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from fleetmon.probes.findings import Disk, Problem, Volume, disk_state
from fleetmon.probes.result import ProbeResult, ProbeStatus
from fleetmon.probes.snmp import ber
from fleetmon.probes.snmp.client import ERROR_NAMES, GETBULK, TOO_BIG, Failure, Reply, Request, SnmpClient
from fleetmon.probes.snmp.oids import (
    ENT_CLASS,
    ENT_CLASS_CHASSIS,
    ENT_COLUMNS,
    ENT_DESCR,
    ENT_FIRMWARE,
    ENT_MFG,
    ENT_MODEL,
    ENT_NAME,
    ENT_PHYSICAL_ENTRY,
    ENT_SENSOR_COLUMNS,
    ENT_SENSOR_ENTRY,
    ENT_SENSOR_KINDS,
    ENT_SENSOR_PRECISION,
    ENT_SENSOR_SCALE,
    ENT_SENSOR_STATES,
    ENT_SENSOR_STATUS,
    ENT_SENSOR_TYPE,
    ENT_SENSOR_VALUE,
    ENT_SERIAL,
    ENT_SOFTWARE,
    ENTERPRISES,
    HR_DEVICE_COLUMNS,
    HR_DEVICE_DESCR,
    HR_DEVICE_DISK_STORAGE,
    HR_DEVICE_ENTRY,
    HR_DEVICE_STATUS,
    HR_DEVICE_TYPE,
    HR_DISK_CAPACITY,
    HR_DISK_COLUMNS,
    HR_DISK_REMOVABLE,
    HR_DISK_STORAGE_ENTRY,
    HR_STORAGE_COLUMNS,
    HR_STORAGE_DESCR,
    HR_STORAGE_ENTRY,
    HR_STORAGE_SIZE,
    HR_STORAGE_TYPE,
    HR_STORAGE_UNITS,
    HR_STORAGE_USED,
    HR_SYSTEM_DATE,
    HR_SYSTEM_UPTIME,
    IF_ADMIN,
    IF_COLUMNS,
    IF_DESCR,
    IF_ENTRY,
    IF_IN_ERRORS,
    IF_IN_OCTETS,
    IF_OPER,
    IF_OPER_STATES,
    IF_OUT_ERRORS,
    IF_SOFTWARE_LOOPBACK,
    IF_TYPE,
    IFX_ENTRY,
    IFX_HC_IN_OCTETS,
    SCALARS,
    SNMP_ENGINE_TIME,
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    UPTIME_FALLBACKS,
    VOLUME_TYPES,
    DiskTable,
    Family,
    SensorTable,
    VendorMibs,
    vendor_mibs,
)
from fleetmon.probes.target import Target
from fleetmon.probes.text import MAX_TEXT, plain_text

TIMETICKS_WRAP_SECONDS = 2**32 / 100  # sysUpTime wraps after ~497 days
REBOOT_SLACK_SECONDS = 30.0
MAX_REQUESTS = 12  # per probe: a hostile agent cannot keep a probe walking
MAX_VARBINDS = 10_000
REPETITIONS = {"camera": 2, "switch": 30}
DEFAULT_REPETITIONS = 10
SHORT_TABLES_KINDS = frozenset(("camera", "switch"))  # no host tables: ports (and a camera's vendor objects) only
# Tables most agents lack: asked for their first cell (one varbind) and walked only where they answer.
PROBED_TABLES = ((ENT_PHYSICAL_ENTRY, ENT_COLUMNS), (ENT_SENSOR_ENTRY, ENT_SENSOR_COLUMNS))
ENTITY_ROWS = 10  # entPhysicalTable rows read: the chassis comes first; a stack's line cards are not identity

BUCKET = 9  # every table's entry OID is at least this long: rows are looked up in their bucket only


class Values(dict[ber.Oid, tuple[int, bytes]]):
    """Every varbind kept, OID -> (tag, content); a table's rows are found without scanning every value."""

    __slots__ = ("_buckets", "_rows", "_size")

    def __init__(self) -> None:
        super().__init__()
        self._buckets: dict[ber.Oid, list[ber.Oid]] = {}
        self._rows: dict[ber.Oid, dict[ber.Oid, dict[int, ber.Oid]]] = {}
        self._size = -1

    def rows(self, entry: ber.Oid) -> dict[ber.Oid, dict[int, ber.Oid]]:
        """Row index -> column -> the OID holding that cell, for the table under `entry`."""
        if self._size != len(self):  # values arrived since: index again (a probe does this once or twice)
            self._buckets, self._rows, self._size = {}, {}, len(self)
            for oid in self:
                self._buckets.setdefault(oid[:BUCKET], []).append(oid)
        found = self._rows.get(entry)
        if found is None:
            found = {}
            size = len(entry)
            for oid in self._buckets.get(entry[:BUCKET], ()):
                if oid[:size] == entry and len(oid) > size + 1:
                    found.setdefault(oid[size + 1:], {})[oid[size]] = oid
            self._rows[entry] = found
        return found


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    oper_status: str  # up, down, lowerLayerDown... (IF-MIB ifOperStatus)
    admin_up: bool
    in_errors: int | None
    out_errors: int | None
    carried_traffic: bool | None  # in-octets (32- or 64-bit) > 0 since the agent started; None: not reported
    watched: bool = True  # the port matters (an uplink, a camera port): the credential profile's `ports`

    @property
    def down_in_service(self) -> bool:
        """Was up and went down: switched on, carried traffic, now down. A never-used or empty port is no fault."""
        return self.watched and self.admin_up and self.oper_status in ("down", "lowerLayerDown") and self.carried_traffic is True


@dataclass(frozen=True, slots=True)
class Sensor:
    """A temperature, fan or power supply the unit reports on (vendor MIB or ENTITY-SENSOR-MIB)."""

    name: str
    kind: str  # temperature, fan, power, voltage, current
    state: str  # ok, failed, out_of_range, other
    vendor_state: str = ""
    value: float | None = None
    unit: str = ""

    def describe(self) -> str:
        text = f"{self.name}: {self.state.replace('_', ' ')}"
        detail = [self.vendor_state] if self.vendor_state and self.vendor_state != self.state else []
        if self.value is not None:
            detail.append(f"{self.value:g} {self.unit}".strip())
        return text + (f" ({', '.join(detail)})" if detail else "")


@dataclass(frozen=True, slots=True)
class Identity:
    """What the unit says it is. Empty fields: the agent did not say."""

    vendor: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    hardware: str = ""

    def describe(self) -> str:
        parts = [self.vendor, self.model]
        text = " ".join(p for p in parts if p) or "unknown unit"
        extra = [f"serial {self.serial}"] if self.serial else []
        extra += [f"firmware {self.firmware}"] if self.firmware else []
        return text + (f" ({', '.join(extra)})" if extra else "")


@dataclass(slots=True, kw_only=True)
class SnmpResult(ProbeResult):
    uptime_seconds: float | None = None
    uptime_source: str = ""  # sysUpTime, hrSystemUptime or snmpEngineTime
    sys_descr: str = ""
    sys_object_id: str = ""
    vendor: str = ""  # the firmware family whose MIBs answered
    identity: Identity = field(default_factory=Identity)
    clock_skew_seconds: float | None = None  # device clock minus ours (hrSystemDate)
    volumes: list[Volume] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)
    sensors: list[Sensor] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    unit_status: str = ""  # the vendor's own verdict on the unit, e.g. "bad" (DAHUA deviceStatus)
    measured_at: float = field(default_factory=time.time)

    @property
    def problems(self) -> list[str]:
        """What the unit itself says is wrong; the clock and volume fill are judged by the monitor."""
        found: list[str] = [disk.describe() for disk in self.disks if disk.state in ("failed", "full", "unformatted")]
        found += [Problem(sensor.describe(), f"sensor_{sensor.state}:{sensor.name}") for sensor in self.sensors
                  if sensor.state in ("failed", "out_of_range")]
        found += [f"port {i.name} {i.oper_status}" for i in self.interfaces if i.down_in_service]
        if self.unit_status:
            found.append(f"unit reports itself {self.unit_status}")
        return found

    @property
    def boot_time(self) -> float | None:
        return None if self.uptime_seconds is None else self.measured_at - self.uptime_seconds


def rebooted_between(earlier: SnmpResult, later: SnmpResult) -> bool:
    """Whether the device restarted between two answered probes (sysUpTime went back, not wrapped)."""
    if earlier.uptime_seconds is None or later.uptime_seconds is None:
        return False
    expected = earlier.uptime_seconds + (later.measured_at - earlier.measured_at)
    lost = expected - later.uptime_seconds
    wrapped = abs(lost - TIMETICKS_WRAP_SECONDS) < REBOOT_SLACK_SECONDS
    return lost > REBOOT_SLACK_SECONDS and not wrapped


@dataclass(slots=True)
class _Column:
    prefix: ber.Oid
    last: ber.Oid
    done: bool = False
    rows_left: int | None = None  # stop after this many rows (None: walk to the end)


def _columns(entry: ber.Oid, numbers: tuple[int, ...] | list[int], rows: int | None = None) -> list[_Column]:
    return [_Column(entry + (n,), entry + (n,), rows_left=rows) for n in numbers]


def _family_columns(family: Family) -> list[_Column]:
    return [column for entry, numbers in family.tables for column in _columns(entry, numbers)]


@dataclass(slots=True)
class _Walk:
    """The requests of one probe: scalars once, then table columns until each leaves its subtree."""

    target: Target
    client: SnmpClient
    deadline: float
    values: Values = field(default_factory=Values)
    requests: int = 0
    answered: bool = False  # any reply at all: the unit is alive
    enterprise: ber.Oid = ()  # the first OID under enterprises the agent answered with (a vendor hint)
    next_of: dict[ber.Oid, ber.Oid] = field(default_factory=dict)  # scalar asked -> the OID that came back

    def offers(self, table: ber.Oid) -> bool:
        """Whether the agent has rows under `table`, asked as the non-repeater `table + (0,)` (one varbind)."""
        found = self.next_of.get(table + (0,), ())
        return found[:len(table)] == table

    async def bulk(self, scalars: list[ber.Oid], columns: list[_Column], repetitions: int) -> Failure | None:
        """Read `scalars` (instance OIDs) once and walk `columns`; None when all went well."""
        credentials = self.target.credentials.snmp
        if credentials is None:
            return Failure(ProbeStatus.NOT_SUPPORTED, "no SNMP credentials for this device")
        while (scalars or columns) and self.requests < MAX_REQUESTS and len(self.values) < MAX_VARBINDS:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return Failure(ProbeStatus.TIMEOUT, "SNMP tables incomplete: time budget spent")
            request = Request(GETBULK, tuple(oid[:-1] for oid in scalars) + tuple(c.last for c in columns),
                              non_repeaters=len(scalars), max_repetitions=repetitions)
            self.requests += 1
            reply = await self.client.request(self.target.host, self.target.snmp_port, credentials, request, remaining)
            if isinstance(reply, Failure):
                return reply
            self.answered = True
            if reply.error_status == TOO_BIG and repetitions > 1:
                repetitions //= 2
                continue
            if reply.error_status:
                name = ERROR_NAMES.get(reply.error_status, str(reply.error_status))
                return Failure(ProbeStatus.PROTOCOL_ERROR, f"agent answered error {name}")
            if not self._take(reply, scalars, columns):
                return Failure(ProbeStatus.PROTOCOL_ERROR, "agent's GETBULK reply made no progress")
            scalars = []
            columns = [c for c in columns if not c.done]
        if scalars or columns:
            return Failure(ProbeStatus.PROTOCOL_ERROR,
                           f"SNMP tables cut after {self.requests} requests and {len(self.values)} values")
        return None

    def _note(self, oid: ber.Oid, tag: int) -> None:
        """Remember the first OID under enterprises that came back unasked: its enterprise names the vendor."""
        if not self.enterprise and oid[:6] == ENTERPRISES and len(oid) > 6 and tag != ber.END_OF_MIB_VIEW:
            self.enterprise = oid

    def _take(self, reply: Reply, scalars: list[ber.Oid], columns: list[_Column]) -> bool:
        """Keep what answers the request; False when the reply advanced nothing."""
        progressed = False
        for (oid, tag, content), wanted in zip(reply.varbinds, scalars, strict=False):
            if oid == wanted:
                if tag not in (ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW):
                    self.values[oid] = (tag, content)
            elif tag != ber.END_OF_MIB_VIEW:
                self.next_of[wanted] = oid
                self._note(oid, tag)
            progressed = True
        repeated = reply.varbinds[len(scalars):]
        for k, (oid, tag, content) in enumerate(repeated):
            column = columns[k % len(columns)] if columns else None
            if column is None or column.done:
                continue
            progressed = True
            if tag == ber.END_OF_MIB_VIEW or oid[:len(column.prefix)] != column.prefix or oid <= column.last:
                column.done = True
                self._note(oid, tag)
                continue
            column.last = oid
            self.values[oid] = (tag, content)
            if column.rows_left is not None:
                column.rows_left -= 1
                column.done = column.rows_left <= 0
        if columns and not repeated:
            for column in columns:  # an agent that returns no rows has nothing more
                column.done = True
            progressed = True
        return progressed


def _text(values: Values, oid: ber.Oid) -> str:
    found = values.get(oid)
    if found is None or found[0] != ber.OCTET_STRING:
        return ""
    return plain_text(found[1][:MAX_TEXT].decode("utf-8", errors="replace").replace("\x00", ""))


def _number(values: Values, oid: ber.Oid) -> int | None:
    found = values.get(oid)
    if found is None or found[0] not in (ber.INTEGER, ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64):
        return None
    try:
        return ber.to_int(*found)
    except ber.BerError:
        return None


def _count(values: Values, oid: ber.Oid) -> int | None:
    """A Counter32 an agent may send as a signed INTEGER: below zero it counts nothing."""
    number = _number(values, oid)
    return number if number is not None and number >= 0 else None


def _object_id(values: Values, oid: ber.Oid) -> ber.Oid:
    found = values.get(oid)
    if found is None or found[0] != ber.OBJECT_IDENTIFIER:
        return ()
    try:
        return ber.decode_oid(found[1])
    except ber.BerError:
        return ()


def _code(values: Values, oid: ber.Oid) -> str:
    """A state cell as the key of a state table: an integer's digits or a text, lower case."""
    found = values.get(oid)
    if found is None:
        return ""
    if found[0] == ber.OCTET_STRING:
        return _text(values, oid).lower()
    number = _number(values, oid)
    return "" if number is None else str(number)


def date_and_time(content: bytes) -> float | None:
    """SNMPv2-TC DateAndTime -> POSIX seconds; without a zone it is read in the monitor's own zone."""
    if len(content) not in (8, 11):
        return None
    year = int.from_bytes(content[:2], "big")
    month, day, hour, minute, second, deci = content[2:8]
    try:
        if len(content) == 11:
            sign = -1 if content[8:9] == b"-" else 1
            zone = timezone(sign * timedelta(hours=content[9], minutes=content[10]))
            moment = datetime(year, month, day, hour, minute, min(second, 59), deci * 100_000, tzinfo=zone)
        else:
            moment = datetime(year, month, day, hour, minute, min(second, 59), deci * 100_000)
        return moment.timestamp()
    except (ValueError, OverflowError):
        return None


def _unsigned32(value: int | None) -> int | None:
    # hrStorageSize/Used are Integer32: agents with disks over 2^31 units send them wrapped.
    return None if value is None else value & 0xFFFFFFFF


def _volumes(values: Values) -> list[Volume]:
    volumes = []
    for _, cells in sorted(values.rows(HR_STORAGE_ENTRY).items()):
        if _object_id(values, cells.get(HR_STORAGE_TYPE, ())) not in VOLUME_TYPES:
            continue
        units = _number(values, cells.get(HR_STORAGE_UNITS, ())) or 0
        size = _unsigned32(_number(values, cells.get(HR_STORAGE_SIZE, ())))
        used = _unsigned32(_number(values, cells.get(HR_STORAGE_USED, ())))
        # A volume "fuller" than its size (agents with broken 64-bit arithmetic) is no reading, not 200 % full.
        if units > 0 and size is not None and used is not None and used <= size:
            volumes.append(Volume(_text(values, cells.get(HR_STORAGE_DESCR, ())), size * units, used * units))
    return volumes


def _host_disks(values: Values, mibs: VendorMibs) -> list[Disk]:
    disks = []
    storage = values.rows(HR_DISK_STORAGE_ENTRY)
    for index, cells in sorted(values.rows(HR_DEVICE_ENTRY).items()):
        if _object_id(values, cells.get(HR_DEVICE_TYPE, ())) != HR_DEVICE_DISK_STORAGE:
            continue
        disk_cells = storage.get(index, {})
        if _number(values, disk_cells.get(HR_DISK_REMOVABLE, ())) == 1:
            continue  # optical drives and card readers
        code = _code(values, cells.get(HR_DEVICE_STATUS, ()))
        state, word = mibs.device_states.get(code, ("other", ""))
        kib = _number(values, disk_cells.get(HR_DISK_CAPACITY, ()))
        disks.append(Disk(".".join(map(str, index)), _text(values, cells.get(HR_DEVICE_DESCR, ())), state, word,
                          kib * 1024 if kib and kib > 0 else None))
    return disks


def _cell(cells: dict[int, ber.Oid], columns: dict[str, int], name: str) -> ber.Oid:
    column = columns.get(name)
    return cells.get(column, ()) if column is not None else ()


def _table_disks(values: Values, table: DiskTable) -> list[Disk]:
    disks = []
    columns = table.columns
    for index, cells in sorted(values.rows(table.entry).items()):
        code = _code(values, _cell(cells, columns, "state"))
        state, word = table.states.get(code, ("other", code))
        capacity = _number(values, _cell(cells, columns, "capacity"))
        free = _number(values, _cell(cells, columns, "free"))
        percent = _number(values, _cell(cells, columns, "used_percent"))
        capacity_bytes = capacity * table.unit_bytes if capacity is not None and capacity >= 0 else None
        free_bytes = free * table.unit_bytes if free is not None and free >= 0 else None
        if capacity_bytes is not None and free_bytes is not None and free_bytes > capacity_bytes:
            free_bytes = None  # more free than there is: the agent's free space says nothing
        if state == "ok" and percent is not None and percent >= 100:
            state = "full"
        disk_id = str(index[0]) if index else "?"
        disks.append(Disk(disk_id, _text(values, _cell(cells, columns, "name")), disk_state(state, capacity_bytes, free_bytes),
                          word, capacity_bytes, free_bytes))
    return disks


def _leading_number(text: str) -> float | None:
    head = text.strip().split(" ")[0] if text.strip() else ""
    try:
        number = float(head)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None  # NaN and infinity are no sizes


def _scalar_disks(values: Values, family: Family) -> list[Disk]:
    disks = []
    for scalars in family.disk_scalars:
        percent = _number(values, scalars.used_percent)
        if percent is None:
            parsed = _leading_number(_text(values, scalars.used_percent))
            percent = None if parsed is None else int(parsed)
        if percent is None:
            continue
        size_text = _text(values, scalars.capacity)
        size = _leading_number(size_text) if size_text else _number(values, scalars.capacity)
        if not size or size <= 0:
            continue  # "0.0 GB": no card in the slot, which is how many cameras are sold
        unit = 1 << 30 if "GB" in size_text.upper() else 1 << 20
        capacity = int(size * unit)
        free = capacity - capacity * min(max(percent, 0), 100) // 100
        disks.append(Disk("1", scalars.name, "full" if percent >= 100 else "ok", f"{percent} % used", capacity, free))
    return disks


def _table_sensors(values: Values, table: SensorTable) -> list[Sensor]:
    sensors = []
    for index, cells in sorted(values.rows(table.entry).items()):
        label = _text(values, _cell(cells, table.columns, "name")) or f"{table.kind} {'.'.join(map(str, index))}"
        raw = _number(values, _cell(cells, table.columns, "value"))
        value = raw / table.divisor if raw is not None and table.divisor else None
        state, word = "ok", ""
        if "state" in table.columns:
            code = _code(values, _cell(cells, table.columns, "state"))
            if not code:
                continue
            state, word = table.states.get(code, ("other", code))
        if state == "ok" and value is not None and table.high_limit is not None and value > table.high_limit:
            state, word = "out_of_range", f"above {table.high_limit:g} {table.unit}".strip()
        sensors.append(Sensor(label, table.kind, state, word, value, table.unit))
    return sensors


def _entity_sensors(values: Values) -> list[Sensor]:
    """ENTITY-SENSOR-MIB: a sensor the agent calls nonoperational is a fault; values are scaled as the MIB says."""
    sensors = []
    names = values.rows(ENT_PHYSICAL_ENTRY)
    for index, cells in sorted(values.rows(ENT_SENSOR_ENTRY).items()):
        kind, unit = ENT_SENSOR_KINDS.get(_number(values, cells.get(ENT_SENSOR_TYPE, ())) or 0, ("sensor", ""))
        status = _number(values, cells.get(ENT_SENSOR_STATUS, ()))
        state, word = ENT_SENSOR_STATES.get(status or 0, ("other", ""))
        raw = _number(values, cells.get(ENT_SENSOR_VALUE, ()))
        scale = _number(values, cells.get(ENT_SENSOR_SCALE, ())) or 9  # units(9); milli(8), kilo(10)...
        precision = _number(values, cells.get(ENT_SENSOR_PRECISION, ())) or 0
        value = None
        if raw is not None and 1 <= scale <= 17 and -8 <= precision <= 9:
            value = round(raw * 10.0 ** (3 * (scale - 9)) / 10.0 ** precision, 3)
        named = names.get(index, {})
        label = _text(values, named.get(ENT_NAME, ())) or _text(values, named.get(ENT_DESCR, ())) or f"{kind} {'.'.join(map(str, index))}"
        sensors.append(Sensor(label, kind, state, word if state != "ok" else "", value, unit))
    return sensors


def _unit_status(values: Values, family: Family) -> str:
    for status in family.unit_status:
        code = _code(values, status.oid)
        if code:
            state, word = status.states.get(code, ("other", code))
            if state != "ok":
                return f"{word} ({status.mib})"
    return ""


def _serial_text(values: Values, oid: ber.Oid) -> str:
    """A serial number; Bosch agents send one digit per byte (0x00..0x09), read as digits."""
    found = values.get(oid)
    if found is None or found[0] != ber.OCTET_STRING:
        return ""
    raw = found[1][:MAX_TEXT]
    if raw and all(b < 10 for b in raw.rstrip(b"\x00 ")):
        return "".join(str(b) for b in raw)
    digits = bytearray()
    for byte in raw:  # digits until the first printable byte, if the unit mixed both
        if byte >= 10:
            break
        digits += str(byte).encode()
    printable = plain_text(raw.decode("utf-8", errors="replace").replace("\x00", ""))
    return digits.decode() if len(digits) >= 6 else printable


def _chassis(values: Values) -> dict[int, ber.Oid]:
    rows = values.rows(ENT_PHYSICAL_ENTRY)
    for _, cells in sorted(rows.items()):
        if _number(values, cells.get(ENT_CLASS, ())) == ENT_CLASS_CHASSIS:
            return cells
    return next((cells for _, cells in sorted(rows.items()) if _text(values, cells.get(ENT_SERIAL, ()))), {})


def _identity(values: Values, family: Family, sys_descr: str) -> Identity:
    """Vendor MIB first, then the ENTITY-MIB chassis, then what the family's sysDescr pattern finds."""
    found: dict[str, str] = {}
    for key, oid in family.identity.items():
        text = _serial_text(values, oid) if key == "serial" else _text(values, oid)
        if text:
            found.setdefault(key, text)
    chassis = _chassis(values)
    for key, column in (("model", ENT_MODEL), ("serial", ENT_SERIAL), ("firmware", ENT_SOFTWARE), ("firmware", ENT_FIRMWARE)):
        text = _text(values, chassis.get(column, ()))
        if text:
            found.setdefault(key, text)
    if family.sys_descr is not None:
        for text in (sys_descr, _text(values, chassis.get(ENT_DESCR, ()))):
            match = family.sys_descr.search(text) if text else None
            for key, value in (match.groupdict() if match else {}).items():
                if value:
                    found.setdefault(key, value.strip())
    maker = _text(values, chassis.get(ENT_MFG, ()))
    return Identity(vendor=family.name or maker, model=found.get("model", ""), serial=found.get("serial", ""),
                    firmware=found.get("firmware", ""), hardware=found.get("hardware", ""))


def _watched(name: str, patterns: tuple[str, ...]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)


def _interfaces(values: Values, patterns: tuple[str, ...]) -> list[Interface]:
    interfaces = []
    hc = values.rows(IFX_ENTRY)
    for index, cells in sorted(values.rows(IF_ENTRY).items()):
        if _number(values, cells.get(IF_TYPE, ())) == IF_SOFTWARE_LOOPBACK:
            continue
        oper = _number(values, cells.get(IF_OPER, ()))
        octets = _number(values, cells.get(IF_IN_OCTETS, ()))
        if octets is None:
            octets = _number(values, hc.get(index, {}).get(IFX_HC_IN_OCTETS, ()))
        name = _text(values, cells.get(IF_DESCR, ()))
        interfaces.append(Interface(
            name=name,
            oper_status=IF_OPER_STATES.get(oper or 0, "unknown"),
            admin_up=_number(values, cells.get(IF_ADMIN, ())) == 1,
            in_errors=_count(values, cells.get(IF_IN_ERRORS, ())),
            out_errors=_count(values, cells.get(IF_OUT_ERRORS, ())),
            carried_traffic=None if octets is None else octets > 0,
            watched=_watched(name, patterns),
        ))
    return interfaces


def _needs_hc_counters(values: Values) -> bool:
    """A port that is switched on and down, whose agent gave no 32-bit counter: only ifHCInOctets can tell."""
    for _, cells in values.rows(IF_ENTRY).items():
        down = _number(values, cells.get(IF_OPER, ())) in (2, 7) and _number(values, cells.get(IF_ADMIN, ())) == 1
        if down and _number(values, cells.get(IF_IN_OCTETS, ())) is None:
            return True
    return False


def _uptime(values: Values) -> tuple[float | None, str]:
    for oid, name, per_second in ((SYS_UPTIME, "sysUpTime", 100), (HR_SYSTEM_UPTIME, "hrSystemUptime", 100),
                                  (SNMP_ENGINE_TIME, "snmpEngineTime", 1)):
        ticks = _number(values, oid + (0,))
        if ticks is not None and ticks >= 0:
            return ticks / per_second, name
    return None, ""


def _vendor(mibs: VendorMibs, object_id: ber.Oid, enterprise: ber.Oid, sys_descr: str, hinted: str) -> str:
    """sysObjectID's maker, else the first enterprise OID answered, else the sysDescr, else the inventory's brand.

    A generic agent's enterprise (net-snmp inside a camera) yields to a maker its sysDescr names.
    """
    named = mibs.vendor_of(object_id) or mibs.vendor_of(enterprise)
    if named and named not in mibs.data.generic_agents:
        return named
    return mibs.vendor_of_descr(sys_descr) or named or hinted


async def probe_snmp(target: Target, client: SnmpClient) -> SnmpResult:
    """Read the device's health over SNMP within `target.timeout`; faults are statuses, never exceptions."""
    started = time.perf_counter()
    walk = _Walk(target, client, time.monotonic() + target.timeout)

    def result(status: ProbeStatus, error: str = "", **findings: object) -> SnmpResult:
        return SnmpResult(device_id=target.device_id, probe="snmp", status=status,
                          duration_seconds=time.perf_counter() - started, error=error, **findings)  # type: ignore[arg-type]

    credentials = target.credentials.snmp
    if credentials is None:
        return result(ProbeStatus.NOT_SUPPORTED, "no SNMP credentials for this device")
    mibs = vendor_mibs()
    kind = target.kind.strip().lower()
    hinted = mibs.vendor_of_brand(target.vendor)
    repetitions = REPETITIONS.get(kind, DEFAULT_REPETITIONS)
    columns = _columns(IF_ENTRY, IF_COLUMNS) + _family_columns(mibs.family(hinted))
    if kind not in SHORT_TABLES_KINDS:
        columns += (_columns(HR_STORAGE_ENTRY, HR_STORAGE_COLUMNS) + _columns(HR_DEVICE_ENTRY, HR_DEVICE_COLUMNS)
                    + _columns(HR_DISK_STORAGE_ENTRY, HR_DISK_COLUMNS))
    scalars = ([oid + (0,) for oid in SCALARS + UPTIME_FALLBACKS] + [entry + (0,) for entry, _ in PROBED_TABLES]
               + mibs.family(hinted).scalars)
    failure = await walk.bulk(scalars, columns, repetitions)
    values = walk.values
    object_id = _object_id(values, SYS_OBJECT_ID + (0,))
    vendor = _vendor(mibs, object_id, walk.enterprise, _text(values, SYS_DESCR + (0,)), hinted)
    late_scalars: list[ber.Oid] = []
    late_columns = [column for entry, numbers in PROBED_TABLES if walk.offers(entry)
                    for column in _columns(entry, numbers, rows=ENTITY_ROWS if entry == ENT_PHYSICAL_ENTRY else None)]
    if vendor and vendor != hinted:
        family = mibs.family(vendor)
        late_scalars, late_columns = family.scalars, late_columns + _family_columns(family)
    if failure is None and (late_scalars or late_columns):
        failure = await walk.bulk(late_scalars, late_columns, DEFAULT_REPETITIONS)
    if failure is None and _needs_hc_counters(values):
        failure = await walk.bulk([], _columns(IFX_ENTRY, (IFX_HC_IN_OCTETS,)), repetitions)
    if not walk.answered:
        failure = failure or Failure(ProbeStatus.TIMEOUT, "the agent never answered")
        return result(failure.status, failure.error)
    try:
        return _analyse(target, mibs, vendor, values, failure, result)
    except (ValueError, IndexError, KeyError, OverflowError, ber.BerError) as exc:  # a value no MIB allows
        return result(ProbeStatus.PROTOCOL_ERROR, f"agent data not understood: {type(exc).__name__}: {str(exc)[:80]}")


def _analyse(target: Target, mibs: VendorMibs, vendor: str, values: Values, failure: Failure | None,
             result: Callable[..., SnmpResult]) -> SnmpResult:
    """The findings of an answered probe (status ok even when the agent said little)."""
    family = mibs.family(vendor)
    uptime, uptime_source = _uptime(values)
    date = values.get(HR_SYSTEM_DATE + (0,))
    device_clock = date_and_time(date[1]) if date and date[0] == ber.OCTET_STRING else None
    disks = [disk for table in family.disk_tables for disk in _table_disks(values, table)]
    disks = (disks or _host_disks(values, mibs)) + _scalar_disks(values, family)
    sensors = [sensor for table in family.sensor_tables for sensor in _table_sensors(values, table)] + _entity_sensors(values)
    sys_descr = _text(values, SYS_DESCR + (0,))
    identity = _identity(values, family, sys_descr)
    snmp = target.credentials.snmp
    patterns = snmp.ports if snmp is not None else ()
    return result(
        ProbeStatus.OK, failure.error if failure else "",
        uptime_seconds=uptime, uptime_source=uptime_source, sys_descr=sys_descr,
        sys_object_id=".".join(map(str, _object_id(values, SYS_OBJECT_ID + (0,)))), vendor=vendor, identity=identity,
        clock_skew_seconds=None if device_clock is None else device_clock - time.time(),
        volumes=_volumes(values), disks=disks, sensors=sensors, interfaces=_interfaces(values, patterns),
        unit_status=_unit_status(values, family),
    )
