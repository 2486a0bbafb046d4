"""Availability from the state-change log: unknown time is never counted as up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from fleetmon.console.fleet import DeviceState, area_status, availability, stored_states
from fleetmon.health.model import Health
from fleetmon.store.schema import state_changes
from tests.alerts.conftest import camera


def test_availability_splits_each_day_by_state(engine: Engine) -> None:
    day = datetime(2026, 11, 20, tzinfo=UTC)
    rows = [("a", day + timedelta(hours=6), "up"), ("a", day + timedelta(hours=18), "down"),
            ("a", day + timedelta(days=1, hours=12), "unknown")]
    with engine.begin() as conn:
        conn.execute(insert(state_changes), [{"device_id": d, "at": at, "state": s, "reason": "r; s"} for d, at, s in rows])
        days = availability(conn, ["a", "b"], 3, now=day + timedelta(days=2, hours=12))
        states = stored_states(conn)
    first, second, third = (d.shares for d in days)
    # device a: 6 h unknown, 12 h up, 6 h down; device b never logged: unknown all day
    assert round(first["up"], 3) == round(12 / 48, 3) and round(first["down"], 3) == round(6 / 48, 3)
    assert round(first["unknown"], 3) == round(30 / 48, 3)
    assert round(second["down"], 3) == round(12 / 48, 3) and second["up"] == 0
    assert third["unknown"] == 1.0  # only the half day so far, and nobody watched it
    assert states["a"] == DeviceState(Health.UNKNOWN, (day + timedelta(days=1, hours=12)).timestamp(), ("r", "s"))


def test_areas_and_sites_are_counted_worst_first() -> None:
    devices = {d.id: d for d in (camera("a1", area="P / A", site="s1"), camera("a2", area="P / A", site="s1"),
                                 camera("b1", area="P / B", site="s2"))}
    states = {"a1": DeviceState(Health.UP), "a2": DeviceState(Health.UP), "b1": DeviceState(Health.DOWN)}
    found = area_status(devices, states, ("P",))
    assert [g.name for g in found.areas] == ["B", "A"] and [g.name for g in found.sites] == ["s2", "s1"]
    assert found.total.devices == 3 and found.total.worst is Health.DOWN


def test_the_map_draws_the_worst_sites_on_top() -> None:
    from fleetmon.console.svg import COLOURS, site_map

    devices = [camera("a", site="s1"), camera("b", site="s2"), camera("c", site="s3")]
    groups = []
    for device, state in zip(devices, (Health.DOWN, Health.UP, Health.UNKNOWN), strict=True):
        group = area_status({device.id: device}, {device.id: DeviceState(state)}, ()).sites[0]
        groups.append(group)
    drawn = str(site_map(groups, lambda g: g.name))
    order = [drawn.index(COLOURS[s]) for s in ("up", "unknown", "down")]
    assert order == sorted(order) and "<script" not in drawn and "/site?area=" in drawn
