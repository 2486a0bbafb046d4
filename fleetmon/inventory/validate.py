"""From raw sheet cells to `Device` values, with one clear message per bad field.

Every problem is reported as `file:row: field (header): problem`, and all of a sheet's problems
are collected before anything is written, so an official fixes the sheet in one pass.

Every value is bounded: text by what the store's columns hold (`limits`, given by the caller,
which knows the store), numbers by a plausible range, dates to 1980-2099. A cell whose value the
file does not hold (`Unreadable`) is an error in its own column, never a blank.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fleetmon.inventory.columns import fold
from fleetmon.inventory.model import AREA_SEPARATORS, Device, DeviceKind, Funding, Protocol, join_area_path, normalise_name
from fleetmon.inventory.sheets import MAX_CELL_CHARS, RawRow, Unreadable


@dataclass(frozen=True, slots=True)
class RowError:
    source: str
    row: int
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}:{self.row}: {self.field}: {self.problem}"


class InvalidValue(ValueError):
    pass


_KINDS = {
    DeviceKind.CAMERA: ("camera", "cam", "ipc", "ip camera", "mat camera", "camera ip", "ptz", "bullet", "dome"),
    DeviceKind.NVR: ("nvr", "dvr", "dau ghi", "dau thu", "recorder", "dau ghi hinh", "xvr"),
    DeviceKind.SWITCH: ("switch", "uplink", "router", "bo chuyen mach", "modem", "poe switch"),
    DeviceKind.OTHER: ("other", "khac"),
}
_FUNDING = {
    Funding.STATE_BUDGET: ("state budget", "state", "ngan sach", "ngan sach nha nuoc", "nsnn", "budget"),
    Funding.SOCIAL: ("social", "xa hoi hoa", "xhh", "social contribution", "doanh nghiep", "nhan dan dong gop"),
    Funding.HOUSEHOLD_SHARED: ("household shared", "household", "ho gia dinh", "nha dan", "camera nha dan", "chia se"),
}
_TRUE = ("yes", "y", "true", "1", "x", "active", "co", "dang su dung", "hoat dong", "dang hoat dong", "in use")
_FALSE = ("no", "n", "false", "0", "retired", "khong", "ngung", "thanh ly", "ngung su dung", "inactive", "removed")


def _lookup(table: Mapping[Any, tuple[str, ...]], value: str, what: str) -> Any:
    folded = fold(value)
    for key, spellings in table.items():
        if folded == fold(str(key)) or folded in spellings:
            return key
    choices = ", ".join(str(k) for k in table)
    raise InvalidValue(f"{_shown(value)} is not a known {what} (one of: {choices})")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns 1234 typed as a serial into 1234.0
    return unicodedata.normalize("NFC", str(value)).strip()


def _shown(text: str) -> str:
    """A value quoted in a message, cut short: a message is one line of reasonable length."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _int(value: Any, low: int, high: int) -> int | None:
    text = _text(value).replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d{1,18}(\.0+)?", text):
        number = int(text.split(".")[0])
    else:
        raise InvalidValue(f"{_shown(text)} is not a whole number")
    if not low <= number <= high:
        raise InvalidValue(f"{number} is outside {low}..{high}")
    return number


def _port(value: Any) -> int | None:
    return _int(value, 1, 65535)


# No unit costs a thousand billion đồng (Thanh Hóa's whole programme cost about 100 billion);
# the store's column holds far more, so a typo in an amount is caught here, not by the database.
MAX_COST_VND = 10**12


def _cost(value: Any) -> int | None:
    """VND amounts as officials write them: 12.500.000, 12,500,000 đ, 12500000.0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or not -1 < value <= MAX_COST_VND:  # NaN, negative, implausible
            raise InvalidValue(f"{value:,} is outside 0..{MAX_COST_VND:,} VND")
        return round(value)
    text = re.sub(r"(?i)\s|vn[dđ]|đồng|đ", "", _text(value))
    if not text:
        return None
    if re.fullmatch(r"\d{1,3}([.,]\d{3}){1,9}", text):
        number = int(re.sub(r"[.,]", "", text))
    elif re.fullmatch(r"\d{1,30}(\.\d{1,6})?", text):
        number = round(float(text))
    else:
        raise InvalidValue(f"{_shown(_text(value))} is not an amount in VND")
    if number > MAX_COST_VND:
        raise InvalidValue(f"{number:,} is outside 0..{MAX_COST_VND:,} VND")
    return number


def _float(value: Any, low: float, high: float) -> float | None:
    text = _text(value).replace(",", ".")
    if not text:
        return None
    if len(text) > 40:
        raise InvalidValue(f"{_shown(text)} is not a number")
    try:
        number = float(text)
    except ValueError:
        raise InvalidValue(f"{_shown(text)} is not a number") from None
    if not low <= number <= high:
        raise InvalidValue(f"{number} is outside {low}..{high}")
    return number


_EXCEL_EPOCH = date(1899, 12, 30)
EARLIEST_DATE = date(1980, 1, 1)
LATEST_DATE = date(2099, 12, 31)


def _date(value: Any) -> date | None:
    found = _any_date(value)
    if found is not None and not EARLIEST_DATE <= found <= LATEST_DATE:
        raise InvalidValue(f"{found.isoformat()} is not a plausible date (from {EARLIEST_DATE.year} to {LATEST_DATE.year})")
    return found


def _any_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    if re.fullmatch(r"\d{5}", text):  # an Excel serial date stored as text
        return _EXCEL_EPOCH + timedelta(days=int(text))
    if len(text) <= 40:
        for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
    raise InvalidValue(f"{_shown(text)} is not a date (use 2024-12-31 or 31/12/2024)")


_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")


def _host(value: Any) -> str:
    text = _text(value)
    if not text:
        raise InvalidValue("missing")
    if re.fullmatch(r"[0-9a-fA-F.:\s]+", text) and re.search(r"[.:]", text):  # an address, maybe "192.168.1. 10" pasted from a document
        text = re.sub(r"\s+", "", text)
    if re.match(r"\d+\.", text) or ":" in text:  # starts like an address: must be one
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise InvalidValue(f"{_shown(text)} is not an IP address") from None
    if not _HOSTNAME.match(text):
        raise InvalidValue(f"{_shown(text)} is not an IP address or host name")
    return text.lower()


def _mac(value: Any) -> str:
    text = _text(value)
    if not text:
        return ""
    digits = re.sub(r"[^0-9a-fA-F]", "", text)
    if len(digits) != 12 or re.search(r"[^0-9a-fA-F:\-.\s]", text):
        raise InvalidValue(f"{_shown(text)} is not a MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()


def _protocols(value: Any) -> tuple[Protocol, ...]:
    parts = [p for p in re.split(r"[\s,;/+]+", fold(_text(value))) if p]
    return tuple(dict.fromkeys(_lookup(dict.fromkeys(Protocol, ()), p, "protocol") for p in parts))


def _active(value: Any) -> bool:
    text = fold(_text(value))
    if not text or text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValue(f"{_shown(_text(value))} is not yes/no (Có/Không)")


def _name(value: Any) -> str:
    return normalise_name(_text(value))


PARSERS: dict[str, Callable[[Any], Any]] = {
    "site": _name,
    "site_operator": _name,
    "kind": lambda v: _lookup(_KINDS, _text(v), "device kind") if _text(v) else _raise_missing(),
    "host": _host,
    "onvif_port": _port,
    "rtsp_port": _port,
    "snmp_port": _port,
    "http_port": _port,
    "protocols": _protocols,
    "mac": _mac,
    "latitude": lambda v: _float(v, -90, 90),
    "longitude": lambda v: _float(v, -180, 180),
    "install_date": _date,
    "warranty_end": _date,
    "purchase_cost_vnd": _cost,
    "funding": lambda v: _lookup(_FUNDING, _text(v), "funding source") if _text(v) else None,
    "active": _active,
}


def _raise_missing() -> Any:
    raise InvalidValue("missing")


def _label(row: RawRow, name: str) -> str:
    header = row.headers.get(name)
    shown = name.removeprefix("level:")
    return f"{shown} ({header})" if header and header != name and header != shown else shown


def _area_path(row: RawRow, level_keys: Sequence[str], source: str, limit: int | None) -> tuple[str, list[RowError]]:
    """The area path of the row: from the level columns if it has any, else the area column."""
    errors: list[RowError] = []
    levels = [(f"level:{key}", _name(row.cells.get(f"level:{key}"))) for key in level_keys]
    if any(name for _, name in levels):
        parts = []
        for column, name in levels:
            if any(sep in name for sep in AREA_SEPARATORS):
                problem = f"{_shown(name)} contains '/' or '>', which separate area levels; one level per column"
                errors.append(RowError(source, row.number, _label(row, column), problem))
            elif name:
                parts.append((column, name))
    else:
        text = _text(row.cells.get("area"))
        parts = [("area", n) for n in (normalise_name(p) for p in re.split(r"[>/]", text)) if n]
    for column, name in parts:
        if limit is not None and len(name) > limit:
            errors.append(RowError(source, row.number, _label(row, column), f"the area name is longer than {limit} characters"))
    return join_area_path([name for _, name in parts]), errors


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # Unicode's Cc, but tab and line breaks


def _cell_problem(value: Any, name: str, limits: Mapping[str, int]) -> str | None:
    """What is wrong with a cell before its column's parser sees it, if anything."""
    if isinstance(value, Unreadable):
        return value.problem
    if not isinstance(value, str):
        return None
    # Area names are measured one by one (`_area_path`); parsed columns are bounded by their parsers.
    limit = MAX_CELL_CHARS if name in _NOT_TEXT or name == "area" else limits.get(name, MAX_CELL_CHARS)
    if len(value) > MAX_CELL_CHARS or len(value.strip()) > limit:
        return f"longer than {limit:,} characters"
    control = _CONTROL.search(value)
    if control is not None:
        return f"contains the control character U+{ord(control.group()):04X}"
    return None


# Columns whose parser turns text into something else: their length is the parser's business.
_NOT_TEXT = frozenset(PARSERS) - {"site", "site_operator"}


def parse_row(
    row: RawRow, source: str, level_keys: Sequence[str], limits: Mapping[str, int] | None = None
) -> tuple[Device | None, list[RowError]]:
    """A Device, or the list of what is wrong with the row (all of it, not the first problem).

    `limits` are the most characters the store holds per field ("area" for each area name).
    A device without an id keeps an empty one here: the importer gives it one.
    """
    limits = limits or {}
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    bad: set[str] = set()
    for name, raw in row.cells.items():
        problem = _cell_problem(raw, name, limits)
        if problem is not None:
            errors.append(RowError(source, row.number, _label(row, name), problem))
            bad.add(name)
    if bad:  # a refused cell is not parsed again: one message per cell
        row = RawRow(row.number, {k: v for k, v in row.cells.items() if k not in bad}, row.headers)
    for name in Device.__dataclass_fields__:
        if name == "area" or name in bad:
            continue
        raw = row.cells.get(name)
        parser: Callable[[Any], Any] = PARSERS.get(name, _text)
        if name not in row.cells and name not in ("kind", "host"):
            continue  # column absent from this sheet: keep the default
        try:
            parsed = parser(raw)
        except InvalidValue as exc:
            errors.append(RowError(source, row.number, _label(row, name), str(exc)))
            continue
        if parsed is not None:
            values[name] = parsed
    if not values.get("id") and not values.get("serial") and not ({"id", "serial"} & bad):
        errors.append(RowError(source, row.number, "id", "missing (give a device id or a serial number)"))
    elif not values.get("id") and "id" not in bad and len(values.get("serial", "")) > limits.get("id", MAX_CELL_CHARS):
        problem = f"missing, and the serial is longer than {limits['id']} characters to stand in for it"
        errors.append(RowError(source, row.number, "id", problem))
    values["area"], area_errors = _area_path(row, level_keys, source, limits.get("area"))
    errors += area_errors
    area_refused = bool(area_errors) or any(name == "area" or name.startswith("level:") for name in bad)
    if values.get("site") and not values["area"] and not area_refused:
        errors.append(RowError(source, row.number, _label(row, "site"), "a site belongs to an area: give the row an area"))
    if errors:
        return None, errors
    values.setdefault("id", "")
    return Device(**values), []
