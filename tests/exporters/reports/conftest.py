"""A small province with a hand-written health history, in the store the reports read.

Thanh Hóa / Thọ Xuân / Xuân Lập     cam-1, cam-2 (site Chợ Xuân Lập), nvr-1 (their recorder, due for replacement in October)
Thanh Hóa / Thọ Xuân / Xuân Hòa     cam-3 (a site named like a spreadsheet formula)
Thanh Hóa / Sầm Sơn / Quảng Tiến    cam-4 (socially funded, old: past its service life)

The period is September 2026 (30 days) in Vietnam's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.model import Report
from fleetmon.exporters.reports.period import Period, parse_period
from fleetmon.exporters.reports.repairs import RepairFacts
from fleetmon.health.model import Cause, Health, Transition
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.model import Device, DeviceKind, Funding
from fleetmon.store import statelog
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan

XUAN_LAP = "Thanh Hóa / Thọ Xuân / Xuân Lập"
XUAN_HOA = "Thanh Hóa / Thọ Xuân / Xuân Hòa"
QUANG_TIEN = "Thanh Hóa / Sầm Sơn / Quảng Tiến"
FORMULA_SITE = '=HYPERLINK("http://evil.example/x","bấm vào đây")'


def fleet() -> list[Device]:
    state, social = Funding.STATE_BUDGET, Funding.SOCIAL
    return [
        Device("cam-1", DeviceKind.CAMERA, "10.0.0.1", area=XUAN_LAP, site="Chợ Xuân Lập", vendor="Hikvision", model="DS-2CD1043",
               install_date=date(2022, 3, 1), warranty_end=date(2025, 3, 1), purchase_cost_vnd=4_500_000, funding=state, parent="nvr-1"),
        Device("cam-2", DeviceKind.CAMERA, "10.0.0.2", area=XUAN_LAP, site="Chợ Xuân Lập", vendor="Dahua", model="IPC-HFW1230",
               install_date=date(2024, 6, 1), warranty_end=date(2027, 6, 1), purchase_cost_vnd=3_200_000, funding=state, parent="nvr-1"),
        Device("nvr-1", DeviceKind.NVR, "10.0.0.10", area=XUAN_LAP, site="Chợ Xuân Lập", vendor="Hikvision", model="DS-7608NI",
               install_date=date(2021, 10, 15), warranty_end=date(2023, 10, 15), purchase_cost_vnd=12_500_000, funding=state),
        Device("cam-3", DeviceKind.CAMERA, "10.0.1.1", area=XUAN_HOA, site=FORMULA_SITE, vendor="KBVision", model="KX-2011",
               install_date=date(2025, 1, 10), warranty_end=date(2027, 1, 10), purchase_cost_vnd=2_800_000, funding=social),
        Device("cam-4", DeviceKind.CAMERA, "10.0.2.1", area=QUANG_TIEN, site="Bãi biển", vendor="Hikvision", model="DS-2CD2T",
               install_date=date(2018, 5, 1), warranty_end=date(2020, 5, 1), purchase_cost_vnd=6_000_000, funding=social),
    ]


def period(text: str = "2026-09") -> Period:
    return parse_period(text, "Asia/Ho_Chi_Minh")


SEPT = period()


def at(day: int, hour: float = 0.0) -> datetime:
    """A moment in September 2026, Vietnam time (day 31 is 1 October)."""
    return SEPT.start + timedelta(days=day - 1, hours=hour)


def write(engine: Engine, device_id: str, history: Iterable[tuple[datetime, Health, str, Cause]]) -> None:
    """Log the changes of one device, in order (the state before the first is unknown)."""
    transitions, old = [], Health.UNKNOWN
    for when, state, reason, cause in history:
        transitions.append(Transition(device_id, when.timestamp(), old, state, reason, cause))
        old = state
    with engine.begin() as conn:
        statelog.write(conn, transitions)


UP = (Health.UP, "answering", Cause.NONE)


def history(engine: Engine) -> None:
    """The month as the tests expect it; each device's story is in its comment."""
    # cam-1: up since August; down 3 h on 10 September: 717 of 720 h, 99.58 %.
    write(engine, "cam-1", [
        (at(-20), *UP),
        (at(10, 8), Health.DOWN, "none of its service ports answer", Cause.DEVICE),
        (at(10, 11), *UP),
    ])
    # nvr-1: up; a disk fails on the 5th (degraded to the end); the monitor stops on the 12th at noon for 24 h.
    write(engine, "nvr-1", [
        (at(-20), *UP),
        (at(5), Health.DEGRADED, "disk 2 (HDD2): failed (abnormal)", Cause.NONE),
        (at(12, 12), Health.UNKNOWN, "not watched: the monitor was not running", Cause.MONITOR),
        (at(13, 12), Health.DEGRADED, "disk 2 (HDD2): failed (abnormal)", Cause.NONE),
    ])
    # cam-2: down since August (carries into September) until the 2nd; down 1 h on the 15th and
    # on the 20th: 26 h down, three outages of its own (failing repeatedly).
    write(engine, "cam-2", [
        (at(-5), Health.DOWN, "none of its service ports answer", Cause.DEVICE),
        (at(2), *UP),
        (at(15, 8), Health.DOWN, "none of its service ports answer", Cause.DEVICE),
        (at(15, 9), *UP),
        (at(20, 8), Health.DOWN, "none of its service ports answer", Cause.DEVICE),
        (at(20, 9), *UP),
    ])
    # cam-3: whole site drops for 4 h on the 7th; comes back restarted (power cut).
    write(engine, "cam-3", [
        (at(-20), *UP),
        (at(7, 1), Health.DOWN, "the whole site is offline (power or its uplink)", Cause.NETWORK),
        (at(7, 5), Health.UP, "answering again; restarted during the outage (power cut?)", Cause.POWER),
        (at(25), Health.DEGRADED, "picture frozen: the same frame for 10 minutes", Cause.NONE),
        (at(26), *UP),
    ])
    # cam-4: up, then unreachable behind its uplink for 6 h on the 3rd.
    write(engine, "cam-4", [
        (at(-20), *UP),
        (at(3, 6), Health.UNREACHABLE, "behind sw-1, which is offline", Cause.NETWORK),
        (at(3, 12), *UP),
    ])


REPAIRS = (
    RepairFacts("cam-1", at(10, 8), at(10, 9), at(10, 11), 850_000, Funding.STATE_BUDGET),
    RepairFacts("nvr-1", at(5), at(5, 3), at(6), 2_400_000, Funding.STATE_BUDGET),
    RepairFacts("cam-3", at(7, 1), at(7, 2), None, None, None),
    RepairFacts("cam-4", at(3, 6), at(3, 7), at(3, 12), 300_000, Funding.SOCIAL),
)


def fill(engine: Engine) -> Engine:
    with engine.begin() as conn:
        apply_plan(conn, ImportPlan(added=fleet()), "test")
    history(engine)
    return engine


@pytest.fixture
def province(engine: Engine) -> Engine:
    """The province on SQLite and on PostgreSQL."""
    return fill(engine)


@pytest.fixture
def sqlite_province(tmp_path: Path) -> Iterator[Engine]:
    """The province on SQLite only: for what does not depend on the database (the formats)."""
    engine = open_store(f"sqlite:///{tmp_path / 'reports.db'}")
    yield fill(engine)
    engine.dispose()


@pytest.fixture
def full_report(sqlite_province: Engine) -> Report:
    """September with repair facts given, as it will be once tickets are connected."""
    with sqlite_province.connect() as conn:
        return build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa", repairs=REPAIRS)


@pytest.fixture
def plain_report(sqlite_province: Engine) -> Report:
    """September as the CLI builds it today: no ticket figures."""
    with sqlite_province.connect() as conn:
        return build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa", repairs=None)


@pytest.fixture
def report(province: Engine) -> Report:
    with province.connect() as conn:
        return build_report(conn, ReportsConfig(), SEPT, "Thanh Hóa", repairs=REPAIRS)
