"""Reading and writing inventory sheets (CSV and XLSX) as raw cells, with Excel's quirks.

Officials' sheets have a title row or two above the header, headers merged over two rows,
a BOM, `;` as the CSV separator. Reading finds the header row by what it says, and reports
every data row with the row number Excel shows, so errors point at the right line.

Whatever a file holds, reading it costs bounded memory and ends in rows or one `SheetError`
naming the file (and the row, where there is one): the file's size, an XLSX's parts before they
are expanded, the length of any cell's text and the number of rows are checked against the limits
below. Cells whose value the file does not hold (a formula never calculated, an Excel error such
as `#REF!`) are read as `Unreadable`, for the row check to refuse by row and column.

Text written out is text: a value that a spreadsheet would take for a formula (`=`, `+`, `-`,
`@`, tab, CR first) is written behind an apostrophe, and reading removes that apostrophe again,
so an exported sheet imports back as it was.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

from fleetmon.inventory.columns import HeaderMatcher, export_headers

HEADER_SEARCH_ROWS = 12
MAX_FILE_BYTES = 256 * 1024 * 1024  # a sheet file on disk
MAX_XLSX_EXPANDED_BYTES = 2 * 1024 * 1024 * 1024  # all parts of an XLSX, as declared in its zip directory
MAX_CELL_CHARS = 32_767  # the most text an Excel cell holds
MAX_ROWS = 1_048_576  # the most rows an Excel sheet has
# An XML text run (one cell's text) longer than this is refused before it is parsed: the
# worst escaping (`&quot;` for each character) of the longest cell, and some room.
_MAX_XML_TEXT_BYTES = 6 * MAX_CELL_CHARS + 1024
_EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


class SheetError(Exception):
    """The file as a whole cannot be read (format, encoding, size, no header)."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A cell whose value the file does not hold: its row check says why."""

    problem: str


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # as the spreadsheet shows it (1-based, header rows included)
    cells: dict[str, Any]  # canonical column -> raw value
    headers: dict[str, str]  # canonical column -> the header text in this sheet


def _needs_quote(text: str) -> bool:
    return text.startswith((*FORMULA_STARTS, _QUOTE)) or text in _EXCEL_ERRORS


def neutralise(text: str) -> str:
    """`text` as a cell no spreadsheet evaluates: an apostrophe before a formula start, an error
    literal such as `#N/A`, or an apostrophe."""
    return _QUOTE + text if _needs_quote(text) else text


def unneutralise(text: str) -> str:
    """The text `neutralise` was given: the apostrophe it added goes."""
    return text[1:] if text.startswith(_QUOTE) and _needs_quote(text[1:]) else text


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
        width = max(len(row), len(rows[r - 1]) if r > 0 else 0)
        for c in range(width):
            candidates = [row[c] if c < len(row) else None]
            if r > 0 and c < len(rows[r - 1]):
                candidates.append(rows[r - 1][c])
            for candidate in candidates:
                if not isinstance(candidate, str | int | float):
                    continue
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


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        if value in _EXCEL_ERRORS:
            return Unreadable(f"the cell holds the spreadsheet error {value}, not a value")
        return unneutralise(value)
    return value


def _rows_to_raw(rows: list[list[Any]], matcher: HeaderMatcher, source: str) -> Iterator[RawRow]:
    header_index, mapping = _find_header(rows, matcher, source)
    headers = dict(mapping.values())
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        cells = {name: _cell(row[c]) for c, (name, _) in mapping.items() if c < len(row)}
        if all(_is_blank(v) for v in cells.values()):
            continue
        yield RawRow(number=offset, cells=cells, headers=headers)


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SheetError(f"{path}: cannot be read ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise SheetError(f"{path}: {size:,} bytes; sheets up to {MAX_FILE_BYTES // 2**20} MiB are read (split the file)")


def _too_many_rows(path: Path) -> SheetError:
    return SheetError(f"{path}:{MAX_ROWS + 1}: more than {MAX_ROWS:,} rows (the most a spreadsheet holds); split the file")


def _delimiter(text: str) -> str:
    """`,`, `;` (Excel where the decimal mark is a comma) or tab: whichever the first lines use most.

    Only the separator is guessed: quotes are always `"`, as every spreadsheet writes them, so a
    cell starting with an apostrophe is never taken for a quote.
    """
    head = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    return max(",;\t", key=head.count)


def _read_csv(path: Path) -> list[list[Any]]:
    _check_size(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # line breaks inside cells kept as written
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise SheetError(f"{path}: not UTF-8 text (byte {exc.start}); save the sheet as 'CSV UTF-8'") from None
    rows: list[list[Any]] = []
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text), quotechar='"')
    try:
        for row in reader:
            if len(rows) == MAX_ROWS:
                raise _too_many_rows(path)
            rows.append(row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            problem = f"a cell is longer than {MAX_CELL_CHARS:,} characters (the most a spreadsheet cell holds)"
        else:
            problem = f"not readable as CSV ({exc})"
        raise SheetError(f"{path}:{len(rows) + 1}: {problem}") from None
    return rows


def _check_xlsx_parts(path: Path) -> bool:
    """Refuse an XLSX whose parts would expand past the limits, before any is parsed; True if it holds
    formulas or error values (cells only openpyxl tells apart from blanks).

    The zip directory's sizes bound what is decompressed (reading stops there), and each
    XML part is scanned for a text run longer than any cell can hold: a 1 MB file holding a
    1 GB cell is refused here, having used a few MB.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise SheetError(f"{path}: not an XLSX workbook (not a zip archive); save it as 'Excel Workbook (.xlsx)'") from None
    formulas = False
    with archive:
        members = archive.infolist()
        expanded = sum(m.file_size for m in members)
        if expanded > MAX_XLSX_EXPANDED_BYTES:
            raise SheetError(f"{path}: expands to {expanded:,} bytes; workbooks up to {MAX_XLSX_EXPANDED_BYTES // 2**20} MiB "
                             "expanded are read (split the file)")
        for member in members:
            if member.filename.endswith(".xml"):
                formulas |= _scan_xml(path, archive, member)
    return formulas


# A formula (<f>) or a cell typed as an error value (<c ... t="e">): calamine reads both as blanks.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]|<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*\bt=[\"']e[\"']")


def _scan_xml(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    run = 0  # length of the text run still open at the end of the previous chunk
    tail = b""
    formulas = False
    try:
        with archive.open(member) as part:
            while chunk := part.read(1 << 20):
                pieces = chunk.split(b"<")
                longest = run + len(pieces[0])
                if len(pieces) > 1:
                    longest = max(longest, *(len(p) for p in pieces[1:]))
                    run = len(pieces[-1])
                else:
                    run = longest
                if longest > _MAX_XML_TEXT_BYTES:
                    raise SheetError(f"{path}: {member.filename} holds a cell longer than {MAX_CELL_CHARS:,} characters "
                                     "(the most a spreadsheet cell holds)")
                if "worksheets/" in member.filename and not formulas:
                    formulas = _FORMULA_TAG.search(tail + chunk) is not None
                tail = chunk[-256:]  # a cell tag cut by the chunk boundary is still seen whole
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, zlib.error) as exc:
        raise SheetError(f"{path}: a damaged XLSX workbook ({member.filename}: {exc.__class__.__name__})") from None
    return formulas


def _read_xlsx(path: Path) -> list[list[Any]]:
    """The first worksheet's cells, read to the sheet's real end (not the extent it declares).

    calamine (Rust) reads a sheet ~15 times faster than openpyxl, but reads a formula without a
    calculated value and an error value (#REF!) as blanks: a sheet holding either is read by
    openpyxl, which tells them apart. The readers raise many kinds of exception on damaged files;
    at this boundary each becomes one `SheetError`, with the row reading had reached.
    """
    _check_size(path)
    formulas = _check_xlsx_parts(path)
    rows: list[list[Any]] = []
    try:
        if not formulas:
            return _calamine_rows(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and dates it cannot read
            values = _open_first_sheet(path, data_only=True)
            # A formula's text is only needed to tell a never-calculated formula from a blank.
            with_formulas = _open_first_sheet(path, data_only=False) if formulas else iter(())
            for row, formula_row in zip_longest(values, with_formulas, fillvalue=()):
                if len(rows) == MAX_ROWS:
                    raise _too_many_rows(path)
                rows.append([_uncalculated(v, f) for v, f in zip_longest(row, formula_row)])
    except SheetError:
        raise
    except (MemoryError, RecursionError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise SheetError(f"{path}:{len(rows) + 1}: a damaged XLSX workbook ({exc.__class__.__name__}); "
                         "open and save it again in a spreadsheet program") from None
    return rows


def _calamine_rows(path: Path) -> list[list[Any]]:
    """The first sheet's cells as openpyxl gives them: blanks None, whole numbers int, from row 1 and column A."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        if not workbook.sheet_names:
            raise SheetError(f"{path}: the workbook has no worksheet")
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    finally:
        workbook.close()
    if len(rows) > MAX_ROWS:
        raise _too_many_rows(path)
    return [[_calamine_value(v) for v in row] for row in rows]


def _calamine_value(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # calamine gives every number as a float; the sheet wrote 5, not 5.0
    return value


def _uncalculated(value: Any, formula: Any) -> Any:
    """The cell's value; where only the formula pass sees something, a formula never calculated."""
    if value is None and formula is not None:
        text = formula if isinstance(formula, str) else str(getattr(formula, "text", "") or "(an array formula)")
        return Unreadable(f"the formula {text[:60]} has no calculated value in the file; "
                          "open and save the file in a spreadsheet program, or type the value")
    return value


def _open_first_sheet(path: Path, data_only: bool) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=data_only)
    try:
        if not workbook.worksheets:
            raise SheetError(f"{path}: the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # the stored <dimension> may be stale: read every row there is
        yield from sheet.iter_rows(values_only=True)
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


def _as_text(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def write_sheet(path: Path, rows: Iterable[dict[str, Any]], vietnamese_headers: bool = False) -> int:
    """Write canonical-column dicts to CSV or XLSX; returns the number of rows written.

    Text goes out as text, never as a formula (see the module's docstring).
    """
    columns = export_headers(vietnamese_headers)
    suffix = path.suffix.lower()
    count = 0
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([header for _, header in columns])
            for row in rows:
                writer.writerow(["" if row.get(n) is None else _as_text(row[n]) for n, _ in columns])
                count += 1
        return count
    if suffix == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Inventory")
        sheet.append([header for _, header in columns])
        for row in rows:
            cells = [row.get(n) for n, _ in columns]
            # XML cannot carry most control characters: such text (never imported, since the
            # row check refuses it) loses them rather than failing the whole export.
            sheet.append([_as_text(ILLEGAL_CHARACTERS_RE.sub("", c)) if isinstance(c, str) else c for c in cells])
            count += 1
        workbook.save(path)
        return count
    raise SheetError(f"{path}: unsupported format {suffix or '(none)'}; use .csv or .xlsx")
