"""The report as an XLSX workbook (openpyxl): one sheet per table, numbers as numbers.

Availability is a ratio with a percent format, hours and VND are numbers with number formats,
dates are dates; totals are written as computed numbers (no formulas at all), so a reader
without formula evaluation sees them too. Text is always a string cell: see `cells`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fleetmon.exporters.reports.cells import looks_like_formula
from fleetmon.exporters.reports.i18n import Text, text_for
from fleetmon.exporters.reports.model import Figures, FundingAmount, Report, UnitRow

PERCENT = "0.00%"
HOURS = "#,##0.0"
COUNT = "#,##0"
VND = '#,##0 "₫"'
DATE = "dd/mm/yyyy"
_HEAD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="EEF3F8")


class _Sheet:
    def __init__(self, workbook: Workbook, title: str) -> None:
        self.ws: Worksheet = workbook.create_sheet(title[:31])
        self.row = 0
        self.widths: dict[int, int] = {}

    def put(self, values: Sequence[Any], formats: Sequence[str | None] = (), bold: bool = False) -> None:
        self.row += 1
        for col, value in enumerate(values, start=1):
            cell = self.ws.cell(row=self.row, column=col)
            if isinstance(value, str):
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if looks_like_formula(value):
                    cell.quotePrefix = True
                self.widths[col] = max(self.widths.get(col, 8), min(60, len(value) + 2))
            elif value is not None:
                cell.value = value
                fmt = formats[col - 1] if col - 1 < len(formats) else None
                if fmt:
                    cell.number_format = fmt
                elif isinstance(value, date):
                    cell.number_format = DATE
                self.widths[col] = max(self.widths.get(col, 8), 14)
            if bold:
                cell.font = _HEAD
                cell.fill = _HEAD_FILL

    def head(self, *labels: str) -> None:
        self.put(labels, bold=True)
        self.ws.freeze_panes = f"A{self.row + 1}"

    def finish(self) -> None:
        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = width


_FIGURE_FORMATS = (COUNT, PERCENT, HOURS, HOURS, HOURS, HOURS, HOURS, HOURS, HOURS, HOURS, COUNT, COUNT, COUNT, COUNT, VND)


def _figure_heads(t: Text) -> tuple[str, ...]:
    return (t("devices"), t("availability"), t("up_hours"), t("degraded_hours"), t("down_hours"), t("network_hours"),
            t("power_hours"), t("downtime_hours"), t("unknown_hours"), t("monitor_gap_hours"), t("faults"), t("repeated"),
            t("out_of_warranty"), t("past_service_life"), t("replacement_cost"))


def _figure_values(f: Figures) -> tuple[Any, ...]:
    h = f.hours
    return (f.devices, h.availability, h.up, h.degraded, h.down, h.network, h.power, h.downtime, h.unknown, h.monitor_gap,
            sum(f.faults.values()), f.repeated_failures, f.out_of_warranty, f.past_service_life, f.replacement_cost_vnd)


def _units(wb: Workbook, title: str, rows: Sequence[UnitRow], t: Text, repeated: bool = False) -> None:
    sheet = _Sheet(wb, title)
    common = (t("device"), t("kind"), t("vendor"), t("model"), t("area"), t("site"), t("funding"))
    if repeated:
        sheet.head(*common, t("down_episodes"), t("downtime_hours"))
    else:
        sheet.head(*common, t("install_date"), t("warranty_end"), t("service_end"), t("replacement_cost"))
    for u in rows:
        base = (u.device_id, t.kind(u.kind), u.vendor, u.model, u.area, u.site, t.funding(u.funding))
        if repeated:
            sheet.put((*base, u.down_episodes, u.downtime_hours), (None,) * 7 + (COUNT, HOURS))
        else:
            sheet.put((*base, u.install_date, u.warranty_end, u.service_end, u.replacement_cost_vnd), (None,) * 7 + (DATE, DATE, DATE, VND))
    if not repeated and rows:
        known = [u.replacement_cost_vnd for u in rows if u.replacement_cost_vnd is not None]
        sheet.put((t("total"), None, None, None, None, None, None, None, None, None, sum(known)), (None,) * 10 + (VND,), bold=True)
    sheet.finish()


def _funding(sheet: _Sheet, rows: Sequence[FundingAmount], t: Text) -> None:
    sheet.head(t("funding"), t("units"), t("cost"), t("units_without_cost"))
    for f in rows:
        sheet.put((t.funding(f.funding), f.units, f.cost_vnd, f.units_without_cost), (None, COUNT, VND, COUNT))
    sheet.put((t("total"), sum(f.units for f in rows), sum(f.cost_vnd for f in rows), sum(f.units_without_cost for f in rows)),
              (None, COUNT, VND, COUNT), bold=True)


def render_xlsx(report: Report, lang: str = "vi") -> bytes:
    t = text_for(lang)
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)

    summary = _Sheet(wb, t("summary"))
    summary.put((t("title"),), bold=True)
    summary.put((t("scope"), report.scope or t("whole_fleet")))
    summary.put((t("period"), report.period_label, report.first, report.last))
    summary.put((t("timezone"), report.settings.timezone))
    if report.observed_until is not None:
        summary.put((t("observed_until"), report.observed_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")))
    summary.row += 1
    for label, value, fmt in zip(_figure_heads(t), _figure_values(report.total), _FIGURE_FORMATS, strict=True):
        summary.put((label, value), (None, fmt))
    summary.put((t("budget") + f" ({report.budget.period_label})", report.budget.total_vnd), (None, VND))
    summary.row += 1
    summary.put((t("availability_note"),))
    if report.tickets is None:
        summary.put((t("tickets_unavailable"),))
    summary.finish()

    areas = _Sheet(wb, t("areas"))
    areas.head(t("area"), *_figure_heads(t))
    for a in report.areas:
        areas.put((a.name, *_figure_values(a.figures)), (None, *_FIGURE_FORMATS))
    areas.finish()

    sites = _Sheet(wb, t("sites"))
    sites.head(t("area"), t("site"), *_figure_heads(t))
    for s in report.sites:
        sites.put((s.area, s.site or t("no_site"), *_figure_values(s.figures)), (None, None, *_FIGURE_FORMATS))
    sites.finish()

    faults = _Sheet(wb, t("faults_by_kind"))
    faults.head(t("fault_kind"), t("count"))
    for kind, count in report.total.faults.items():
        faults.put((t.fault(kind), count), (None, COUNT))
    faults.put((t("total"), sum(report.total.faults.values())), (None, COUNT), bold=True)
    faults.finish()

    daily = _Sheet(wb, t("daily"))
    daily.head(t("day"), t("availability"), t("known_hours"))
    for d in report.days:
        daily.put((d.day, d.availability, d.known_hours), (DATE, PERCENT, HOURS))
    daily.finish()

    _units(wb, t("repeated"), report.repeated, t, repeated=True)
    _units(wb, t("past_service_life"), report.past_service_life, t)
    _units(wb, t("out_of_warranty"), report.out_of_warranty, t)
    by_funding = _Sheet(wb, f'{t("out_of_warranty")} - {t("funding")}')
    by_funding.head(t("funding"), t("units"))
    for f in report.out_of_warranty_by_funding:
        by_funding.put((t.funding(f.funding), f.units), (None, COUNT))
    by_funding.put((t("total"), sum(f.units for f in report.out_of_warranty_by_funding)), (None, COUNT), bold=True)
    by_funding.finish()

    budget = _Sheet(wb, t("budget"))
    budget.put((t("budget"), report.budget.period_label, report.budget.first, report.budget.last), bold=True)
    budget.put((t("budget_note", period=report.budget.period_label),))
    budget.put((t("replacements_due"),), bold=True)
    _funding(budget, report.budget.replacements, t)
    budget.put((t("repair_estimate"),), bold=True)
    if report.budget.repair_estimate is None:
        budget.put((t("tickets_unavailable"),))
    else:
        for key, cost in report.budget.repair_estimate.items():
            budget.put((t.funding(key), None, cost), (None, None, VND))
    budget.put((t("total"), None, report.budget.total_vnd), (None, None, VND), bold=True)
    budget.finish()

    tickets = _Sheet(wb, t("tickets"))
    if report.tickets is None:
        tickets.put((t("tickets_unavailable"),))
    else:
        k = report.tickets
        figures: tuple[tuple[str, float | None, str], ...] = (
            (t("tickets_opened"), k.opened, COUNT), (t("tickets_resolved"), k.resolved, COUNT),
            (t("tickets_open"), k.still_open, COUNT), (t("mtta"), k.mtta_hours, HOURS), (t("mttr"), k.mttr_hours, HOURS))
        for label, value, fmt in figures:
            tickets.put((label, value), (None, fmt))
        tickets.row += 1
        tickets.head(t("funding"), t("cost"))
        for key, cost in k.cost_by_funding.items():
            tickets.put((t.funding(key), cost), (None, VND))
        tickets.put((t("total"), k.cost_total), (None, VND), bold=True)
        tickets.row += 1
        tickets.put((t("area"), t("cost")), bold=True)
        for area, cost in k.cost_by_area.items():
            tickets.put((area, cost), (None, VND))
    tickets.finish()

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
