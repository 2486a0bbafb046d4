"""Open tickets by area, kind and severity, and SLA breaches, on /metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from fleetmon.alerts.service import count_tickets
from fleetmon.exporters.prometheus import render
from fleetmon.monitor.view import MonitorView
from tests.alerts.conftest import AREA, camera, config

ELSEWHERE = "Thanh Hóa / Quảng Xương / Quảng Tân"


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name}


def test_open_tickets_and_sla_breaches_by_area_on_metrics(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1", site="Chợ"), camera("cam-2", site="Trường"), camera("cam-3", area=ELSEWHERE, site="UBND")],
                       config(tickets={"sla": {"high": {"acknowledge": "30m", "repair": "8h"}}}))
    fleet.sweep()
    fleet.wait(1200, down=["cam-1", "cam-2", "cam-3"], problems={})
    fleet.wait(1800, down=["cam-1", "cam-2"])  # cam-3 back: its ticket resolves, cam-1 and cam-2 escalate
    view = MonitorView(worker_id="w1")
    view.tickets, view.ticket_sla_breaches = count_tickets(fleet.store)
    text = render(view).decode()
    key = (("area", AREA), ("kind", "device_down"), ("severity", "high"), ("state", "open"))
    assert samples(text, "fleetmon_tickets_open") == {key: 2.0}
    assert samples(text, "fleetmon_tickets_sla_breached") == {(("area", AREA), ("sla", "acknowledge")): 2.0}
    assert samples(render(view, ELSEWHERE).decode(), "fleetmon_tickets_open") == {}  # an area scrape carries its own only
