"""Inventory reloads and snapshots at once: the status map is only ever changed on the event loop.

The exporter takes `view.snapshot()` on the loop while reloads run; a reload that changed the
map from its worker thread made a snapshot fail with "dictionary changed size during iteration",
or show half of one worker's share and half of another.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleetmon.config import Config
from fleetmon.exporters.prometheus import render
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.monitor.service import Monitor, Ownership
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan

DEVICES = 4000
RELOADS = 20


class Alternating(Ownership):
    """Owns the even-numbered devices, then the odd ones, switching at every reload: a share handed back and forth."""

    def __init__(self) -> None:
        self.parity = 0

    def owns(self, device_id: str) -> bool:
        return int(device_id.rsplit("-", 1)[1]) % 2 == self.parity


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'fleetmon.db'}")
    fleet = [Device(id=f"cam-{i}", kind=DeviceKind.CAMERA, host="127.0.0.1", area="Thanh Hóa / Thọ Xuân") for i in range(DEVICES)]
    with engine.begin() as conn:
        apply_plan(conn, plan_import(fleet, {}), "test")
    yield engine
    engine.dispose()


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch far more often than the default 5 ms, so a race shows in a few reloads."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_switching")
async def test_reloading_while_scraping_never_shows_a_half_applied_map(store: Engine) -> None:
    ownership = Alternating()
    monitor = Monitor(config=Config(), engine=store, kinds=[], worker_id="race", ownership=ownership)
    await monitor._refresh()
    shares = [{f"cam-{i}" for i in range(DEVICES) if i % 2 == parity} for parity in (0, 1)]
    assert set(monitor.view.statuses) == shares[0]
    reloading = True
    snapshots = 0
    renders: list[asyncio.Future[bytes]] = []

    async def reload_many() -> None:
        nonlocal reloading
        for _ in range(RELOADS):
            ownership.parity ^= 1
            await monitor._refresh()
        reloading = False

    async def scrape() -> None:
        nonlocal snapshots
        while reloading:
            snapshot = monitor.view.snapshot()  # on the loop, as the /metrics handler takes it
            assert set(snapshot.statuses) in shares, "a snapshot holds parts of two shares"
            assert snapshot.statuses.keys() <= snapshot.devices.keys()
            snapshots += 1
            if snapshots % 200 == 0:  # and rendered in a thread, as it is served
                renders.append(asyncio.ensure_future(asyncio.to_thread(render, snapshot)))
            await asyncio.sleep(0)

    await asyncio.gather(reload_many(), scrape())
    bodies = await asyncio.gather(*renders)
    assert snapshots > RELOADS
    assert set(monitor.view.statuses) == shares[RELOADS % 2]
    assert all(b.count(b"\nfleetmon_device_state{") == DEVICES // 2 for b in bodies)
