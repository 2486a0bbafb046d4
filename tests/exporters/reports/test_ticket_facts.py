"""Ticket figures come from the store's tickets table, as `fleetmon.alerts` writes it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, insert

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.ticket_facts import repair_facts
from fleetmon.store.schema import tickets
from tests.exporters.reports.conftest import QUANG_TIEN, SEPT, XUAN_LAP, at


def ticket(subject: str, device: str | None, opened: datetime, *, acked: datetime | None = None,
           resolved: datetime | None = None, cost: int | None = None, funding: str | None = None,
           affected: str = "") -> dict[str, object]:
    return {"subject": subject, "kind": "device_down", "open_key": None if resolved else f"{subject}|device_down",
            "state": "closed" if resolved else "open", "severity": "high", "team": "field", "device_id": device,
            "area": "", "site": "", "title": "t", "affected": affected, "fault_since": opened, "opened_at": opened,
            "sla_from": opened, "acknowledged_at": acked, "resolved_at": resolved, "repair_cost_vnd": cost,
            "repair_funding": funding}


def test_a_months_tickets_give_repair_times_and_cost_by_funding(province: Engine) -> None:
    with province.begin() as conn:
        conn.execute(insert(tickets), [
            ticket("cam-1", "cam-1", at(10, 2), acked=at(10, 3), resolved=at(10, 6), cost=1_250_000, funding="state_budget"),
            ticket("cam-4", "cam-4", at(12), acked=at(12, 2), resolved=at(13), cost=300_000, funding="social"),
            # a whole site offline: no device of its own, counted under the first unit it lists
            ticket("site:Xuân Lập|Chợ", None, at(20), affected="nvr-1\ncam-1\ncam-2"),
            ticket("cam-2", "cam-2", at(1, 0) - (at(2) - at(1)) * 40, resolved=at(1, 0) - (at(2) - at(1)) * 35),  # August
        ])
    with province.connect() as conn:
        facts = repair_facts(conn, SEPT.start, SEPT.end)
        report = build_report(conn, ReportsConfig(), SEPT, None, repairs=facts)
    assert sorted(f.device_id for f in facts) == ["cam-1", "cam-4", "nvr-1"]  # August's ticket is not in September
    figures = report.tickets
    assert figures is not None
    assert (figures.opened, figures.resolved, figures.still_open) == (3, 2, 1)
    assert figures.mtta_hours == pytest.approx(1.5)  # 1 and 2 hours
    assert figures.mttr_hours == pytest.approx(14)  # 4 and 24 hours
    assert figures.cost_by_funding == {"state_budget": 1_250_000, "social": 300_000}
    assert figures.cost_by_area == {XUAN_LAP: 1_250_000, QUANG_TIEN: 300_000}
