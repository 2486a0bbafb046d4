"""Reading and writing inventory sheets (CSV and XLSX) as raw cells, with Excel's quirks.

Officials' sheets have a title row or two above the header, headers merged over two rows,
a BOM, `;` as the CSV separator. Reading finds the header row by what it says, and reports
every data row with the row number Excel shows, so errors point at the right line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetmon.inventory.columns import HeaderMatcher, export_headers

HEADER_SEARCH_ROWS = 12


class SheetError(Exception):
    """The file as a whole cannot be read (format, encoding, no header)."""


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # as the spreadsheet shows it (1-based, header rows included)
    cells: dict[str, Any]  # canonical column -> raw value
    headers: dict[str, str]  # canonical column -> the header text in this sheet


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _find_header(rows: Sequence[Sequence[Any]], matcher: HeaderMatcher, source: str) -> tuple[int, dict[int, tuple[str, str]]]:
    """Index of the header row and {column index: (canonical, header text)}.

    A header merged vertically over two rows keeps its text in the upper row only, so a cell
    blank in the header row is looked up in the row above.
    """
    best: tuple[int, dict[int, tuple[str, str]]] = (-1, {})
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, tuple[str, str]] = {}
        for c, value in enumerate(row):
            candidates = [value]
            if r > 0 and c < len(rows[r - 1]):
                candidates.append(rows[r - 1][c])
            for candidate in candidates:
                name = matcher.match(candidate)
                if name and name not in {n for n, _ in mapping.values()}:
                    mapping[c] = (name, str(candidate).strip())
                    break
        if len(mapping) > len(best[1]):
            best = (r, mapping)
    row_index, mapping = best
    names = {n for n, _ in mapping.values()}
    if ("id" not in names and "serial" not in names) or len(mapping) < 3:
        raise SheetError(
            f"{source}: no header row found in the first {HEADER_SEARCH_ROWS} rows "
            "(expected columns such as 'Device ID'/'Mã thiết bị', 'Kind'/'Loại thiết bị', 'Host'/'Địa chỉ IP')"
        )
    return row_index, mapping


def _rows_to_raw(rows: list[list[Any]], matcher: HeaderMatcher, source: str) -> Iterator[RawRow]:
    header_index, mapping = _find_header(rows, matcher, source)
    headers = dict(mapping.values())
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        cells = {name: row[c] for c, (name, _) in mapping.items() if c < len(row)}
        if all(_is_blank(v) for v in cells.values()):
            continue
        yield RawRow(number=offset, cells=cells, headers=headers)


def _read_csv(path: Path) -> list[list[Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetError(f"{path}: not UTF-8 text (byte {exc.start}); save the sheet as 'CSV UTF-8'") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise SheetError(f"{path}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_sheet(path: Path, matcher: HeaderMatcher) -> list[RawRow]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _read_xlsx(path)
    else:
        raise SheetError(f"{path}: unsupported format {suffix or '(none)'}; use .csv or .xlsx")
    return list(_rows_to_raw(rows, matcher, str(path)))


def write_sheet(path: Path, rows: Iterable[dict[str, Any]], vietnamese_headers: bool = False) -> int:
    """Write canonical-column dicts to CSV or XLSX; returns the number of rows written."""
    columns = export_headers(vietnamese_headers)
    suffix = path.suffix.lower()
    count = 0
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([header for _, header in columns])
            for row in rows:
                writer.writerow(["" if row.get(n) is None else row[n] for n, _ in columns])
                count += 1
        return count
    if suffix == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Inventory")
        sheet.append([header for _, header in columns])
        for row in rows:
            sheet.append([row.get(n) for n, _ in columns])
            count += 1
        workbook.save(path)
        return count
    raise SheetError(f"{path}: unsupported format {suffix or '(none)'}; use .csv or .xlsx")
