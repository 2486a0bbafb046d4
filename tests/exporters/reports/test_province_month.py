"""A month of the simulated province with injected downtime and repairs: every format shows what was injected.

2,000 cameras of the sample province (with their recorders and switches) work all of October 2026
except two cameras in different districts: one down 10 h, one down 30 h. Each outage has a ticket
in the `tickets` table, acknowledged after 1 h and 3 h, resolved when the unit came back and closed
with a repair record: 12,500,000 VND from the state budget and 3,750,000 VND of social funding.
The report is made the way the CLI and the console make it (`make_report`), in Vietnamese.
"""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import Engine, insert

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.formats import render
from fleetmon.exporters.reports.i18n import text_for
from fleetmon.exporters.reports.model import Report
from fleetmon.exporters.reports.period import parse_period
from fleetmon.exporters.reports.request import make_report
from fleetmon.health.model import Cause, Health, Transition
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.model import Device, DeviceKind, Funding
from fleetmon.inventory.sample import sample_fleet
from fleetmon.store import statelog
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import tickets
from tests.peers import need_binary

OCTOBER = parse_period("2026-10", "Asia/Ho_Chi_Minh")
HOURS = 31 * 24  # October in Vietnam: no daylight saving time
STATE_COST, SOCIAL_COST = 12_500_000, 3_750_000
t = text_for("vi")


@dataclass(frozen=True)
class Outage:
    device: Device
    start: datetime
    hours: float
    acknowledged_after: float
    cost: int
    funding: Funding


@dataclass(frozen=True)
class Month:
    devices: list[Device]
    outages: list[Outage]
    report: Report

    @property
    def availability(self) -> float:
        down = sum(o.hours for o in self.outages)
        return 1 - down / (len(self.devices) * HOURS)


def _inject(engine: Engine, fleet: list[Device], outages: list[Outage]) -> None:
    before = (OCTOBER.start - timedelta(days=10)).timestamp()
    changes = [Transition(d.id, before, Health.UNKNOWN, Health.UP, "answering", Cause.NONE) for d in fleet]
    for o in outages:
        changes.append(Transition(o.device.id, o.start.timestamp(), Health.UP, Health.DOWN, "none of its service ports answer",
                                  Cause.DEVICE))
        changes.append(Transition(o.device.id, (o.start + timedelta(hours=o.hours)).timestamp(), Health.DOWN, Health.UP,
                                  "answering again", Cause.NONE))
    with engine.begin() as conn:
        statelog.write(conn, sorted(changes, key=lambda c: c.at))
        for o in outages:
            end = o.start + timedelta(hours=o.hours)
            conn.execute(insert(tickets).values(
                subject=o.device.id, kind="device_down", state="closed", severity="high", team="field", device_id=o.device.id,
                area=o.device.area, site=o.device.site, title=f"{o.device.id} down", fault_since=o.start, opened_at=o.start,
                sla_from=o.start, acknowledged_at=o.start + timedelta(hours=o.acknowledged_after), resolved_at=end, closed_at=end,
                repair_action="replaced the power supply", repair_cost_vnd=o.cost, repair_funding=o.funding.value, repaired_by="tech"))


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    fleet = sample_fleet(2000)
    cameras = [d for d in fleet if d.kind is DeviceKind.CAMERA]
    first = cameras[0]
    other = next(d for d in cameras if d.area_path[1] != first.area_path[1])
    outages = [Outage(first, OCTOBER.start + timedelta(days=4, hours=8), 10, 1, STATE_COST, Funding.STATE_BUDGET),
               Outage(other, OCTOBER.start + timedelta(days=11), 30, 3, SOCIAL_COST, Funding.SOCIAL)]
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('province') / 'store.db'}")
    with engine.begin() as conn:
        apply_plan(conn, ImportPlan(added=fleet), "test")
    _inject(engine, fleet, outages)
    with engine.connect() as conn:
        report = make_report(conn, ReportsConfig(), "2026-10", "Thanh Hóa", now=datetime.fromisoformat("2026-11-20T00:00:00+07:00"))
    yield Month(fleet, outages, report)
    engine.dispose()


def test_the_figures_are_what_was_injected(month: Month) -> None:
    r = month.report
    assert r.total.devices == len(month.devices) > 2000
    assert r.total.hours.down == pytest.approx(40)
    assert r.total.hours.unknown == pytest.approx(0)
    assert r.total.hours.availability == pytest.approx(month.availability)
    assert sum(r.total.faults.values()) == 2
    district = next(a for a in r.areas if a.path == month.outages[0].device.area_path[:2])
    in_district = sum(1 for d in month.devices if d.area_path[:2] == district.path)
    assert district.figures.hours.availability == pytest.approx(1 - 10 / (in_district * HOURS))
    assert r.tickets is not None
    assert (r.tickets.opened, r.tickets.resolved, r.tickets.still_open) == (2, 2, 0)
    assert r.tickets.mtta_hours == pytest.approx(2) and r.tickets.mttr_hours == pytest.approx(20)
    assert r.tickets.cost_by_funding == {"state_budget": STATE_COST, "social": SOCIAL_COST}


def test_xlsx_has_numbers_and_correct_totals(month: Month) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render(month.report, "xlsx", "vi")))
    summary = {row[0]: row[1] for row in book[t("summary")[:31]].iter_rows(values_only=True) if row and row[0]}
    assert summary[t("devices")] == len(month.devices)
    assert isinstance(summary[t("availability")], float) and summary[t("availability")] == pytest.approx(month.availability)
    assert summary[t("down_hours")] == pytest.approx(40)
    sites = list(book[t("sites")[:31]].iter_rows(min_row=2, values_only=True))
    assert all(isinstance(row[2], int) for row in sites)
    assert sum(row[2] for row in sites) == len(month.devices)  # every device is under one site row
    assert sum(row[6] for row in sites) == pytest.approx(40)  # down hours, column 7
    ticket_rows = list(book[t("tickets")[:31]].iter_rows(values_only=True))
    figures = {row[0]: row[1] for row in ticket_rows if row and row[0]}
    assert figures[t("tickets_opened")] == 2 and figures[t("mttr")] == pytest.approx(20)
    assert figures[t.funding("state_budget")] == STATE_COST and figures[t.funding("social")] == SOCIAL_COST
    assert figures[t("total")] == STATE_COST + SOCIAL_COST and isinstance(figures[t("total")], int)
    cell = next(c for row in book[t("tickets")[:31]].iter_rows() for c in row if c.value == STATE_COST)
    assert cell.data_type == "n" and "₫" in cell.number_format


def test_csv_carries_the_same_figures(month: Month) -> None:
    text = render(month.report, "csv", "vi").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    summary = {r["measure"]: r["value"] for r in rows if r["section"] == "summary"}
    assert float(summary["availability_ratio"]) == pytest.approx(month.availability, abs=1e-6)
    assert float(summary["down_hours"]) == pytest.approx(40)
    costs = {r["item"]: int(r["value"]) for r in rows if r["section"] == "tickets" and r["measure"] == "repair_cost_vnd" and r["item"]}
    assert costs == {"state_budget": STATE_COST, "social": SOCIAL_COST}


def test_html_writes_amounts_the_vietnamese_way(month: Month) -> None:
    html = render(month.report, "html", "vi").decode("utf-8")
    assert "12.500.000 ₫" in html and "3.750.000 ₫" in html and "16.250.000 ₫" in html
    assert t.percent(month.availability) in html and "," in t.percent(month.availability)  # 99,99 %
    assert "Tỷ lệ hoạt động" in html


def test_pdf_text_has_diacritics_and_its_pages_render(month: Month, tmp_path: Path) -> None:
    pdftotext, pdftoppm = need_binary("pdftotext"), need_binary("pdftoppm")
    pdf = tmp_path / "thang-10.pdf"
    pdf.write_bytes(render(month.report, "pdf", "vi"))
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Tỷ lệ hoạt động" in text and "Thanh Hóa" in text
    assert "12.500.000 ₫" in text and "16.250.000 ₫" in text
    assert t.percent(month.availability) in text
    subprocess.run([pdftoppm, "-r", "30", "-f", "1", "-l", "3", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 3
    for page in pages:
        with Image.open(page) as image:
            low, high = image.convert("L").getextrema()
            assert image.width > 100 and low < high, page  # something is drawn on it, not a blank page
