"""The monitor's /metrics endpoint, served by aiohttp on the monitor's own event loop.

    GET /metrics              every device this worker probes, plus fleetmon's own health
    GET /metrics?area=PATH    only the devices under area PATH ("Thanh Hóa / Thọ Xuân"),
                              plus fleetmon's own health: one scrape never carries a country

The snapshot is taken on the loop (a shallow copy); rendering runs in a worker thread, one
scrape at a time, so a big scrape delays no probe by more than the copy, and two Prometheus
servers scraping at once do not double the interpreter time taken from probing.
"""

from __future__ import annotations

import asyncio
import gzip
from contextlib import AsyncExitStack

from aiohttp import web

from fleetmon.config import Config
from fleetmon.exporters.prometheus import CONTENT_TYPE, render
from fleetmon.monitor.view import MonitorView

_VIEW = web.AppKey("view", MonitorView)
_ONE_AT_A_TIME = web.AppKey("render_lock", asyncio.Lock)

_INDEX = """<!doctype html><title>fleetmon</title>
<p><a href="/metrics">/metrics</a>: this worker's devices and fleetmon's own health.
<p>/metrics?area=Province / District: only the devices under one area.
"""


async def _metrics(request: web.Request) -> web.Response:
    area = request.query.get("area", "")
    snapshot = request.app[_VIEW].snapshot()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    async with request.app[_ONE_AT_A_TIME]:
        body = await asyncio.to_thread(_body, snapshot, area, gzipped)
    headers = {"Content-Type": CONTENT_TYPE}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


def _body(snapshot: MonitorView, area: str, gzipped: bool) -> bytes:
    text = render(snapshot, area)
    return gzip.compress(text, compresslevel=1) if gzipped else text  # zlib lets go of the GIL


async def _index(request: web.Request) -> web.Response:
    return web.Response(text=_INDEX, content_type="text/html")


def metrics_app(view: MonitorView) -> web.Application:
    app = web.Application()
    app[_VIEW] = view
    app[_ONE_AT_A_TIME] = asyncio.Lock()
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/", _index)
    return app


async def start_metrics(view: MonitorView, config: Config, stack: AsyncExitStack) -> str:
    """Serve /metrics on `config.metrics` (port 0: a free one) until `stack` closes; return its URL."""
    runner = web.AppRunner(metrics_app(view), access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, config.metrics.host, config.metrics.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/metrics"
