"""The ticket engine and the notification sender as parts of `fleetmon run`.

Every worker runs both: engine steps serialise on the cursor row and senders claim messages,
so a second worker adds no duplicates, and takes over when the first dies.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from sqlalchemy import Engine

from fleetmon.alerts.engine import TicketEngine
from fleetmon.alerts.sender import Sender
from fleetmon.config import Config

log = logging.getLogger(__name__)


async def _engine_loop(engine: TicketEngine, interval: float) -> None:
    while True:
        try:
            await asyncio.to_thread(engine.run_until_caught_up)
        except Exception:
            log.exception("ticket engine step failed; it is retried from the stored cursor")
        await asyncio.sleep(interval)


async def start_tickets(config: Config, engine: Engine, worker_id: str, stack: AsyncExitStack) -> None:
    """Start the engine and the sender on the running loop; they stop when `stack` closes."""
    if not config.tickets.enabled:
        log.info("tickets disabled in the config")
        return
    tasks = [asyncio.create_task(_engine_loop(TicketEngine(config, engine, owner=worker_id), config.tickets.interval)),
             asyncio.create_task(Sender(config, engine, owner=worker_id).run(interval=min(2.0, config.tickets.interval)))]

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(stop)
    log.info("ticket engine every %g s; notification channels: %s", config.tickets.interval,
             ", ".join(config.notifications.channels) or "none configured")
