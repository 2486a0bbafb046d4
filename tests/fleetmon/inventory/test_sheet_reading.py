"""Sheets read whole and right, or refused by file and row: stale extents, formulas, damaged and oversized files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fleetmon.inventory import sheets
from tests.fleetmon.inventory.conftest import SHEET, Run, problems, rewrite_part, set_dimension, stored, write_csv, write_xlsx

HEADER = ["Device ID", "Kind", "Host", "Serial", "Purchase cost (VND)", "Notes"]


def fleet_rows(count: int) -> list[list[object]]:
    return [HEADER] + [[f"cam-{i}", "camera", f"127.0.40.{i}", f"SN{i:04d}", 1_500_000, ""] for i in range(1, count + 1)]


def test_rows_past_a_stale_stored_dimension_are_read_and_none_retired(run: Run, tmp_path: Path, store_url: str) -> None:
    """Other tools leave <dimension ref="A1:F3"/> after adding rows: every row is still there."""
    full = write_xlsx(tmp_path / "full.xlsx", fleet_rows(10))
    assert run("inventory", "import", str(full)).exit_code == 0
    stale = rewrite_part(full, SHEET, lambda xml: set_dimension(xml, "A1:F3"), out=tmp_path / "stale.xlsx")

    result = run("inventory", "import", "--retire-missing", str(stale))

    assert result.exit_code == 0, result.output
    assert "0 added, 0 changed, 0 retired, 10 unchanged" in result.output
    assert all(device.active for device in stored(store_url).values())


def test_formulas_without_a_calculated_value_are_refused_by_row_and_column(run: Run, tmp_path: Path, store_url: str) -> None:
    """openpyxl, scripts and some web tools save formulas without their results: such a cell has no value to import."""
    rows = fleet_rows(3)
    rows[1][0] = '="cam-"&"999"'
    rows[2][4] = "=5000000*2"
    path = write_xlsx(tmp_path / "formulas.xlsx", rows)

    result = run("inventory", "import", "--dry-run", str(path))

    assert result.exit_code == 1
    shown = "; open and save the file in a spreadsheet program, or type the value"
    assert problems(result, path) == [
        f'{path}:2: id (Device ID): the formula ="cam-"&"999" has no calculated value in the file{shown}',
        f"{path}:3: purchase_cost_vnd (Purchase cost (VND)): the formula =5000000*2 has no calculated value in the file{shown}",
    ]
    assert stored(store_url) == {}


def test_a_spreadsheet_error_value_is_refused(run: Run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "errors.csv", "id,kind,host,serial", "cam-1,camera,127.0.40.1,#REF!")
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [f"{path}:2: serial: the cell holds the spreadsheet error #REF!, not a value"]


def test_an_error_value_in_a_workbook_is_refused_not_read_as_a_blank(run: Run, tmp_path: Path) -> None:
    """Excel stores #REF! as a cell of type "e"; calamine, the fast reader, reads it as blank."""
    path = write_xlsx(tmp_path / "errors.xlsx", fleet_rows(2))
    rewrite_part(path, SHEET, lambda xml: re.sub(rb'<c r="D3"[^>]*>.*?</c>', b'<c r="D3" t="e"><v>#REF!</v></c>', xml))
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [f"{path}:3: serial (Serial): the cell holds the spreadsheet error #REF!, not a value"]


def test_a_cell_too_long_for_csv_is_refused_by_row(run: Run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", "id,kind,host,notes", "cam-1,camera,127.0.40.1,ok", "cam-2,camera,127.0.40.2," + "x" * 140_000)
    result = run("inventory", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: a cell is longer than 32,767 characters (the most a spreadsheet cell holds)" in result.stderr


def test_a_cell_longer_than_a_spreadsheet_holds_is_refused_by_row_and_field(run: Run, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", "id,kind,host,notes", "cam-1,camera,127.0.40.1," + "x" * 40_000)
    result = run("inventory", "import", str(path))
    assert problems(result, path) == [f"{path}:2: notes: longer than 32,767 characters"]


def _saved(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "good.xlsx", fleet_rows(4))


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("not-a-zip", None, "not an XLSX workbook (not a zip archive); save it as 'Excel Workbook (.xlsx)'"),
        ("no-worksheet", ("xl/workbook.xml", lambda xml: xml.split(b"<sheets>")[0] + b"<sheets/></workbook>"),
         "the workbook has no worksheet"),
        ("truncated", (SHEET, lambda xml: xml[: len(xml) // 2]), "a damaged XLSX workbook"),
    ],
)
def test_a_damaged_workbook_is_one_line_naming_the_file(run: Run, tmp_path: Path, name: str, damage: object, message: str) -> None:
    path = tmp_path / f"{name}.xlsx"
    if damage is None:
        path.write_text("Device ID,Kind,Host\ncam-1,camera,127.0.0.1\n", encoding="utf-8")
    else:
        part, change = damage  # type: ignore[misc]
        rewrite_part(_saved(tmp_path), part, change, out=path)

    result = run("inventory", "import", str(path))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}")
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def _bomb(path: Path, cell_bytes: int) -> Path:
    """A small XLSX whose sheet holds one enormous cell (it compresses a thousandfold)."""
    good = _saved(path.parent)
    with zipfile.ZipFile(good) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    head, tail = parts[SHEET].split(b"</sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name, data in parts.items():
            if name != SHEET:
                target.writestr(name, data)
        with target.open(SHEET, "w", force_zip64=True) as part:
            part.write(head + b'<row r="6"><c r="A6" t="inlineStr"><is><t>cam-6</t></is></c>'
                       b'<c r="F6" t="inlineStr"><is><t>')
            block = b"A" * (1 << 20)
            for _ in range(cell_bytes >> 20):
                part.write(block)
            part.write(b"</t></is></c></row></sheetData>" + tail)
    return path


def test_a_small_file_holding_a_gigabyte_cell_is_refused_without_expanding_it(tmp_path: Path) -> None:
    """A 1 MB upload must not cost gigabytes: the import runs with 1.5 GB of address space and says what is wrong."""
    bomb = _bomb(tmp_path / "bomb.xlsx", 1 << 30)
    assert bomb.stat().st_size < 8 * 2**20
    config = tmp_path / "bomb.yaml"
    config.write_text("data_dir: data\n", encoding="utf-8")
    limit = 1536 * 2**20
    code = (
        f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
        "from fleetmon.cli import main; sys.argv = ['fleetmon', '--config', sys.argv[1], 'inventory', 'import', sys.argv[2]]; main()"
    )
    result = subprocess.run([sys.executable, "-c", code, str(config), str(bomb)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {bomb}: {SHEET} holds a cell longer than 32,767 characters (the most a spreadsheet cell holds)"
    )


def test_a_sheet_past_the_row_and_size_bounds_is_refused(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "MAX_ROWS", 5)
    many = write_xlsx(tmp_path / "many.xlsx", fleet_rows(6))
    result = run("inventory", "import", str(many))
    assert result.exit_code == 1
    assert f"{many}:6: more than 5 rows (the most a spreadsheet holds); split the file" in result.stderr
    monkeypatch.setattr(sheets, "MAX_FILE_BYTES", 100)
    big = write_csv(tmp_path / "big.csv", "id,kind,host", *(f"cam-{i},camera,127.0.40.{i}" for i in range(1, 10)))
    assert "sheets up to 0 MiB are read" in run("inventory", "import", str(big)).stderr


def test_out_of_range_costs_and_over_long_text_are_row_errors_in_dry_run_and_import(run: Run, tmp_path: Path, store_url: str) -> None:
    """On PostgreSQL a 300-character site failed the import with the SQL; a cost of 10^20 passed the dry run."""
    path = write_csv(
        tmp_path / "bounds.csv",
        "id,kind,host,area,site,cost,model",
        "cam-1,camera,127.0.40.1,Thanh Hóa,Cụm chợ,100000000000000000000,",
        f"cam-2,camera,127.0.40.2,Thanh Hóa,{'S' * 300},1500000,{'M' * 129}",
        f"cam-3,camera,127.0.40.3,{'A' * 201},,,",
    )
    for dry in (["--dry-run"], []):
        result = run("inventory", "import", *dry, str(path))
        assert result.exit_code == 1
        assert problems(result, path) == [
            f"{path}:2: purchase_cost_vnd (cost): 100,000,000,000,000,000,000 is outside 0..1,000,000,000,000 VND",
            f"{path}:3: site: longer than 200 characters",
            f"{path}:3: model: longer than 128 characters",
            f"{path}:4: area: the area name is longer than 200 characters",
        ]
    assert stored(store_url) == {}
