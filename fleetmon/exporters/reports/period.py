"""Which days a report covers: a month, a quarter, a year or a date range, in the officers' time zone.

A budget month is the month on the wall calendar in Vietnam, so its bounds are local midnights,
held as aware datetimes; the state-change log is compared with them in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    """A period that cannot be read; the message shows the forms accepted."""


FORMS = "2026-10 (month), 2026-Q4 (quarter), 2026 (year), 2026-10-01..2026-10-15 (days, both included)"


@dataclass(frozen=True, slots=True)
class Period:
    """Days `first` to `last`, both included, in `zone`; `label` as the user wrote it."""

    first: date
    last: date
    zone: ZoneInfo
    label: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period (midnight after its last day)."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def day_bounds(self) -> list[tuple[date, float, float]]:
        """Each day with its start and end as unix seconds (a day is 23 or 25 h across a DST change)."""
        out = []
        for day in self.days():
            start = datetime.combine(day, time(), self.zone).timestamp()
            out.append((day, start, datetime.combine(day + timedelta(days=1), time(), self.zone).timestamp()))
        return out

    def following(self) -> Period:
        """The next period of the same shape (a month after a month, a quarter after a quarter): what the budget is for."""
        first = self.last + timedelta(days=1)
        months = _whole_months(self)
        if months:
            index = first.month - 1 + months - 1
            last = _month_end(first.year + index // 12, index % 12 + 1)
        else:
            last = first + (self.last - self.first)
        return Period(first, last, self.zone, _label(first, last, months))


def _label(first: date, last: date, months: int) -> str:
    if months == 1:
        return f"{first.year}-{first.month:02d}"
    if months == 3 and first.month % 3 == 1:
        return f"{first.year}-Q{first.month // 3 + 1}"
    if months == 12 and first.month == 1:
        return str(first.year)
    return f"{first.isoformat()}..{last.isoformat()}"


def _month_end(year: int, month: int) -> date:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def _whole_months(period: Period) -> int:
    """Calendar months the period spans when it is made of whole months, else 0."""
    months = (period.last.year - period.first.year) * 12 + period.last.month - period.first.month + 1
    whole = period.first.day == 1 and period.last == _month_end(period.last.year, period.last.month)
    return months if whole else 0


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str, zone: ZoneInfo | str = "Asia/Ho_Chi_Minh") -> Period:
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    value = text.strip()
    try:
        if match := _MONTH.match(value):
            year, month = int(match.group(1)), int(match.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(f"{text!r}: no month {month}; use {FORMS}")
            return Period(date(year, month, 1), _month_end(year, month), tz, f"{year}-{month:02d}")
        if match := _QUARTER.match(value):
            year, quarter = int(match.group(1)), int(match.group(2))
            first = date(year, 3 * quarter - 2, 1)
            return Period(first, _month_end(year, 3 * quarter), tz, f"{year}-Q{quarter}")
        if match := _YEAR.match(value):
            year = int(match.group(1))
            return Period(date(year, 1, 1), date(year, 12, 31), tz, str(year))
        if match := _RANGE.match(value):
            first, last = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
            if last < first:
                raise PeriodError(f"{text!r}: the last day is before the first")
            return Period(first, last, tz, f"{first.isoformat()}..{last.isoformat()}")
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"{text!r}: {exc}; use {FORMS}") from None
    raise PeriodError(f"{text!r} is not a period; use {FORMS}")
