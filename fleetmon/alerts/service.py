"""The ticket engine and the notification sender as parts of `fleetmon run`.

Every worker runs both: engine steps serialise on the cursor row and senders claim messages,
so a second worker adds no duplicates, and takes over when the first dies.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Engine, func, select

from fleetmon.alerts import amwebhook
from fleetmon.alerts.engine import TicketEngine
from fleetmon.alerts.sender import Sender
from fleetmon.alerts.tickets import ACTIVE
from fleetmon.config import Config
from fleetmon.monitor.view import MonitorView
from fleetmon.store.inventory import DeviceCache
from fleetmon.store.schema import tickets

log = logging.getLogger(__name__)


def count_tickets(engine: Engine) -> tuple[dict[tuple[str, str, str, str], int], dict[tuple[str, str], int]]:
    """Open tickets by (area, kind, severity, state), and SLA breaches by (area, sla), for /metrics."""
    c = tickets.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.area, c.kind, c.severity, c.state, c.escalated_at.is_not(None).label("escalated"),
                                   c.repair_overdue_at.is_not(None).label("overdue"), func.count().label("n"))
                            .where(c.state.in_(ACTIVE)).group_by(c.area, c.kind, c.severity, c.state, "escalated", "overdue")).all()
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    breaches: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.area, row.kind, row.severity, row.state)] += row.n
        if row.escalated:
            breaches[(row.area, "acknowledge")] += row.n
        if row.overdue:
            breaches[(row.area, "repair")] += row.n
    return dict(counts), dict(breaches)


async def _engine_loop(engine: TicketEngine, interval: float, view: MonitorView | None) -> None:
    while True:
        try:
            await asyncio.to_thread(engine.run_until_caught_up)
            if view is not None:
                view.tickets, view.ticket_sla_breaches = await asyncio.to_thread(count_tickets, engine.engine)
        except Exception:
            log.exception("ticket engine step failed; it is retried from the stored cursor")
        await asyncio.sleep(interval)


async def start_tickets(config: Config, engine: Engine, worker_id: str, stack: AsyncExitStack, view: MonitorView | None = None,
                        inventory: DeviceCache | None = None) -> None:
    """Start the engine and the sender on the running loop; they stop when `stack` closes.

    With `view`, the ticket counts /metrics exports are kept in it; with `inventory`, the engine
    reads the devices the monitor has read (one copy of the fleet per process).
    """
    if not config.tickets.enabled:
        log.info("tickets disabled in the config")
        return
    ticket_engine = TicketEngine(config, engine, owner=worker_id, inventory=inventory)
    tasks = [asyncio.create_task(_engine_loop(ticket_engine, config.tickets.interval, view)),
             asyncio.create_task(Sender(config, engine, owner=worker_id).run(interval=min(2.0, config.tickets.interval)))]

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(stop)
    if config.tickets.alertmanager_webhook is not None:
        url = await start_alertmanager_webhook(config, engine, stack)
        log.info("accepting Alertmanager webhooks at %s", url)
    log.info("ticket engine every %g s; notification channels: %s", config.tickets.interval,
             ", ".join(config.notifications.channels) or "none configured")


def _ingest(engine: Engine, payload: Any) -> int:
    with engine.begin() as conn:
        return amwebhook.ingest(conn, payload, datetime.now(UTC))


async def start_alertmanager_webhook(config: Config, engine: Engine, stack: AsyncExitStack) -> str:
    """Serve POST /alertmanager on `tickets.alertmanager_webhook`; the URL to give Alertmanager."""
    listen = config.tickets.alertmanager_webhook
    assert listen is not None

    async def receive(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            taken = await asyncio.to_thread(_ingest, engine, payload)
        except (ValueError, amwebhook.PayloadError) as exc:
            return web.json_response({"error": str(exc)[:200]}, status=400)
        return web.json_response({"alerts": taken})

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/alertmanager", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, listen.host, listen.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else listen.port
    return f"http://{listen.host}:{port}/alertmanager"
