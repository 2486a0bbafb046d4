"""The report as PDF: weasyprint lays out the same HTML page, in DejaVu fonts (Vietnamese diacritics)."""

from __future__ import annotations

from PIL import ImageFile

from fleetmon.exporters.reports.html import render_html
from fleetmon.exporters.reports.model import Report


def render_pdf(report: Report, lang: str = "vi") -> bytes:
    # Imported when used: it loads pango, which the other formats do not need. Importing it sets
    # Pillow's process-wide LOAD_TRUNCATED_IMAGES, which would make the snapshot check accept a
    # cut-off JPEG as a picture in the same process (`fleetmon run` serves reports too): put it back.
    truncated_before = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint

    ImageFile.LOAD_TRUNCATED_IMAGES = truncated_before
    pdf: bytes = weasyprint.HTML(string=render_html(report, lang)).write_pdf()
    return pdf
