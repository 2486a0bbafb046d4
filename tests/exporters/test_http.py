"""/metrics over real HTTP on loopback: the URL `fleetmon run` prints, area scrapes, gzip, and a
big scrape that leaves the event loop free for the monitor."""

from __future__ import annotations

import asyncio
import gzip
import logging
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleetmon.config import Config, ListenConfig
from fleetmon.exporters.http import start_metrics
from fleetmon.exporters.prometheus import render
from fleetmon.exporters.sample import province_view
from fleetmon.monitor.view import MonitorView
from tests.peers import need_binary


def config(port: int = 0) -> Config:
    return Config(metrics=ListenConfig(host="127.0.0.1", port=port))


@pytest.fixture(scope="module")
def view() -> MonitorView:
    return province_view(cameras=300)


async def test_port_zero_serves_on_the_port_the_url_names(view: MonitorView) -> None:
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        assert url.startswith("http://127.0.0.1:") and not url.startswith("http://127.0.0.1:0/")
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = await response.read()
    assert body == render(view)
    with pytest.raises(aiohttp.ClientConnectionError):  # closed with the stack
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            await response.read()


async def test_area_query_narrows_the_scrape(view: MonitorView) -> None:
    area = "Thanh Hóa / TP Thanh Hóa"
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        async with aiohttp.ClientSession() as session, session.get(url, params={"area": area}) as response:
            text = await response.text()
    devices = {s.labels["device"] for f in text_string_to_metric_families(text) for s in f.samples if s.name == "fleetmon_device_state"}
    assert devices and devices == {i for i, d in view.devices.items() if d.area.startswith(area + " / ")}
    assert len(devices) < len(view.statuses)
    worker = [s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "fleetmon_worker_devices"]
    assert worker == [len(view.statuses)]  # the worker's share, though only the area's statuses were copied
    assert render(view.snapshot(lambda i: i in devices), area) == render(view, area)


async def test_a_district_scrape_copies_the_district_not_the_fleet(view: MonitorView, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scrapes of a 136,000-device worker per district copied the whole fleet each, and piled up."""
    copies: list[int] = []
    taking = MonitorView.snapshot

    def counted(self: MonitorView, only=None):  # type: ignore[no-untyped-def]
        copy = taking(self, only)
        copies.append(len(copy.statuses))
        return copy

    monkeypatch.setattr(MonitorView, "snapshot", counted)
    area = "Thanh Hóa / TP Thanh Hóa"
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        async with aiohttp.ClientSession() as session:
            async def scrape() -> int:
                async with session.get(url, params={"area": area}) as response:
                    await response.read()
                    return response.status

            assert await asyncio.gather(*(scrape() for _ in range(8))) == [200] * 8
    in_area = sum(1 for d in view.devices.values() if d.area.startswith(area + " / "))
    assert copies == [in_area] * 8


async def test_gzip_when_prometheus_asks_for_it(view: MonitorView) -> None:
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        async with aiohttp.ClientSession(auto_decompress=False) as session, \
                session.get(url, headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            raw = await response.read()
    assert gzip.decompress(raw) == render(view)
    assert len(raw) < len(render(view)) / 5


async def test_a_province_scrape_leaves_the_loop_serving() -> None:
    """While a 15,000-device exposition renders, the loop still answers other requests."""
    province = province_view()
    async with AsyncExitStack() as stack:
        url = await start_metrics(province, config(), stack)
        async with aiohttp.ClientSession() as session:
            scrape = asyncio.create_task(session.get(url))
            await asyncio.sleep(0.05)  # the scrape has started rendering
            async with session.get(url.removesuffix("metrics")) as index:
                assert index.status == 200
            assert not scrape.done()
            response = await scrape
            assert response.status == 200 and len(await response.read()) > 10_000_000


async def test_an_unknown_area_is_404_with_the_reason(view: MonitorView) -> None:
    """A mistyped `area=` in a scrape config must not look like an empty area."""
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        async with aiohttp.ClientSession() as session:
            async with session.get(url, params={"area": "Thanh Hoa / TP Thanh Hoa"}) as response:  # no diacritics: a typo
                assert response.status == 404
                assert "no device of the inventory is in area 'Thanh Hoa / TP Thanh Hoa'" in await response.text()
            async with session.get(url, params={"area": "Thanh Hóa"}) as response:
                assert response.status == 200


async def test_an_overlong_url_is_414_with_one_warning_line(view: MonitorView, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        async with aiohttp.ClientSession() as session:
            for size in (9_000, 9_000, 2_000_000):  # beyond what the server reads of a request line too
                async with session.get(url, params={"area": "x" * size}) as response:
                    assert response.status in ((414,) if size < 1_000_000 else (400, 414))
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 3
    assert all(r.levelno == logging.WARNING and r.exc_info is None and "\n" not in r.getMessage() for r in loud)
    assert all(len(r.getMessage()) < 300 for r in loud)


async def test_promtool_accepts_a_real_scrape(view: MonitorView, tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        url = await start_metrics(view, config(), stack)
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            body = await response.read()
    assert b"fleetmon_probe_duration_seconds{" in body
    done = await asyncio.to_thread(subprocess.run, [need_binary("promtool"), "check", "metrics"], input=body,
                                   capture_output=True, timeout=120)
    # promtool's lint also asks for units and _total suffixes; what it calls an error (non-zero exit) must not happen
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
