"""Properties over any input: the sheet reader answers with rows or row-numbered errors, never a crash;
area names have one normal form, and paths split and join back."""

from __future__ import annotations

import csv
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from fleetmon.inventory.importer import read_inventory
from fleetmon.inventory.model import AREA_SEPARATORS, DEFAULT_AREA_LEVELS, join_area_path, name_key, normalise_name, split_area_path
from fleetmon.inventory.sheets import SheetError
from fleetmon.store.inventory import text_limits

HEADERS = ["Device ID", "Kind", "Host", "Area", "Site", "Serial", "Purchase cost (VND)", "Install date", "Tỉnh", "ONVIF port",
           "Latitude", "Active", "Protocols", "MAC", "Funding", "Parent"]
_SPECIAL = st.sampled_from([
    "", " ", "=1+1", "=A1", "#REF!", "'=x", "99999", "1e400", "nan", "-1", "10" * 30, "12.500.000 đ", "31/12/2024", "::1",
    "127.0.0.1", "not an address", "a / b > c", "\u0301", "x" * 300, "yes", "Không", "onvif, snmp", "AA:BB:CC:DD:EE:FF",
    "9" * 400, "1" * 5000,
])
# Text as typed, and numbers as a spreadsheet stores them (an XLSX keeps them as numbers).
_CELL = st.text(max_size=80) | _SPECIAL | st.integers(-(10**30), 10**30) | st.floats(allow_nan=True)


@st.composite
def _grid(draw: st.DrawFn) -> list[list[object]]:
    width = draw(st.integers(1, len(HEADERS)))
    header = draw(st.permutations(HEADERS))[:width]
    if draw(st.booleans()):
        header = [draw(_CELL) if draw(st.integers(0, 4)) == 0 else h for h in header]
    rows = draw(st.lists(st.lists(_CELL, min_size=0, max_size=width + 2), max_size=8))
    return [list(header), *rows]


def _write(path: Path, grid: list[list[object]]) -> None:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(grid)
        return
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in grid:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])  # what an XLSX can hold at all
    workbook.save(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=_grid())
def test_any_text_in_any_cell_gives_devices_or_row_numbered_errors(suffix: str, grid: list[list[object]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sheet{suffix}"
        _write(path, grid)
        try:
            check = read_inventory(path, DEFAULT_AREA_LEVELS, known={}, limits=text_limits())
        except SheetError as exc:
            assert str(exc).startswith(str(path))
            return
    for problem in check.errors + check.warnings:
        assert 2 <= problem.row <= len(grid)
        assert str(problem).startswith(f"{path}:{problem.row}: ")
        assert "\n" not in str(problem)


_PATHS = st.text() | st.text(st.sampled_from(["a", "Đ", "\u0301", " ", "/", ">", "\t", "\n", "\u00a0"]))


@given(_PATHS)
def test_normalising_a_name_is_idempotent_and_keeps_one_key(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
    assert name_key(once) == name_key(text) == name_key(name_key(text))
    assert once == once.strip() and "  " not in once


_NAMES = st.lists(st.text(min_size=1).map(normalise_name).filter(lambda n: n != "" and not any(s in n for s in AREA_SEPARATORS)),
                  max_size=6)


@given(_NAMES)
def test_an_area_path_splits_into_the_names_it_was_joined_from(names: list[str]) -> None:
    assert split_area_path(join_area_path(names)) == tuple(names)


@given(_PATHS)
def test_any_path_splits_into_normal_names_that_join_and_split_the_same(path: str) -> None:
    names = split_area_path(path)
    assert all(name == normalise_name(name) and name and not any(s in name for s in AREA_SEPARATORS) for name in names)
    assert split_area_path(join_area_path(names)) == names


@given(_NAMES, st.data())
def test_spellings_that_look_the_same_are_one_area(names: list[str], data: st.DataObject) -> None:
    """Decomposed accents (NFD), doubled or odd spaces, another case and other separators: the same area."""
    path = join_area_path(names)
    spaces = data.draw(st.sampled_from(["  ", "\u00a0", "\t", " "]))
    respelt = data.draw(st.sampled_from(["/", ">", " / ", " > "])).join(
        spaces + unicodedata.normalize("NFD", name).replace(" ", spaces) + spaces for name in names)
    assert split_area_path(respelt) == split_area_path(path) == tuple(names)
    assert [name_key(n) for n in split_area_path(respelt.upper())] == [name_key(n.upper()) for n in names]
