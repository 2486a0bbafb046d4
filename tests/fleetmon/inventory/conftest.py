"""Helpers for the inventory tests: the CLI on a store, sheets built from rows, XLSX parts rewritten."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlalchemy import func, select

from fleetmon.cli import main
from fleetmon.inventory.model import Device
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import load_devices
from fleetmon.store.schema import areas

Run = Callable[..., Result]


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "fleetmon.yaml"
    path.write_text(f"data_dir: data\ndatabase_url: '{store_url}'\n", encoding="utf-8")
    return path


@pytest.fixture
def run(config: Path) -> Run:
    """`fleetmon --config CONFIG ARGS...`; an exception escaping the command fails the test."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)

    return invoke


def stored(url: str) -> dict[str, Device]:
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            return load_devices(conn)
    finally:
        engine.dispose()


def area_count(url: str) -> int:
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(areas)).scalar_one())
    finally:
        engine.dispose()


def problems(result: Result, path: Path) -> list[str]:
    """The lines of stderr about `path`, as an administrator reads them."""
    return [line for line in result.stderr.splitlines() if line.startswith(str(path))]


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """A workbook saved as spreadsheet programs save one (with a <dimension> element)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def rewrite_part(path: Path, part: str, change: Callable[[bytes], bytes], out: Path | None = None) -> Path:
    """A copy of the XLSX at `path` (or `path` itself) with one zip member changed."""
    out = out or path
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info.filename, change(data) if info.filename == part else data)
    return out


def set_dimension(data: bytes, ref: str) -> bytes:
    return re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), data)


SHEET = "xl/worksheets/sheet1.xml"
