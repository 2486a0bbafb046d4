"""The report as one CSV file in long form: one figure per line, for pivot tables and scripts.

Columns: section, area, site, item, measure, label, value, unit. `measure` is a stable
identifier (availability_ratio, down_hours, replacement_cost_vnd...), `label` the same in the
report's language; `item` names a device, a day, a fault kind or a funding source. Values are
plain numbers with a dot ("0.9958", "12500000"), whatever the language, so tools read them as
numbers. UTF-8 with a byte-order mark, so spreadsheet programs see the diacritics.
Text from the inventory is written safely (see `cells`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date
from typing import Any

from fleetmon.exporters.reports.cells import csv_text
from fleetmon.exporters.reports.i18n import Text, text_for
from fleetmon.exporters.reports.model import Figures, Report

HEADER = ("section", "area", "site", "item", "measure", "label", "value", "unit")

_FIGURES = (
    ("devices", "devices", "units"),
    ("availability_ratio", "availability", "ratio"),
    ("up_hours", "up_hours", "h"),
    ("degraded_hours", "degraded_hours", "h"),
    ("down_hours", "down_hours", "h"),
    ("network_hours", "network_hours", "h"),
    ("power_hours", "power_hours", "h"),
    ("downtime_hours", "downtime_hours", "h"),
    ("unknown_hours", "unknown_hours", "h"),
    ("monitor_gap_hours", "monitor_gap_hours", "h"),
    ("faults", "faults", "count"),
    ("repeated_failures", "repeated", "units"),
    ("out_of_warranty", "out_of_warranty", "units"),
    ("past_service_life", "past_service_life", "units"),
    ("replacement_cost_vnd", "replacement_cost", "VND"),
)


def _figure_values(f: Figures) -> dict[str, Any]:
    h = f.hours
    return {"devices": f.devices, "availability_ratio": h.availability, "up_hours": h.up, "degraded_hours": h.degraded,
            "down_hours": h.down, "network_hours": h.network, "power_hours": h.power, "downtime_hours": h.downtime,
            "unknown_hours": h.unknown, "monitor_gap_hours": h.monitor_gap, "faults": sum(f.faults.values()),
            "repeated_failures": f.repeated_failures, "out_of_warranty": f.out_of_warranty,
            "past_service_life": f.past_service_life, "replacement_cost_vnd": f.replacement_cost_vnd}


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1 else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rows(report: Report, t: Text) -> Iterator[tuple[str, str, str, str, str, str, Any, str]]:
    scope = report.scope
    yield ("report", scope, "", report.period_label, "period_first", t("period"), report.first, "date")
    yield ("report", scope, "", report.period_label, "period_last", t("period"), report.last, "date")
    if report.observed_until is not None:
        until = report.observed_until.astimezone(UTC).isoformat()
        yield ("report", scope, "", report.period_label, "observed_until", t("observed_until"), until, "time")
    for section, area, site, figures in (
        [("summary", scope, "", report.total)]
        + [("area", a.name, "", a.figures) for a in report.areas]
        + [("site", s.area, s.site, s.figures) for s in report.sites]
    ):
        values = _figure_values(figures)
        for measure, label, unit in _FIGURES:
            yield (section, area, site, "", measure, t(label), values[measure], unit)
    for kind, count in report.total.faults.items():
        yield ("faults", scope, "", kind, "faults", t.fault(kind), count, "count")
    for day in report.days:
        yield ("daily", scope, "", day.day.isoformat(), "availability_ratio", t("availability"), day.availability, "ratio")
    for section, rows in (("repeated", report.repeated), ("past_service_life", report.past_service_life),
                          ("out_of_warranty", report.out_of_warranty)):
        for u in rows:
            if section == "repeated":
                yield (section, u.area, u.site, u.device_id, "down_episodes", t("down_episodes"), u.down_episodes, "count")
            else:
                yield (section, u.area, u.site, u.device_id, "replacement_cost_vnd", t("replacement_cost"), u.replacement_cost_vnd, "VND")
    for f in report.replacement_by_funding:
        yield ("replacement_by_funding", scope, "", f.funding or "unspecified", "replacement_cost_vnd", t.funding(f.funding),
               f.cost_vnd, "VND")
    for f in report.out_of_warranty_by_funding:
        yield ("out_of_warranty_by_funding", scope, "", f.funding or "unspecified", "units", t.funding(f.funding), f.units, "units")
    for f in report.budget.replacements:
        yield ("budget", scope, "", f.funding or "unspecified", "replacements_due_vnd", t("replacements_due"), f.cost_vnd, "VND")
    if report.budget.repair_estimate is not None:
        for key, cost in report.budget.repair_estimate.items():
            yield ("budget", scope, "", key or "unspecified", "repair_estimate_vnd", t("repair_estimate"), cost, "VND")
    yield ("budget", scope, "", report.budget.period_label, "total_vnd", t("total"), report.budget.total_vnd, "VND")
    if report.tickets is None:
        yield ("tickets", scope, "", "", "not_available", t("tickets_unavailable"), "", "")
    else:
        k = report.tickets
        yield ("tickets", scope, "", "", "opened", t("tickets_opened"), k.opened, "count")
        yield ("tickets", scope, "", "", "resolved", t("tickets_resolved"), k.resolved, "count")
        yield ("tickets", scope, "", "", "open_at_end", t("tickets_open"), k.still_open, "count")
        yield ("tickets", scope, "", "", "mtta_hours", t("mtta"), k.mtta_hours, "h")
        yield ("tickets", scope, "", "", "mttr_hours", t("mttr"), k.mttr_hours, "h")
        for key, cost in k.cost_by_funding.items():
            yield ("tickets", scope, "", key or "unspecified", "repair_cost_vnd", t.funding(key), cost, "VND")
        for area, cost in k.cost_by_area.items():
            yield ("tickets", area, "", "", "repair_cost_vnd", t("repair_cost_by_area"), cost, "VND")


def render_csv(report: Report, lang: str = "vi") -> bytes:
    t = text_for(lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for section, area, site, item, measure, label, value, unit in _rows(report, t):
        writer.writerow((section, csv_text(area), csv_text(site), csv_text(item), measure, csv_text(label), _value(value), unit))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
