"""Availability from the state-change log, as a budget officer reads it: hours, not guesses."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.availability import Change, device_time
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.model import AreaFigures, Report
from fleetmon.health.model import Cause, Health
from fleetmon.store.areas import AreaTree, merge, rename
from tests.exporters.reports.conftest import QUANG_TIEN, SEPT, XUAN_HOA, XUAN_LAP, at

DAY = 86400.0


def site(report: Report, name: str) -> tuple[float, ...]:
    found = [s for s in report.sites if s.site == name]
    assert len(found) == 1, [s.site for s in report.sites]
    h = found[0].figures.hours
    return (h.up, h.degraded, h.down, h.network, h.power, h.unknown)


def area(report: Report, path: str) -> AreaFigures:
    found = [a for a in report.areas if a.name == path]
    assert len(found) == 1, [a.name for a in report.areas]
    return found[0]


def test_three_hours_down_in_a_thirty_day_month_is_99_58_percent() -> None:
    start = SEPT.start.timestamp()
    time = device_time(Change(start - DAY, Health.UP), [Change(start + 9 * DAY, Health.DOWN, "timeout", Cause.DEVICE),
                                                         Change(start + 9 * DAY + 3 * 3600, Health.UP)],
                       start, SEPT.end.timestamp())
    assert time.seconds.down == 3 * 3600
    assert round(time.seconds.availability or 0, 4) == 0.9958
    assert time.down_episodes == 1


def test_a_monitor_gap_is_unknown_not_up_and_left_out_of_the_denominator() -> None:
    start, end = SEPT.start.timestamp(), SEPT.end.timestamp()
    changes = [Change(start + 10 * DAY, Health.UNKNOWN, "not watched", Cause.MONITOR),
               Change(start + 12 * DAY, Health.DOWN, "timeout", Cause.DEVICE),
               Change(start + 12 * DAY + 3600, Health.UP)]
    time = device_time(Change(start - DAY, Health.UP), changes, start, end)
    assert time.seconds.unknown == time.seconds.monitor_gap == 2 * DAY
    assert time.seconds.up == 30 * DAY - 2 * DAY - 3600
    assert time.seconds.known == 28 * DAY
    assert time.seconds.availability == pytest.approx(1 - 3600 / (28 * DAY))


def test_a_device_never_seen_before_the_period_is_unknown_until_its_first_change() -> None:
    start, end = SEPT.start.timestamp(), SEPT.end.timestamp()
    time = device_time(None, [Change(start + 20 * DAY, Health.UP)], start, end)
    assert time.seconds.unknown == 20 * DAY and time.seconds.monitor_gap == 0
    assert time.seconds.availability == 1.0


def test_daily_trend_splits_an_outage_across_midnight() -> None:
    start, end = SEPT.start.timestamp(), SEPT.end.timestamp()
    days = [b for _, b, _ in SEPT.day_bounds()]
    changes = [Change(start + DAY - 3600, Health.DOWN, "timeout", Cause.DEVICE), Change(start + DAY + 3 * 3600, Health.UP)]
    time = device_time(Change(start - DAY, Health.UP), changes, start, end, days)
    assert len(time.daily_known) == 30
    assert time.daily_known[0] == time.daily_known[1] == DAY
    assert DAY - time.daily_working[0] == 3600 and DAY - time.daily_working[1] == 3 * 3600
    assert time.daily_working[2] == DAY


def test_report_hours_per_site_from_the_store(report: Report) -> None:
    # up, degraded, down, network, power, unknown (hours)
    assert site(report, "Bãi biển") == (714, 0, 0, 6, 0, 0)  # cam-4: 6 h behind its uplink
    assert site(report, "Chợ Xuân Lập") == (  # cam-1, cam-2 and nvr-1 together
        (720 - 3) + (720 - 26) + 96, 600, 3 + 26, 0, 0, 24)
    cam3 = site(report, '=HYPERLINK("http://evil.example/x","bấm vào đây")')
    assert cam3 == (720 - 4 - 24, 24, 0, 0, 4, 0)  # the site dropped and came back restarted: a power cut


def test_the_state_before_the_period_carries_into_it(report: Report) -> None:
    cam2 = [r for r in report.repeated if r.device_id == "cam-2"]
    assert cam2 and cam2[0].down_episodes == 3  # the outage begun in August counts, with two of September
    assert cam2[0].downtime_hours == 26
    assert [r.device_id for r in report.repeated] == ["cam-2"]


def test_the_monitor_gap_shows_as_unknown_and_the_recorder_stays_fully_available(report: Report) -> None:
    xuan_lap = area(report, XUAN_LAP)
    hours = xuan_lap.figures.hours
    assert hours.unknown == 24 and hours.monitor_gap == 24
    known = 3 * 720 - 24
    assert hours.availability == pytest.approx((known - 29) / known)


def test_area_figures_add_up_the_subtree_and_faults_are_sorted_by_kind(report: Report) -> None:
    assert report.scope == "Thanh Hóa"
    assert [a.name for a in report.areas] == ["Thanh Hóa", "Thanh Hóa / Sầm Sơn", QUANG_TIEN, "Thanh Hóa / Thọ Xuân", XUAN_HOA, XUAN_LAP]
    assert report.areas[0].figures.devices == 5
    assert report.total.hours.downtime == 3 + 26 + 6 + 4
    assert report.total.faults == {"offline": 4, "disk": 1, "power": 1, "picture": 1, "behind_parent": 1}
    assert report.days[0].availability is not None and report.days[0].availability < 1  # cam-2 was down on the 1st


def test_a_merged_area_reports_under_its_survivor(province: Engine) -> None:
    with province.begin() as conn:
        merge(conn, AreaTree.load(conn), [XUAN_HOA], XUAN_LAP)
    with province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa / Thọ Xuân")
        by_old_name = build_report(conn, ReportsConfig(), SEPT, XUAN_HOA)
    assert [a.name for a in report.areas] == ["Thanh Hóa / Thọ Xuân", XUAN_LAP]
    survivor = report.areas[1]
    assert survivor.merged == (XUAN_HOA,)
    assert survivor.figures.devices == 4
    assert survivor.figures.hours.power == 4  # cam-3's power cut, logged while it was in Xuân Hòa
    assert by_old_name.scope == XUAN_LAP


def test_a_renamed_area_keeps_its_history(province: Engine) -> None:
    with province.begin() as conn:
        rename(conn, AreaTree.load(conn), "Thanh Hóa / Sầm Sơn", "TP Sầm Sơn")
    with province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa / TP Sầm Sơn")
    assert report.total.devices == 1 and report.total.hours.network == 6


def test_retired_before_the_period_is_left_out(province: Engine) -> None:
    from sqlalchemy import update

    from fleetmon.store.schema import devices

    with province.begin() as conn:
        conn.execute(update(devices).where(devices.c.id == "cam-4").values(active=False, retired_at=at(-40)))
    with province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa")
    assert report.total.devices == 4
    assert QUANG_TIEN in [a.name for a in report.areas]


def test_a_period_not_over_is_reported_up_to_now(province: Engine) -> None:
    with province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa", now=at(16))
    assert report.observed_until == at(16)
    assert report.total.hours.up + report.total.hours.degraded + report.total.hours.downtime + report.total.hours.unknown == 5 * 15 * 24
    assert report.days[14].availability is not None and report.days[15].availability is None  # the 16th has not happened yet


def test_time_since_the_monitor_stopped_is_unknown_even_before_it_restarts(province: Engine) -> None:
    from fleetmon.store import statelog

    with province.begin() as conn:
        statelog.heartbeat(conn, "w1", at(28).timestamp())  # the monitor died on the 28th; nothing wrote its gap yet
    with province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa / Sầm Sơn", now=at(40))
    hours = report.total.hours
    assert (hours.unknown, hours.monitor_gap, hours.up, hours.network) == (3 * 24, 3 * 24, 27 * 24 - 6, 6)
    assert report.observed_until is None


def test_without_an_area_the_whole_fleet_is_reported(province: Engine) -> None:
    with province.connect() as conn:
        report = build_report(conn, ReportsConfig(), SEPT)
    assert report.scope == "" and report.total.devices == 5
    assert report.areas[0].name == "Thanh Hóa" and report.areas[0].level == 0
