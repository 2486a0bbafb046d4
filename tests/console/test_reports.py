"""Reports from the console: the same file `fleetmon report` writes, and an area viewer's limit on it."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
from sqlalchemy import select

from fleetmon.store.schema import state_changes
from tests.console.conftest import Client, World

MAY = (datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), datetime(2026, 6, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))


def _availability_in_store(world: World, device_ids: list[str]) -> float:
    """Working hours over known hours in May, walked straight from the state-change rows."""
    working = known = 0.0
    with world.engine.connect() as conn:
        for device_id in device_ids:
            rows = list(conn.execute(select(state_changes.c.at, state_changes.c.state)
                                     .where(state_changes.c.device_id == device_id).order_by(state_changes.c.at)))
            for row, after in zip(rows, [*rows[1:], None], strict=True):
                start = max(row.at, MAY[0])
                end = min(after.at if after is not None else MAY[1], MAY[1])
                seconds = max(0.0, (end - start).total_seconds())
                if row.state in ("up", "degraded"):
                    working += seconds
                if row.state in ("up", "degraded", "down", "unreachable"):
                    known += seconds
    return working / known


def _summary(xlsx: bytes) -> dict[str, object]:
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0]
    return {str(row[0]): row[1] for row in sheet.iter_rows(values_only=True) if row and row[0] is not None}


def test_a_budget_officer_downloads_the_xlsx_of_an_area(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("budget")
    assert "/reports/file" in client.get("/reports").text
    answer = client.get("/reports/file", params={"period": "2026-05", "area": "Thanh Hóa / Thọ Xuân", "format": "xlsx", "lang": "en"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answer.headers["content-disposition"]
    summary = _summary(answer.content)
    assert summary["Area"] == "Thanh Hóa / Thọ Xuân" and summary["Devices"] == 2
    availability = summary["Availability"]
    assert isinstance(availability, float)
    expected = _availability_in_store(world, ["xl-cam-1", "xl-cam-2"])
    assert 0.4 < expected < 0.6  # one of the two cameras went down minutes after it was first seen
    assert abs(availability - expected) < 1e-6


def test_an_area_viewer_gets_its_own_area_only(signed_in: Callable[[str], Client]) -> None:
    client = signed_in("police")
    for area in ("Thanh Hóa / Sầm Sơn", "Thanh Hóa", "Thanh Hóa / Sầm Sơn / Quảng Tiến"):
        answer = client.get("/reports/file", params={"period": "2026-05", "area": area, "format": "csv"})
        assert answer.status_code == 404, area
        assert "ss-cam" not in answer.text
    form = client.get("/reports").text
    assert "Sầm Sơn" not in form
    own = client.get("/reports/file", params={"period": "2026-05", "format": "csv"})
    assert own.status_code == 200
    text = own.content.decode("utf-8-sig")
    assert "Xuân Lập" in text and "ss-cam" not in text and "Sầm Sơn" not in text


def test_technicians_have_no_reports(signed_in: Callable[[str], Client]) -> None:
    client = signed_in("tech")
    assert client.get("/reports/file", params={"period": "2026-05", "format": "csv"}).status_code == 403


def test_a_period_it_cannot_read_is_said_on_the_form(signed_in: Callable[[str], Client]) -> None:
    client = signed_in("admin")
    answer = client.get("/reports/file", params={"period": "May", "format": "html"})
    assert answer.status_code == 400 and "2026-Q4" in answer.text
    page = client.get("/reports/file", params={"period": "2026-05", "format": "html", "lang": "vi"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "Sầm Sơn" in page.text
    assert "Lập báo cáo" in client.get("/reports?lang=vi").text and "Make the report" in client.get("/reports?lang=en").text
