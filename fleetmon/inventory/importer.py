"""Importing a sheet: read and check every row, then plan what changes, then (elsewhere) write.

Import is all or nothing: `read_inventory` returns every problem of the sheet, and the CLI
writes only a sheet without any; it also returns what is plausible but odd (a warranty that
ended before the install, an address shared on other ports), which is said and imported.
Planning is a pure comparison with what the store holds, so
`--dry-run` shows exactly what a real import would do, and re-importing the same sheet plans
nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from fleetmon.inventory.columns import HeaderMatcher
from fleetmon.inventory.model import DEFAULT_AREA_LEVELS, AreaLevel, Device, join_area_path, name_key
from fleetmon.inventory.sheets import SheetError, read_sheet
from fleetmon.inventory.validate import RowError, parse_row


@dataclass(frozen=True, slots=True)
class Change:
    device: Device
    before: Device

    @property
    def action(self) -> str:
        if self.device.active and not self.before.active:
            return "reactivated"
        if not self.device.active and self.before.active:
            return "retired"
        return "changed"

    def fields(self) -> dict[str, tuple[object, object]]:
        return {
            f.name: (getattr(self.before, f.name), getattr(self.device, f.name))
            for f in dataclasses.fields(Device)
            if getattr(self.before, f.name) != getattr(self.device, f.name)
        }

    def describe(self) -> str:
        return "; ".join(f"{name}: {old!r} -> {new!r}" for name, (old, new) in self.fields().items())


@dataclass(slots=True)
class ImportPlan:
    added: list[Device] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.retired)


def matcher_for(levels: Sequence[AreaLevel]) -> HeaderMatcher:
    return HeaderMatcher({lvl.key: tuple(x for x in (lvl.label, lvl.label_vi) if x) for lvl in levels})


@dataclass(slots=True)
class SheetCheck:
    """What reading a sheet found: its devices, what blocks the import, and what is only odd."""

    devices: list[Device] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)


def read_inventory(
    path: Path,
    levels: Sequence[AreaLevel],
    known: Mapping[str, Device],
    profiles: Collection[str] = (),
    progress: Callable[[int, int], None] | None = None,
    *,
    limits: Mapping[str, int] | None = None,
    areas: Iterable[Sequence[str]] = (),
    retire_missing: bool = False,
) -> SheetCheck:
    """Every device of the sheet and every problem in it (with any error, the devices are not to be written).

    `known` is what the store holds already: a parent may be a device imported earlier, a row
    without an id is that device when its serial is, and no other device may take its serial
    or address. `profiles` are the credential profiles the config defines: a row naming another
    is an error. `limits` are the most characters the store holds per field; `areas` are the
    store's area paths, which a row's area matches whatever its case. With `retire_missing`,
    stored devices the sheet leaves out are retiring and conflict with nothing.
    `progress(done, total)` is told how far the check has come.
    """
    rows = read_sheet(path, matcher_for(levels))
    keys = [lvl.key for lvl in levels]
    source = str(path)
    check = SheetCheck()
    first_row: dict[str, int] = {}
    spelling = _AreaSpelling([*areas, *(d.area_path for d in known.values())])
    serials: dict[str, list[str]] = {}
    for d in known.values():
        if d.serial:
            serials.setdefault(d.serial, []).append(d.id)
    for done, row in enumerate(rows, start=1):
        device, problems = parse_row(row, source, keys, limits)
        check.errors += problems
        if device is not None:
            device = _placed(device, row.number, source, serials, spelling, check)
        if device is not None and device.credential_profile and device.credential_profile not in profiles:
            problem = f"no credential profile {device.credential_profile!r} in the config"
            check.errors.append(RowError(source, row.number, "credential_profile", problem))
        elif device is not None:
            if device.id in first_row:
                check.errors.append(RowError(source, row.number, "id", f"{device.id!r} is also on row {first_row[device.id]}"))
            else:
                first_row[device.id] = row.number
                check.devices.append(device)
        if progress and (done % 500 == 0 or done == len(rows)):
            progress(done, len(rows))
    check.errors += _check_parents(path, check.devices, known, first_row)
    errors, warnings = _check_conflicts(source, check.devices, known, first_row, retire_missing)
    check.errors += errors
    check.warnings += warnings + _odd_dates(source, check.devices, first_row)
    check.errors.sort(key=lambda e: e.row)
    check.warnings.sort(key=lambda e: e.row)
    return check


def _placed(
    device: Device, row: int, source: str, serials: Mapping[str, list[str]], spelling: _AreaSpelling, check: SheetCheck
) -> Device | None:
    """The row's device with its id (by serial when the row has none) and its area as the store spells it."""
    if not device.id:
        matches = serials.get(device.serial, [])
        if len(matches) > 1:
            problem = f"missing, and serial {device.serial!r} is on several devices ({', '.join(sorted(matches))}); give the device id"
            check.errors.append(RowError(source, row, "id", problem))
            return None
        device = dataclasses.replace(device, id=matches[0] if matches else device.serial)
    if device.area:
        area, error, warning = spelling.resolve(device.area_path, row)
        if error:
            check.errors.append(RowError(source, row, "area", error))
            return None
        if warning:
            check.warnings.append(RowError(source, row, "area", warning))
        device = dataclasses.replace(device, area=join_area_path(area))
    return device


class _AreaSpelling:
    """One spelling per area: a name matches an existing area whatever its case, and a new area keeps
    the spelling of the first row that names it. Two existing areas differing only in case are ambiguous."""

    def __init__(self, paths: Iterable[Sequence[str]]) -> None:
        self.known: dict[tuple[str, ...], dict[str, set[str]]] = {}
        for path in paths:
            for depth in range(len(path)):
                parent = tuple(name_key(n) for n in path[:depth])
                self.known.setdefault(parent, {}).setdefault(name_key(path[depth]), set()).add(path[depth])
        self.new: dict[tuple[str, ...], tuple[str, int]] = {}

    def resolve(self, path: Sequence[str], row: int) -> tuple[tuple[str, ...], str, str]:
        """(the path as spelled in the store, an error, a warning)."""
        out: list[str] = []
        warning = ""
        for depth, name in enumerate(path):
            parent = tuple(name_key(n) for n in path[:depth])
            spellings = self.known.get(parent, {}).get(name_key(name), set())
            if len(spellings) > 1:
                names = " and ".join(repr(s) for s in sorted(spellings))
                return (), f"{name!r} could be {names}, areas differing only in case; merge or rename one of them (fleetmon area)", ""
            if spellings:
                out.append(next(iter(spellings)))
                continue
            first, first_row = self.new.setdefault((*parent, name_key(name)), (name, row))
            if first != name and not warning:
                warning = f"{name!r} is spelt {first!r} on row {first_row}; imported as {first!r}"
            out.append(first)
        return tuple(out), "", warning


def _ports(device: Device) -> tuple[int, ...]:
    return tuple(device.port(p) for p in ("onvif_port", "http_port", "rtsp_port", "snmp_port"))


def _check_conflicts(
    source: str, found: Sequence[Device], known: Mapping[str, Device], rows: Mapping[str, int], retire_missing: bool
) -> tuple[list[RowError], list[RowError]]:
    """No two active devices share a serial, or a host with the same ports (they would be one unit probed twice).

    A host shared on different ports (household cameras behind one router) is only a warning.
    Stored devices the sheet does not declare count first: a new row never takes over one of them.
    """
    kept = {} if retire_missing else {i: d for i, d in known.items() if d.active and i not in rows}
    members = [*kept.values(), *(d for d in found if d.active)]

    def where(device: Device) -> str:
        return f"row {rows[device.id]}" if device.id in rows and device.id not in kept else "the inventory"

    errors: list[RowError] = []
    warnings: list[RowError] = []
    by_serial: dict[str, Device] = {}
    by_address: dict[tuple[str, tuple[int, ...]], Device] = {}
    by_host: dict[str, Device] = {}
    for device in members:
        in_sheet = device.id in rows and device.id not in kept
        if device.serial:
            other = by_serial.setdefault(device.serial, device)
            if other is not device and in_sheet:
                problem = f"{device.serial!r} is also the serial of {other.id!r} ({where(other)})"
                if where(other) == "the inventory":
                    problem += f"; to change that device use its id {other.id!r}, or correct the serial"
                errors.append(RowError(source, rows[device.id], "serial", problem))
        other = by_address.setdefault((device.host, _ports(device)), device)
        if other is not device and in_sheet:
            errors.append(RowError(source, rows[device.id], "host", f"{device.host} is also the address of {other.id!r} ({where(other)}), "
                                                                   "on the same ports: one unit would be probed as two"))
            continue
        other = by_host.setdefault(device.host, device)
        if other is not device and in_sheet:
            problem = f"{device.host} is also the address of {other.id!r} ({where(other)}), on other ports (behind one router?)"
            warnings.append(RowError(source, rows[device.id], "host", problem))
    return errors, warnings


def _odd_dates(source: str, found: Sequence[Device], rows: Mapping[str, int]) -> list[RowError]:
    """Plausible but odd: imported, and said."""
    today = date.today()
    odd = []
    for device in found:
        installed, warranty = device.install_date, device.warranty_end
        if installed and warranty and installed > warranty:
            odd.append(RowError(source, rows[device.id], "install_date", f"{installed} is after the warranty end {warranty}"))
        if installed and installed > today:
            odd.append(RowError(source, rows[device.id], "install_date", f"{installed} is in the future"))
    return odd


def _check_parents(path: Path, found: Sequence[Device], known: Mapping[str, Device], rows: Mapping[str, int]) -> list[RowError]:
    """Parents must exist in the sheet or the store, and no device is behind itself, directly or in a circle."""
    ids = {d.id for d in found} | set(known)
    errors = []
    for device in found:
        if not device.parent:
            continue
        if device.parent == device.id:
            errors.append(RowError(str(path), rows[device.id], "parent", "a device cannot be its own parent"))
        elif device.parent not in ids:
            errors.append(RowError(str(path), rows[device.id], "parent", f"no device {device.parent!r} in the sheet or the inventory"))
    return errors + _check_cycles(path, found, known, rows)


def _check_cycles(path: Path, found: Sequence[Device], known: Mapping[str, Device], rows: Mapping[str, int]) -> list[RowError]:
    """A parent cycle (A behind B, B behind A) would make each member "unreachable behind the other"
    and none of them down: refused once per cycle, on its first row in the sheet, naming every member."""
    parents = {i: d.parent for i, d in known.items()} | {d.id: d.parent for d in found}
    done: set[str] = set()
    errors = []
    for device in found:
        path_ids: list[str] = []
        current = device.id
        while current and current not in done and current not in path_ids:
            path_ids.append(current)
            current = parents.get(current, "")
        done.update(path_ids)
        if not current or current not in path_ids:
            continue  # reached a root, or a chain already checked
        cycle = path_ids[path_ids.index(current):]
        if len(cycle) < 2:
            continue  # its own parent: reported above
        members = " -> ".join(f"{i} (row {rows[i]})" if i in rows else f"{i} (inventory)" for i in [*cycle, cycle[0]])
        first = min((rows[i] for i in cycle if i in rows), default=rows[device.id])
        problem = f"devices behind each other in a circle: {members}; give one of them another parent"
        errors.append(RowError(str(path), first, "parent", problem))
    return errors


def plan_import(sheet: Sequence[Device], stored: Mapping[str, Device], retire_missing: bool = False) -> ImportPlan:
    """What writing `sheet` over `stored` changes, device by id (`read_inventory` gave rows without one theirs)."""
    plan = ImportPlan()
    seen: set[str] = set()
    for device in sheet:
        seen.add(device.id)
        before = stored.get(device.id)
        if before is None:
            plan.added.append(device)
        elif before != device:
            plan.changed.append(Change(device=device, before=before))
        else:
            plan.unchanged += 1
    if retire_missing:
        plan.retired = sorted(i for i, d in stored.items() if d.active and i not in seen)
    return plan


def read_devices(path: Path, levels: Sequence[AreaLevel] = ()) -> list[Device]:
    """The devices of a sheet, for tools that only read it (the simulator); any bad row is an error."""
    chosen = levels or DEFAULT_AREA_LEVELS
    check = read_inventory(path, chosen, known={})
    errors = check.errors
    if errors:
        raise SheetError("\n".join(str(e) for e in errors[:20]) + (f"\n... {len(errors) - 20} more" if len(errors) > 20 else ""))
    return check.devices
