"""A report as a user asks for it (period text, area path, format, language) made into a file's bytes.

The CLI and the console both call `make_report` and `report_file`, so a report downloaded from the
console is the file `fleetmon report` writes for the same question: same period parsing, same
ticket figures from the store, same renderers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.formats import MEDIA_TYPES, render
from fleetmon.exporters.reports.model import Report
from fleetmon.exporters.reports.period import parse_period
from fleetmon.exporters.reports.ticket_facts import repair_facts


def make_report(conn: Connection, settings: ReportsConfig, period: str, area: str | None = None,
                repeated: int | None = None, now: datetime | None = None) -> Report:
    """The report of `period` for `area`'s subtree (whole fleet if None), tickets included.

    Raises `PeriodError` for a period it cannot read and `AreaError` for an area it cannot find.
    """
    if repeated is not None:
        settings = settings.model_copy(update={"repeated_failures": repeated})
    chosen = parse_period(period, settings.timezone)
    return build_report(conn, settings, chosen, area or None, repairs=repair_facts(conn, chosen.start, chosen.end), now=now)


def file_name(report: Report, fmt: str) -> str:
    """An ASCII file name a browser saves the download under: `fleetmon-report-2026-10-01-2026-10-31.xlsx`."""
    return f"fleetmon-report-{report.first.isoformat()}-{report.last.isoformat()}.{fmt}"


def report_file(report: Report, fmt: str, language: str) -> tuple[bytes, str]:
    """The rendered file and its media type."""
    return render(report, fmt, language), MEDIA_TYPES[fmt]
