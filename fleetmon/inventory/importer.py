"""Importing a sheet: read and check every row, then plan what changes, then (elsewhere) write.

Import is all or nothing: `read_inventory` returns every problem of the sheet, and the CLI
writes only a sheet without any. Planning is a pure comparison with what the store holds, so
`--dry-run` shows exactly what a real import would do, and re-importing the same sheet plans
nothing.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fleetmon.inventory.columns import HeaderMatcher
from fleetmon.inventory.model import DEFAULT_AREA_LEVELS, AreaLevel, Device
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


def read_inventory(
    path: Path,
    levels: Sequence[AreaLevel],
    known: Mapping[str, Device],
    profiles: Collection[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Device], list[RowError]]:
    """Every device of the sheet, or every problem in it (then the devices are not to be written).

    `known` is what the store holds already: a parent may be a device imported earlier.
    `profiles` are the credential profiles the config defines: a row naming another is an error.
    `progress(done, total)` is told how far the check has come.
    """
    rows = read_sheet(path, matcher_for(levels))
    keys = [lvl.key for lvl in levels]
    found: list[Device] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for done, row in enumerate(rows, start=1):
        device, problems = parse_row(row, str(path), keys)
        errors += problems
        if device is not None and device.credential_profile and device.credential_profile not in profiles:
            errors.append(RowError(str(path), row.number, "credential_profile",
                                   f"no credential profile {device.credential_profile!r} in the config"))
        elif device is not None:
            if device.id in first_row:
                errors.append(RowError(str(path), row.number, "id", f"{device.id!r} is also on row {first_row[device.id]}"))
            else:
                first_row[device.id] = row.number
                found.append(device)
        if progress and (done % 500 == 0 or done == len(rows)):
            progress(done, len(rows))
    errors += _check_parents(path, found, known, first_row)
    errors.sort(key=lambda e: e.row)
    return found, errors


def _check_parents(path: Path, found: Sequence[Device], known: Mapping[str, Device], rows: Mapping[str, int]) -> list[RowError]:
    """Parents must exist in the sheet or the store, and a device is never its own parent."""
    ids = {d.id for d in found} | set(known)
    errors = []
    for device in found:
        if not device.parent:
            continue
        if device.parent == device.id:
            errors.append(RowError(str(path), rows[device.id], "parent", "a device cannot be its own parent"))
        elif device.parent not in ids:
            errors.append(RowError(str(path), rows[device.id], "parent", f"no device {device.parent!r} in the sheet or the inventory"))
    return errors


def plan_import(sheet: Sequence[Device], stored: Mapping[str, Device], retire_missing: bool = False) -> ImportPlan:
    """What writing `sheet` over `stored` changes. A row without an id matches by serial."""
    by_serial = {d.serial: d.id for d in stored.values() if d.serial}
    counts = Counter(d.serial for d in stored.values() if d.serial)
    plan = ImportPlan()
    seen: set[str] = set()
    for device in sheet:
        if device.id not in stored and device.serial and counts[device.serial] == 1:
            device = dataclasses.replace(device, id=by_serial[device.serial])
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
    found, errors = read_inventory(path, chosen, known={})
    if errors:
        raise SheetError("\n".join(str(e) for e in errors[:20]) + (f"\n... {len(errors) - 20} more" if len(errors) > 20 else ""))
    return found
