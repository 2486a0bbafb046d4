"""The report as PDF: weasyprint lays out the same HTML page, in DejaVu fonts (Vietnamese diacritics)."""

from __future__ import annotations

from fleetmon.exporters.reports.html import render_html
from fleetmon.exporters.reports.model import Report


def render_pdf(report: Report, lang: str = "vi") -> bytes:
    import weasyprint  # imported when used: it loads pango, which the other formats do not need

    pdf: bytes = weasyprint.HTML(string=render_html(report, lang)).write_pdf()
    return pdf
