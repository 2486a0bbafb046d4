"""/metrics over real HTTP on loopback: the URL `fleetmon run` prints, area scrapes, gzip, and a
big scrape that leaves the event loop free for the monitor."""

from __future__ import annotations

import asyncio
import gzip
from contextlib import AsyncExitStack

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleetmon.config import Config, ListenConfig
from fleetmon.exporters.http import start_metrics
from fleetmon.exporters.prometheus import render
from fleetmon.exporters.sample import province_view
from fleetmon.monitor.view import MonitorView


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
