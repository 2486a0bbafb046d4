"""Each format opened back as its reader would: numbers are numbers, names are text, faults are named."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date
from pathlib import Path
from typing import cast

import openpyxl
import pytest
from lxml import html as lxml_html
from PIL import Image
from sqlalchemy import Engine

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.csv_long import render_csv
from fleetmon.exporters.reports.html import render_html
from fleetmon.exporters.reports.model import Report
from fleetmon.exporters.reports.pdf import render_pdf
from fleetmon.exporters.reports.xlsx import render_xlsx
from fleetmon.probes.image_quality import ImageDecodeError, ImageThresholds, assess
from tests.exporters.reports.conftest import FORMULA_SITE, QUANG_TIEN, SEPT, XUAN_LAP, at
from tests.peers import need_binary


def _page(text: str) -> lxml_html.HtmlElement:
    return cast(lxml_html.HtmlElement, lxml_html.document_fromstring(text))


def test_html_parses_and_names_areas_faults_and_the_missing_ticket_figures(plain_report: Report) -> None:
    page = _page(render_html(plain_report))
    text = page.text_content()
    faults = [row.text_content() for row in page.get_element_by_id("faults").iter("tr")]
    assert any("Thiết bị không phản hồi" in row and "4" in row for row in faults)
    assert any("Ổ cứng hỏng/đầy" in row for row in faults)
    assert any("Mất điện" in row for row in faults)
    assert "Quảng Tiến" in page.get_element_by_id("areas").text_content()
    assert "Chưa có số liệu phiếu sửa chữa" in page.get_element_by_id("tickets").text_content()
    assert "98,91 %" in text  # Vietnamese decimal comma
    assert "6.000.000 ₫" in text  # cam-4's replacement, the Vietnamese way
    assert len(page.findall(".//svg")) >= 3 and not page.findall(".//script")


def test_html_in_english_with_ticket_figures(full_report: Report) -> None:
    page = _page(render_html(full_report, "en"))
    tickets = page.get_element_by_id("tickets").text_content()
    assert "Mean time to acknowledge" in tickets and "1.5" in tickets and "11.0" in tickets
    assert "3,250,000 ₫" in tickets  # state budget repairs: 850,000 + 2,400,000
    assert "Unit not answering" in page.get_element_by_id("faults").text_content()


def test_html_escapes_names_from_the_inventory(plain_report: Report) -> None:
    page = render_html(plain_report)
    assert "<script" not in page and '=HYPERLINK(&#34;http://evil.example/x&#34;' in page


def test_xlsx_has_numbers_dates_and_totals_and_no_formula(full_report: Report, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    path.write_bytes(render_xlsx(full_report))
    book = openpyxl.load_workbook(path)
    summary = {row[0].value: row[1].value for row in book["Tổng hợp"].iter_rows() if row[0].value}
    assert summary["Số thiết bị"] == 5
    assert isinstance(summary["Tỷ lệ hoạt động"], float) and round(summary["Tỷ lệ hoạt động"], 4) == 0.9891
    assert summary["Tổng giờ ngừng"] == 39
    areas = {row[0].value: row for row in book["Theo địa bàn"].iter_rows(min_row=2)}
    assert areas[XUAN_LAP][1].value == 3 and areas[XUAN_LAP][1].data_type == "n"
    assert areas[XUAN_LAP][2].number_format == "0.00%"
    past = list(book["Quá niên hạn sử dụng"].iter_rows(min_row=2, values_only=True))
    installed = past[0][7]
    assert past[0][0] == "cam-4" and isinstance(installed, date) and installed.year == 2018 and past[-1][-1] == 6_000_000
    budget = [row for row in book["Dự kiến kinh phí kỳ sau"].iter_rows(values_only=True) if row[0] == "Tổng cộng"]
    assert budget[0][1] == 2 and budget[0][2] == 18_500_000  # nvr-1 (state) and cam-4 (social) due by 31 October
    assert budget[-1][2] == 18_500_000 + round(3_250_000 * 31 / 30) + round(300_000 * 31 / 30)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row), sheet.title


def test_a_formula_in_a_site_name_stays_text_in_xlsx(plain_report: Report, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    path.write_bytes(render_xlsx(plain_report))
    sites = openpyxl.load_workbook(path)["Theo điểm lắp đặt"]
    cells = [row[1] for row in sites.iter_rows(min_row=2) if str(row[1].value).startswith("=")]
    assert [c.value for c in cells] == [FORMULA_SITE]
    assert cells[0].data_type == "s" and cells[0].quotePrefix


def test_csv_parses_with_numbers_and_quotes_a_formula(plain_report: Report) -> None:
    data = render_csv(plain_report)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    summary = {r["measure"]: float(r["value"]) for r in rows if r["section"] == "summary"}
    assert summary["devices"] == 5 and summary["downtime_hours"] == 39 and summary["unknown_hours"] == 24
    assert round(summary["availability_ratio"], 4) == 0.9891
    site_names = {r["site"] for r in rows if r["section"] == "site"}
    assert "'" + FORMULA_SITE in site_names and FORMULA_SITE not in site_names
    assert {r["item"] for r in rows if r["section"] == "faults"} == {"offline", "disk", "power", "picture", "behind_parent"}
    assert [r["measure"] for r in rows if r["section"] == "tickets"] == ["not_available"]


def test_pdf_text_carries_the_area_names_with_their_diacritics(plain_report: Report, tmp_path: Path) -> None:
    pdftotext = need_binary("pdftotext")
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(plain_report))
    text = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for name in ("Thanh Hóa", "Thọ Xuân", "Xuân Lập", "Quảng Tiến", "Báo cáo bảo trì", "Ổ cứng hỏng/đầy"):
        assert name in text, name
    assert QUANG_TIEN.split(" / ")[-1] in text


def test_making_a_pdf_leaves_the_snapshot_check_refusing_cut_off_pictures(plain_report: Report) -> None:
    """weasyprint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import; `fleetmon run` probes snapshots too."""
    render_pdf(plain_report)
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (90, 120, 150)).save(buffer, "JPEG")
    with pytest.raises(ImageDecodeError):
        assess(buffer.getvalue()[:2000], None, None, ImageThresholds())


def test_html_cuts_long_unit_lists_and_says_where_the_rest_is(plain_report: Report) -> None:
    page = _page(render_html(plain_report, "en", list_limit=2))
    text = page.text_content()
    assert "Showing 2 of 3 units; the XLSX and CSV files list them all." in text
    assert page.find(".//meta[@name='viewport']") is not None  # laid out for a phone's width


def test_a_period_not_over_says_so_on_the_page(sqlite_province: Engine) -> None:
    with sqlite_province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa", now=at(16, 9))
    assert "The period is not over: figures up to 2026-09-16 02:00 UTC" in _page(render_html(report, "en")).text_content()
