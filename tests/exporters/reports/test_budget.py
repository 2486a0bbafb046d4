"""What an officer budgets from: replacements by funding source, repair figures once tickets exist."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from fleetmon.config import ReportsConfig, parse_config
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.model import Report
from tests.exporters.reports.conftest import REPAIRS, SEPT, XUAN_LAP


def test_units_out_of_warranty_and_past_service_life_by_funding(plain_report: Report) -> None:
    assert [u.device_id for u in plain_report.out_of_warranty] == ["cam-4", "cam-1", "nvr-1"]  # sorted by area path
    assert [u.device_id for u in plain_report.past_service_life] == ["cam-4"]  # 7 years of a camera, from 2018
    assert [(f.funding, f.units, f.cost_vnd) for f in plain_report.replacement_by_funding] == [("social", 1, 6_000_000)]
    assert plain_report.replacement_by_area == {"Sầm Sơn": 6_000_000}
    assert [(f.funding, f.units) for f in plain_report.out_of_warranty_by_funding] == [("social", 1), ("state_budget", 2)]


def test_next_periods_budget_counts_units_reaching_their_service_life_in_it(plain_report: Report) -> None:
    budget = plain_report.budget
    assert (budget.period_label, budget.first.isoformat(), budget.last.isoformat()) == ("2026-10", "2026-10-01", "2026-10-31")
    # nvr-1 was installed on 15 October 2021: a recorder's five years end in October 2026.
    assert [(f.funding, f.units, f.cost_vnd) for f in budget.replacements] == [("social", 1, 6_000_000), ("state_budget", 1, 12_500_000)]
    assert budget.repair_estimate is None and plain_report.tickets is None
    assert budget.total_vnd == 18_500_000


def test_configured_prices_and_service_life_change_the_estimate(sqlite_province: Engine) -> None:
    config = parse_config({"reports": {"service_life_years": {"camera": 2}, "replacement_price_vnd": {"camera": 5_000_000}}}).reports
    with sqlite_province.connect() as conn:
        report = build_report(conn, config, SEPT, XUAN_LAP)
    assert [u.device_id for u in report.past_service_life] == ["cam-1", "cam-2"]  # 2022 and June 2024, two years on
    assert report.total.replacement_cost_vnd == 10_000_000  # today's price, not what they cost


def test_ticket_figures_from_repair_facts(full_report: Report) -> None:
    tickets = full_report.tickets
    assert tickets is not None
    assert (tickets.opened, tickets.resolved, tickets.still_open) == (4, 3, 1)
    assert tickets.mtta_hours == pytest.approx(1.5)  # 1, 3, 1 and 1 hours
    assert tickets.mttr_hours == pytest.approx(11)  # 3, 24 and 6 hours
    assert tickets.cost_by_funding == {"state_budget": 3_250_000, "social": 300_000}
    assert tickets.cost_by_area == {XUAN_LAP: 3_250_000, "Thanh Hóa / Sầm Sơn / Quảng Tiến": 300_000}
    assert full_report.budget.repair_estimate == {"state_budget": round(3_250_000 * 31 / 30), "social": 310_000}


def test_tickets_of_devices_outside_the_area_are_left_out(sqlite_province: Engine) -> None:
    with sqlite_province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, XUAN_LAP, repairs=REPAIRS)
    assert report.tickets is not None and report.tickets.opened == 2 and report.tickets.cost_by_funding == {"state_budget": 3_250_000}


def test_repeated_failures_threshold_is_configurable(sqlite_province: Engine) -> None:
    with sqlite_province.connect() as conn:
        report = build_report(conn, ReportsConfig(repeated_failures=1), SEPT, "Thanh Hóa")
    assert [u.device_id for u in report.repeated] == ["cam-2", "cam-1"]
