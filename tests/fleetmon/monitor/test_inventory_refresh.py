"""The monitor's minutely inventory refresh: an unchanged store is not read again, every kind of change is.

A province is 136,923 rows; reading them every minute cost a worker a second of CPU and a fresh
163 MiB of device records each time, for an inventory that changes a few times a month.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, update

from fleetmon.config import Config
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.service import Monitor
from fleetmon.store import areas
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import DeviceCache, apply_plan, load_devices, record_clock_correction
from fleetmon.store.schema import devices, inventory_changes

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


async def test_a_change_reads_only_the_devices_it_names_and_keeps_every_other_record(store: Engine) -> None:
    """A re-import of 1 % of a province, or a clock set right, must not build a second copy of the fleet."""
    monitor = Monitor(config=Config(), engine=store, kinds=[], worker_id="refresh")
    await monitor._refresh()
    first = monitor.view.devices

    _import(store, [dataclasses.replace(FLEET[0], host="127.0.0.200"), *FLEET[1:]])
    with store.begin() as conn:
        record_clock_correction(conn, "cam-1", "onvif", 400.0, 0.0)
    await monitor._refresh()
    after = monitor.view.devices
    assert after["cam-0"].host == "127.0.0.200"
    assert after["cam-2"] is first["cam-2"], "an unchanged device was read again"
    assert after["cam-1"] == first["cam-1"], "a device named by the log is read again, as it now is"

    _import(store, FLEET[1:], retire_missing=True)
    await monitor._refresh()
    assert set(monitor.view.devices) == {"cam-1", "cam-2"}
    assert monitor.view.devices["cam-2"] is first["cam-2"]


def test_a_change_log_row_committed_late_with_a_lower_number_is_not_missed(store: Engine) -> None:
    """PostgreSQL numbers a row at insert and may commit it after a higher one: a reader that saw
    id 3 may later see id 2 appear. The log's count tells, and then everything is read."""
    with store.begin() as conn:
        conn.execute(delete(inventory_changes).where(inventory_changes.c.id == 2))  # a number not yet committed
    cache = DeviceCache()
    with store.connect() as conn:
        first = cache.read(conn)
    with store.begin() as conn:
        conn.execute(update(devices).where(devices.c.id == "cam-2").values(host="127.0.0.202"))
        conn.execute(insert(inventory_changes).values(id=2, device_id="cam-2", action="changed", source="late"))
        conn.execute(insert(inventory_changes).values(id=4, device_id="cam-0", action="changed", source="on time"))
    with store.connect() as conn:
        found = cache.read(conn)
    assert found["cam-2"].host == "127.0.0.202"
    assert found["cam-1"] is not first["cam-1"], "the whole inventory was read"
