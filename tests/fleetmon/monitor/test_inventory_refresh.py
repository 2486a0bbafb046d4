"""The monitor's minutely inventory refresh: an unchanged store is not read again, every kind of change is.

A province is 136,923 rows; reading them every minute cost a worker a second of CPU and a fresh
163 MiB of device records each time, for an inventory that changes a few times a month.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleetmon.config import Config
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.service import Monitor
from fleetmon.store import areas
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan, load_devices

AREA = "Thanh Hóa / Thọ Xuân"
FLEET = [Device(id=f"cam-{i}", kind=DeviceKind.CAMERA, host=f"127.0.0.{i + 1}", area=AREA, site="Chợ Neo") for i in range(3)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'fleetmon.db'}")
    with engine.begin() as conn:
        apply_plan(conn, plan_import(FLEET, {}), "sheet-1.csv")
    yield engine
    engine.dispose()


def _import(store: Engine, sheet: list[Device], retire_missing: bool = False) -> None:
    with store.begin() as conn:
        apply_plan(conn, plan_import(sheet, load_devices(conn), retire_missing=retire_missing), "sheet-2.csv")


async def test_an_unchanged_inventory_is_kept_and_each_kind_of_change_is_read_at_the_next_refresh(store: Engine) -> None:
    monitor = Monitor(config=Config(), engine=store, kinds=[], worker_id="refresh")
    await monitor._refresh()
    first = monitor.view.devices
    assert set(first) == {"cam-0", "cam-1", "cam-2"}

    await monitor._refresh()
    assert monitor.view.devices is first, "an unchanged store was read again"

    _import(store, [*FLEET, Device(id="cam-9", kind=DeviceKind.CAMERA, host="127.0.0.9", area=AREA)])
    await monitor._refresh()
    assert "cam-9" in monitor.view.devices and "cam-9" in monitor.view.statuses

    _import(store, [dataclasses.replace(FLEET[0], host="127.0.0.200"), *FLEET[1:]], retire_missing=True)
    await monitor._refresh()
    assert monitor.view.devices["cam-0"].host == "127.0.0.200"
    assert "cam-9" not in monitor.view.devices and "cam-9" not in monitor.view.statuses  # retired

    with store.begin() as conn:
        areas.rename(conn, areas.AreaTree.load(conn), AREA, "Thọ Xuân mới")
    await monitor._refresh()
    assert {d.area for d in monitor.view.devices.values()} == {"Thanh Hóa / Thọ Xuân mới"}
    renamed = monitor.view.devices

    await monitor._refresh()
    assert monitor.view.devices is renamed
