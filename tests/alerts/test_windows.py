"""Maintenance windows hold tickets back; a fault that outlives its window opens one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fleetmon.alerts import windows
from tests.alerts.conftest import START, camera, when


def test_a_window_over_an_area_suppresses_tickets_there_and_a_fault_outliving_it_opens_one(make_fleet: Any) -> None:
    inside = [camera(f"cam-{n}", site=f"Thôn {n}") for n in range(3)]
    outside = camera("cam-tx", area="Thanh Hóa / Thọ Xuân / Thị trấn", site="Chợ")
    fleet = make_fleet([*inside, outside])
    with fleet.store.begin() as conn:
        windows.add(conn, "area", "Thanh Hóa / Thọ Xuân / Xuân Lập", when(START + 60), when(START + 2.5 * 3600),
                    reason="planned power cut (EVN)", created_by="tâm")
    fleet.sweep()
    down = [c.id for c in inside] + ["cam-tx"]
    fleet.wait(2 * 3600, down=down)
    assert [t.subject for t in fleet.tickets()] == ["cam-tx"]  # outside the window: ticket as usual
    fleet.wait(3600, down=down)  # the window ended half an hour ago: the faults outlived it
    assert sorted(t.subject for t in fleet.tickets()) == ["cam-0", "cam-1", "cam-2", "cam-tx"]


def test_units_back_soon_after_their_window_open_nothing(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    with fleet.store.begin() as conn:
        windows.add(conn, "device", "cam-1", when(START), when(START + 3600))
    fleet.sweep()
    fleet.wait(3600, down=["cam-1"])
    fleet.wait(300, down=["cam-1"])  # five minutes past the window: within the rule's ten
    fleet.wait(3600)
    assert fleet.tickets() == []


def test_a_weekly_window_recurs() -> None:
    window = windows.Window(id=1, scope="site", target="Thanh Hóa / Thọ Xuân|Chợ", starts_at=when(START), ends_at=when(START + 7200),
                            repeat_seconds=7 * 86400)
    week = timedelta(days=7)
    assert window.active(when(START + 3600)) and window.active(when(START + 3600) + 3 * week)
    assert not window.active(when(START + 3 * 3600)) and not window.active(when(START + 3 * 3600) + week)
    assert window.covers(None, "Thanh Hóa / Thọ Xuân", "Chợ") and not window.covers(None, "Thanh Hóa / Thọ Xuân", "Trường")


def test_a_window_must_end_after_it_starts(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    with fleet.store.begin() as conn, pytest.raises(ValueError, match="end after"):
        windows.add(conn, "device", "cam-1", when(START), when(START))
