"""The formats a report is written in, by name: what the CLI (and later the console) offers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fleetmon.exporters.reports.csv_long import render_csv
from fleetmon.exporters.reports.html import render_html
from fleetmon.exporters.reports.model import Report
from fleetmon.exporters.reports.pdf import render_pdf
from fleetmon.exporters.reports.xlsx import render_xlsx


def _html(report: Report, lang: str) -> bytes:
    return render_html(report, lang).encode("utf-8")


RENDERERS: dict[str, Callable[[Report, str], bytes]] = {"html": _html, "pdf": render_pdf, "xlsx": render_xlsx, "csv": render_csv}
FORMATS = tuple(RENDERERS)
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


def format_for(path: Path, given: str | None) -> str:
    """The format asked for, else the one the file name ends with, else HTML."""
    if given:
        return given
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in RENDERERS else "html"


def render(report: Report, fmt: str, lang: str) -> bytes:
    return RENDERERS[fmt](report, lang)
