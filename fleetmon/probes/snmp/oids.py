"""The OIDs the SNMP probe reads: standard MIBs here as constants, vendors' from `fleetmon/probes/data/vendors.yaml`.

Vendor knowledge (enterprise numbers, identity objects, disk and sensor tables, state codes) is data,
loaded once into the typed tables below, so a firmware with a new state code is a data edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from fleetmon.probes.findings import DiskState
from fleetmon.probes.snmp.ber import Oid, parse_oid
from fleetmon.probes.vendors import DISK_STATE_NAMES, SENSOR_STATE_NAMES, VendorData, VendorDataError, vendor_data

ENTERPRISES = (1, 3, 6, 1, 4, 1)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3)
HR_SYSTEM_UPTIME = (1, 3, 6, 1, 2, 1, 25, 1, 1)  # TimeTicks, like sysUpTime, but of the host, not the agent
HR_SYSTEM_DATE = (1, 3, 6, 1, 2, 1, 25, 1, 2)
SNMP_ENGINE_TIME = (1, 3, 6, 1, 6, 3, 10, 2, 1, 3)  # SNMP-FRAMEWORK-MIB, seconds since the engine last booted
SCALARS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, HR_SYSTEM_DATE)  # read as GETBULK non-repeaters
UPTIME_FALLBACKS = (HR_SYSTEM_UPTIME, SNMP_ENGINE_TIME)  # ride along: agents without sysUpTime may answer these

IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_DESCR, IF_TYPE, IF_ADMIN, IF_OPER, IF_IN_OCTETS, IF_IN_ERRORS, IF_OUT_ERRORS = 2, 3, 7, 8, 10, 14, 20
IF_COLUMNS = (IF_DESCR, IF_TYPE, IF_ADMIN, IF_OPER, IF_IN_OCTETS, IF_IN_ERRORS, IF_OUT_ERRORS)
IF_SOFTWARE_LOOPBACK = 24
IF_OPER_STATES = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IFX_HC_IN_OCTETS = 6  # Counter64: agents of fast ports may offer only this one

HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED = 2, 3, 4, 5, 6
HR_STORAGE_COLUMNS = (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED)
HR_STORAGE_FIXED_DISK = (1, 3, 6, 1, 2, 1, 25, 2, 1, 4)  # hrStorageRam (.2), virtual memory (.3)... are not volumes
HR_STORAGE_NETWORK_DISK = (1, 3, 6, 1, 2, 1, 25, 2, 1, 10)
VOLUME_TYPES = frozenset((HR_STORAGE_FIXED_DISK, HR_STORAGE_NETWORK_DISK))

HR_DEVICE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 2, 1)
HR_DEVICE_TYPE, HR_DEVICE_DESCR, HR_DEVICE_STATUS = 2, 3, 5
HR_DEVICE_COLUMNS = (HR_DEVICE_TYPE, HR_DEVICE_DESCR, HR_DEVICE_STATUS)
HR_DEVICE_DISK_STORAGE = (1, 3, 6, 1, 2, 1, 25, 3, 1, 6)
HR_DISK_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 6, 1)
HR_DISK_REMOVABLE, HR_DISK_CAPACITY = 3, 4  # capacity in KiB; removable: true(1)
HR_DISK_COLUMNS = (HR_DISK_REMOVABLE, HR_DISK_CAPACITY)

# ENTITY-MIB entPhysicalTable: what the unit says it is (chassis row: class 3)
ENT_PHYSICAL_ENTRY = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
ENT_DESCR, ENT_CLASS, ENT_NAME, ENT_HARDWARE, ENT_FIRMWARE, ENT_SOFTWARE, ENT_SERIAL, ENT_MFG, ENT_MODEL = 2, 5, 7, 8, 9, 10, 11, 12, 13
ENT_COLUMNS = (ENT_DESCR, ENT_CLASS, ENT_NAME, ENT_FIRMWARE, ENT_SOFTWARE, ENT_SERIAL, ENT_MFG, ENT_MODEL)
ENT_CLASS_CHASSIS = 3
# ENTITY-SENSOR-MIB entPhySensorTable, indexed like entPhysicalTable
ENT_SENSOR_ENTRY = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
ENT_SENSOR_TYPE, ENT_SENSOR_SCALE, ENT_SENSOR_PRECISION, ENT_SENSOR_VALUE, ENT_SENSOR_STATUS = 1, 2, 3, 4, 5
ENT_SENSOR_COLUMNS = (ENT_SENSOR_TYPE, ENT_SENSOR_SCALE, ENT_SENSOR_PRECISION, ENT_SENSOR_VALUE, ENT_SENSOR_STATUS)
ENT_SENSOR_KINDS = {3: ("voltage", "V AC"), 4: ("voltage", "V DC"), 5: ("current", "A"), 6: ("power", "W"),
                    8: ("temperature", "°C"), 10: ("fan", "rpm")}
ENT_SENSOR_STATES: dict[int, tuple[str, str]] = {1: ("ok", "ok"), 2: ("other", "unavailable"), 3: ("failed", "nonoperational")}

StateTable = dict[str, tuple[str, str]]  # vendor code (as text, lower case) -> (state, vendor word)


@dataclass(frozen=True, slots=True)
class DiskTable:
    """A vendor's disk table; `columns` maps name/state/free/capacity/used_percent to sub-identifiers."""

    mib: str
    family: str
    entry: Oid
    columns: dict[str, int]
    states: dict[str, tuple[DiskState, str]]
    unit_bytes: int = 1


@dataclass(frozen=True, slots=True)
class SensorTable:
    """Temperatures, fans or power supplies; `columns` maps state/value/name to sub-identifiers."""

    mib: str
    family: str
    kind: str
    entry: Oid
    columns: dict[str, int]
    states: StateTable
    divisor: float = 1.0
    unit: str = ""
    high_limit: float | None = None


@dataclass(frozen=True, slots=True)
class DiskScalars:
    mib: str
    family: str
    name: str
    capacity: Oid
    used_percent: Oid


@dataclass(frozen=True, slots=True)
class UnitStatus:
    mib: str
    family: str
    oid: Oid
    states: StateTable


@dataclass(frozen=True, slots=True)
class Family:
    """What the SNMP probe knows of one maker's agents."""

    name: str
    identity: dict[str, Oid] = field(default_factory=dict)  # model/serial/firmware/hardware -> instance OID
    sys_descr: re.Pattern[str] | None = None  # named groups model/firmware, matched on sysDescr or the chassis descr
    detect: re.Pattern[str] | None = None  # a sysDescr of this family, for agents whose sysObjectID names no maker
    disk_tables: tuple[DiskTable, ...] = ()
    sensor_tables: tuple[SensorTable, ...] = ()
    disk_scalars: tuple[DiskScalars, ...] = ()
    unit_status: tuple[UnitStatus, ...] = ()

    @property
    def scalars(self) -> list[Oid]:
        return ([*self.identity.values()] + [oid for s in self.disk_scalars for oid in (s.capacity, s.used_percent)]
                + [s.oid for s in self.unit_status])

    @property
    def tables(self) -> list[tuple[Oid, list[int]]]:
        return ([(t.entry, sorted(t.columns.values())) for t in self.disk_tables]
                + [(t.entry, sorted(t.columns.values())) for t in self.sensor_tables])


@dataclass(frozen=True, slots=True)
class VendorMibs:
    data: VendorData
    families: dict[str, Family]
    device_states: dict[str, tuple[DiskState, str]]  # hrDeviceStatus

    def vendor_of(self, oid: Oid) -> str:
        """The family named by an OID under enterprises (a sysObjectID, or any object the agent answered), or ""."""
        if oid[:6] != ENTERPRISES or len(oid) < 7:
            return ""
        return self.data.family_of_enterprise(oid[6])

    def vendor_of_descr(self, sys_descr: str) -> str:
        """The family whose `detect` pattern a sysDescr matches, or ""."""
        return next((f.name for f in self.families.values() if f.detect is not None and sys_descr and f.detect.search(sys_descr)), "")

    def vendor_of_brand(self, brand: str) -> str:
        """The family an inventory brand's units answer as ("" when unknown: learnt from the agent)."""
        family = self.data.family_of_brand(brand)
        return family if family in self.families else ""

    def family(self, name: str) -> Family:
        return self.families.get(name) or Family(name)


def _states(where: str, raw: dict[Any, list[str]], allowed: tuple[str, ...]) -> StateTable:
    table: StateTable = {}
    for code, (state, word) in raw.items():
        if state not in allowed:
            raise VendorDataError(f"vendors.yaml: {where}: unknown state {state!r} for code {code!r}")
        table[str(code).lower()] = (str(state), str(word))
    return table


def _disk_states(where: str, raw: dict[Any, list[str]]) -> dict[str, tuple[DiskState, str]]:
    return {code: (cast(DiskState, state), word) for code, (state, word) in _states(where, raw, DISK_STATE_NAMES).items()}


def _family(name: str, raw: dict[str, Any]) -> Family:
    pattern, detect = raw.get("sys_descr"), raw.get("detect")
    return Family(
        name=name,
        identity={str(key): parse_oid(str(oid)) for key, oid in (raw.get("identity") or {}).items()},
        sys_descr=re.compile(pattern, re.DOTALL) if pattern else None,
        detect=re.compile(detect) if detect else None,
        disk_tables=tuple(DiskTable(t["mib"], name, parse_oid(t["entry"]), dict(t["columns"]),
                                    _disk_states(t["mib"], t["states"]), int(t.get("unit_bytes", 1)))
                          for t in raw.get("disk_tables") or ()),
        sensor_tables=tuple(SensorTable(t["mib"], name, str(t["kind"]), parse_oid(t["entry"]), dict(t["columns"]),
                                        _states(t["mib"], t.get("states") or {}, SENSOR_STATE_NAMES),
                                        float(t.get("divisor", 1)), str(t.get("unit", "")),
                                        float(t["high_limit"]) if t.get("high_limit") is not None else None)
                            for t in raw.get("sensor_tables") or ()),
        disk_scalars=tuple(DiskScalars(s["mib"], name, s["name"], parse_oid(s["capacity"]), parse_oid(s["used_percent"]))
                           for s in raw.get("disk_scalars") or ()),
        unit_status=tuple(UnitStatus(s["mib"], name, parse_oid(s["oid"]), _states(s["mib"], s["states"], DISK_STATE_NAMES))
                          for s in raw.get("unit_status") or ()),
    )


@cache
def vendor_mibs() -> VendorMibs:
    """The SNMP part of `vendors.yaml`, typed."""
    data = vendor_data()
    return VendorMibs(data=data, families={name: _family(name, raw) for name, raw in data.families.items()},
                      device_states=_disk_states("hrDeviceStatus", data.host_resources_device_status))
