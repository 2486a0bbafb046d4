"""`fleetmon inventory ...`: import, export, list, show, and the sample fleet."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click
from click._termui_impl import ProgressBar

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.model import Device, DeviceKind, name_key, split_area_path
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.store.inventory import apply_plan, check_sheet, device_dicts, load_devices

SHEET = click.Path(path_type=Path, dir_okay=False)


@click.group()
def inventory() -> None:
    """The fleet's devices: import and export sheets, list and show."""


def _summary(plan: ImportPlan) -> str:
    return f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.retired)} retired, {plan.unchanged} unchanged"


def _print_plan(plan: ImportPlan, limit: int = 50) -> None:
    lines = [f"+ {d.id} ({d.kind.value}, {d.host})" for d in plan.added]
    lines += [f"~ {c.device.id}: {c.describe()}" for c in plan.changed]
    lines += [f"- {i} (retire)" for i in plan.retired]
    for line in lines[:limit]:
        click.echo(line)
    if len(lines) > limit:
        click.echo(f"... and {len(lines) - limit} more")


class _ProgressBar:
    """A click progress bar on stderr, made once the total is known."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: ProgressBar[int] | None = None
        self.done = 0

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@inventory.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Show what would be added, changed and retired; write nothing.")
@click.option("--retire-missing", is_flag=True, help="Retire active devices that are not in the sheet.")
@pass_app
def import_(app: AppContext, path: Path, dry_run: bool, retire_missing: bool) -> None:
    """Import devices from a CSV or XLSX sheet (English or Vietnamese headers).

    Every row is checked first; if any row is wrong, each mistake is printed as
    FILE:ROW: FIELD: PROBLEM and nothing is written. What is odd but plausible is printed
    the same way, marked "(warning)", and imported. A dry run checks all the same.
    """
    started = time.perf_counter()
    bar = _ProgressBar(f"checking {path.name}")
    try:
        with app.engine.connect() as conn:
            check, plan = check_sheet(conn, path, app.config.areas.as_levels(), app.config.credentials.keys(),
                                      retire_missing=retire_missing, progress=bar.update)
    finally:
        bar.close()
    for warning in check.warnings:
        click.echo(f"{warning} (warning)", err=True)
    if plan is None:
        for error in check.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(check.errors)} problem(s) in {path}; nothing was imported", err=True)
        sys.exit(1)
    if dry_run:
        _print_plan(plan)
        click.echo(f"dry run: would be {_summary(plan)}")
        return
    with app.engine.begin() as conn:
        apply_plan(conn, plan, source=path.name)
    click.echo(f"imported {path.name}: {_summary(plan)} in {time.perf_counter() - started:.1f} s")


def _filtered(app: AppContext, area: str | None, site: str | None, kind: str | None, retired: bool) -> list[Device]:
    with app.engine.connect() as conn:
        found = load_devices(conn, include_retired=retired).values()
    prefix = tuple(name_key(p) for p in split_area_path(area)) if area else ()
    return [
        d
        for d in found
        if tuple(name_key(p) for p in d.area_path[: len(prefix)]) == prefix
        and (site is None or d.site == site)
        and (kind is None or d.kind.value == kind)
    ]


_F = TypeVar("_F", bound=Callable[..., Any])


def _filters(command: _F) -> _F:
    for option in reversed(
        (
            click.option("--area", help="Area path or its start, e.g. 'Thanh Hóa / Thọ Xuân'."),
            click.option("--site", help="Site (mô hình) name."),
            click.option("--kind", type=click.Choice([k.value for k in DeviceKind])),
            click.option("--retired", is_flag=True, help="Include retired devices."),
        )
    ):
        command = option(command)
    return command


@inventory.command("export")
@click.argument("path", type=SHEET)
@click.option("--vietnamese", is_flag=True, help="Vietnamese column headers.")
@_filters
@pass_app
def export(app: AppContext, path: Path, vietnamese: bool, area: str | None, site: str | None, kind: str | None, retired: bool) -> None:
    """Write devices to a CSV or XLSX sheet that `inventory import` reads back."""
    found = sorted(_filtered(app, area, site, kind, retired), key=lambda d: d.id)
    count = write_sheet(path, device_dicts(found), vietnamese_headers=vietnamese)
    click.echo(f"wrote {count} devices to {path}")


def _table(rows: Iterable[tuple[str, ...]]) -> None:
    rows = list(rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@inventory.command("list")
@_filters
@pass_app
def list_(app: AppContext, area: str | None, site: str | None, kind: str | None, retired: bool) -> None:
    """List devices, filtered by area, site and kind."""
    found = sorted(_filtered(app, area, site, kind, retired), key=lambda d: (d.area, d.site, d.id))
    if not found:
        click.echo("no devices")
        return
    _table(
        [("ID", "KIND", "HOST", "VENDOR", "MODEL", "SITE", "AREA")]
        + [(d.id, d.kind.value + ("" if d.active else " (retired)"), d.host, d.vendor, d.model, d.site, d.area) for d in found]
    )
    click.echo(f"{len(found)} devices")


@inventory.command("show")
@click.argument("device_id")
@pass_app
def show(app: AppContext, device_id: str) -> None:
    """Everything the inventory holds about one device."""
    with app.engine.connect() as conn:
        found = load_devices(conn)
    device = found.get(device_id) or next((d for d in found.values() if device_id in (d.serial, d.host)), None)
    if device is None:
        raise click.ClickException(f"no device {device_id!r} (looked up by id, serial and host)")
    for field in dataclasses.fields(Device):
        value = getattr(device, field.name)
        if isinstance(value, tuple):
            value = ", ".join(str(v) for v in value)
        click.echo(f"{field.name:>20}: {'' if value is None else value}")
    children = sorted(d.id for d in found.values() if d.parent == device.id)
    if children:
        click.echo(f"{'behind it':>20}: {len(children)} devices ({', '.join(children[:8])}{', ...' if len(children) > 8 else ''})")


@inventory.command("sample")
@click.option("--devices", "cameras", type=click.IntRange(1, 2_000_000), default=14_053, show_default=True,
              help="Cameras; NVRs and uplink switches are added. Past 14,053 the extra are household cameras.")
@click.option("-o", "--output", type=SHEET, required=True, help="FILE.xlsx or FILE.csv")
@click.option("--seed", type=int, default=2023, show_default=True)
def sample(cameras: int, output: Path, seed: int) -> None:
    """Write a province-sized sample fleet (shaped like Thanh Hóa's) in the import format."""
    fleet = sample_fleet(cameras, seed=seed)
    count = write_sheet(output, device_dicts(fleet))
    click.echo(f"wrote {count} devices ({cameras} cameras) to {output}")
