"""The monitor's /metrics endpoint, served by aiohttp on the monitor's own event loop.

    GET /metrics              every device this worker probes, plus fleetmon's own health
    GET /metrics?area=PATH    only the devices under area PATH ("Thanh Hóa / Thọ Xuân"),
                              plus fleetmon's own health: one scrape never carries a country;
                              404 if no device of the inventory is under PATH (a mistyped
                              scrape must not look like an empty area)

A URL longer than 8 KiB is answered 414 with one warning line; requests aiohttp cannot parse at
all are one warning line too, never a traceback per request.

When its turn comes, a scrape takes a snapshot of its area on the loop (a shallow copy); rendering
runs in a worker thread, one scrape at a time, so a big scrape delays no probe by more than the
copy, and two Prometheus servers scraping at once do not double the interpreter time taken from
probing. Scrapes waiting their turn hold no copy (136,923 devices scraped per district faster
than they rendered once grew a worker past 7 GB), and one whose scraper has hung up is dropped.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from aiohttp import web

from fleetmon.config import Config
from fleetmon.exporters.prometheus import CONTENT_TYPE, render
from fleetmon.inventory.model import AREA_SEPARATOR, split_area_path
from fleetmon.monitor.view import MonitorView

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_VIEW = web.AppKey("view", MonitorView)
_ONE_AT_A_TIME = web.AppKey("render_lock", asyncio.Lock)

log = logging.getLogger(__name__)

MAX_URL_BYTES = 8 * 1024  # longer: 414, as most servers answer
_MAX_REQUEST_LINE = 1024 * 1024  # what aiohttp reads before giving up on a request line (its default is 8190)

_INDEX = """<!doctype html><title>fleetmon</title>
<p><a href="/metrics">/metrics</a>: this worker's devices and fleetmon's own health.
<p>/metrics?area=Province / District: only the devices under one area.
"""


async def _metrics(request: web.Request) -> web.Response:
    area = request.query.get("area", "")
    view = request.app[_VIEW]
    prefix = split_area_path(area)
    if area and not _known_area(view, prefix):
        raise web.HTTPNotFound(text=f"no device of the inventory is in area {AREA_SEPARATOR.join(prefix)!r}; "
                                    "areas are written from the top level, e.g. 'Thanh Hóa / Thọ Xuân'\n")
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    async with request.app[_ONE_AT_A_TIME]:
        # The snapshot is taken once it is this scrape's turn, and of its area only: scrapes waiting
        # for their turn hold no copy, so memory stays bounded when they come faster than they render.
        if request.transport is None or request.transport.is_closing():
            raise web.HTTPServiceUnavailable(text="the scraper gave up waiting\n")  # nobody would read it
        snapshot = view.snapshot(_in_area(view, prefix))
        body = await asyncio.to_thread(_body, snapshot, area, gzipped)
    headers = {"Content-Type": CONTENT_TYPE}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


def _known_area(view: MonitorView, prefix: tuple[str, ...]) -> bool:
    """Whether any device of the inventory this worker reads lies under the area `prefix`."""
    if not prefix:
        return True
    seen: set[str] = set()
    for device in view.devices.values():
        if device.area not in seen:
            seen.add(device.area)
            if split_area_path(device.area)[: len(prefix)] == prefix:
                return True
    return False


def _in_area(view: MonitorView, prefix: tuple[str, ...]) -> Callable[[str], bool] | None:
    """Whether a device lies under the area `prefix` (None: the whole fleet), each area's path split once."""
    if not prefix:
        return None
    inside: dict[str, bool] = {}

    def pick(device_id: str) -> bool:
        device = view.devices.get(device_id)
        if device is None:
            return False
        if device.area not in inside:
            inside[device.area] = split_area_path(device.area)[: len(prefix)] == prefix
        return inside[device.area]

    return pick


def _body(snapshot: MonitorView, area: str, gzipped: bool) -> bytes:
    text = render(snapshot, area)
    return gzip.compress(text, compresslevel=1) if gzipped else text  # zlib lets go of the GIL


async def _index(request: web.Request) -> web.Response:
    return web.Response(text=_INDEX, content_type="text/html")


@web.middleware
async def _bounded_url(request: web.Request, handler: Handler) -> web.StreamResponse:
    if len(request.raw_path) > MAX_URL_BYTES:
        log.warning("answered 414 to a %d-byte URL from %s", len(request.raw_path), request.remote)
        raise web.HTTPRequestURITooLong(text=f"URL longer than {MAX_URL_BYTES} bytes\n")
    return await handler(request)


class _OneLine(logging.Filter):
    """aiohttp's own 'Error handling request' (a request it could not parse): one warning line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno >= logging.ERROR:
            exc = record.exc_info[1]
            reason = f"{type(exc).__name__}: {exc}" if exc is not None else "?"
            record.msg, record.args = "%s: %s", (record.getMessage(), " ".join(reason.split())[:200])
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_SERVER_LOG = logging.getLogger(__name__ + ".server")
_SERVER_LOG.addFilter(_OneLine())


def metrics_app(view: MonitorView) -> web.Application:
    app = web.Application(middlewares=[_bounded_url])
    app[_VIEW] = view
    app[_ONE_AT_A_TIME] = asyncio.Lock()
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/", _index)
    return app


async def start_metrics(view: MonitorView, config: Config, stack: AsyncExitStack) -> str:
    """Serve /metrics on `config.metrics` (port 0: a free one) until `stack` closes; return its URL."""
    runner = web.AppRunner(metrics_app(view), access_log=None, logger=_SERVER_LOG, max_line_size=_MAX_REQUEST_LINE)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, config.metrics.host, config.metrics.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/metrics"
