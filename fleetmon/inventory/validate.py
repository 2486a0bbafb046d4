"""From raw sheet cells to `Device` values, with one clear message per bad field.

Every problem is reported as `file:row: field (header): problem`, and all of a sheet's problems
are collected before anything is written, so an official fixes the sheet in one pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fleetmon.inventory.columns import fold
from fleetmon.inventory.model import AREA_SEPARATOR, Device, DeviceKind, Funding, Protocol
from fleetmon.inventory.sheets import RawRow


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
    raise InvalidValue(f"{value!r} is not a known {what} (one of: {choices})")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns 1234 typed as a serial into 1234.0
    return str(value).strip()


def _int(value: Any, low: int, high: int) -> int | None:
    text = _text(value).replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d+(\.0+)?", text):
        number = int(float(text))
    else:
        raise InvalidValue(f"{text!r} is not a whole number")
    if not low <= number <= high:
        raise InvalidValue(f"{number} is outside {low}..{high}")
    return number


def _port(value: Any) -> int | None:
    return _int(value, 1, 65535)


def _cost(value: Any) -> int | None:
    """VND amounts as officials write them: 12.500.000, 12,500,000 đ, 12500000.0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise InvalidValue(f"{value} is negative")
        return round(value)
    text = re.sub(r"(?i)\s|vn[dđ]|đồng|đ", "", _text(value))
    if not text:
        return None
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):
        return int(re.sub(r"[.,]", "", text))
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return round(float(text))
    raise InvalidValue(f"{_text(value)!r} is not an amount in VND")


def _float(value: Any, low: float, high: float) -> float | None:
    text = _text(value).replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a number") from None
    if not low <= number <= high:
        raise InvalidValue(f"{number} is outside {low}..{high}")
    return number


_EXCEL_EPOCH = date(1899, 12, 30)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    if re.fullmatch(r"\d{5}", text):  # an Excel serial date stored as text
        return _EXCEL_EPOCH + timedelta(days=int(text))
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise InvalidValue(f"{text!r} is not a date (use 2024-12-31 or 31/12/2024)")


_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")


def _host(value: Any) -> str:
    text = re.sub(r"\s+", "", _text(value))  # "192.168.1. 10" pasted from a document
    if not text:
        raise InvalidValue("missing")
    if re.match(r"\d+\.", text) or ":" in text:  # starts like an address: must be one
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise InvalidValue(f"{text!r} is not an IP address") from None
    if not _HOSTNAME.match(text):
        raise InvalidValue(f"{text!r} is not an IP address or host name")
    return text.lower()


def _mac(value: Any) -> str:
    text = _text(value)
    if not text:
        return ""
    digits = re.sub(r"[^0-9a-fA-F]", "", text)
    if len(digits) != 12 or re.search(r"[^0-9a-fA-F:\-.\s]", text):
        raise InvalidValue(f"{text!r} is not a MAC address")
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
    raise InvalidValue(f"{_text(value)!r} is not yes/no (Có/Không)")


def _id(value: Any) -> str:
    text = _text(value)
    if len(text) > 64:
        raise InvalidValue("longer than 64 characters")
    return text


PARSERS: dict[str, Callable[[Any], Any]] = {
    "id": _id,
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


def _area_path(row: RawRow, level_keys: Sequence[str]) -> str:
    levels = [_text(row.cells.get(f"level:{key}")) for key in level_keys]
    if any(levels):
        return AREA_SEPARATOR.join(name for name in levels if name)
    return AREA_SEPARATOR.join(part.strip() for part in re.split(r"[>/]", _text(row.cells.get("area"))) if part.strip())


def parse_row(row: RawRow, source: str, level_keys: Sequence[str]) -> tuple[Device | None, list[RowError]]:
    """A Device, or the list of what is wrong with the row (all of it, not the first problem)."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for name in Device.__dataclass_fields__:
        if name == "area":
            continue
        raw = row.cells.get(name)
        parser: Callable[[Any], Any] = PARSERS.get(name, _text)
        if name not in row.cells and name not in ("kind", "host"):
            continue  # column absent from this sheet: keep the default
        try:
            parsed = parser(raw)
        except InvalidValue as exc:
            label = f"{name} ({row.headers[name]})" if name in row.headers and row.headers[name] != name else name
            errors.append(RowError(source, row.number, label, str(exc)))
            continue
        if parsed is not None:
            values[name] = parsed
    if not values.get("id") and not values.get("serial") and not any(e.field.startswith("id") for e in errors):
        errors.append(RowError(source, row.number, "id", "missing (give a device id or a serial number)"))
    values["area"] = _area_path(row, level_keys)
    if errors:
        return None, errors
    values.setdefault("id", values.get("serial", ""))
    return Device(**values), []
