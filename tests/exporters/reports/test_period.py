"""Periods on the officers' calendar: a month starts at local midnight, and the next one follows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleetmon.exporters.reports.period import PeriodError, parse_period


def test_a_month_is_local_midnight_to_local_midnight() -> None:
    october = parse_period("2026-10")
    assert october.start.astimezone(UTC) == datetime(2026, 9, 30, 17, tzinfo=UTC)
    assert october.seconds == 31 * 86400 and len(october.days()) == 31
    assert october.following().label == "2026-11"


@pytest.mark.parametrize(("text", "first", "last", "following"), [
    ("2026-Q4", "2026-10-01", "2026-12-31", "2027-Q1"),
    ("2026", "2026-01-01", "2026-12-31", "2027"),
    ("2026-12", "2026-12-01", "2026-12-31", "2027-01"),
    ("2026-10-01..2026-10-15", "2026-10-01", "2026-10-15", "2026-10-16..2026-10-30"),
])
def test_quarters_years_and_ranges(text: str, first: str, last: str, following: str) -> None:
    period = parse_period(text)
    assert (period.first.isoformat(), period.last.isoformat(), period.following().label) == (first, last, following)


@pytest.mark.parametrize("text", ["2026-13", "October", "2026-10-15..2026-10-01", "2026-02-30..2026-03-01"])
def test_what_is_not_a_period_says_which_forms_are(text: str) -> None:
    with pytest.raises(PeriodError, match=r"2026-Q4|before"):
        parse_period(text)
