"""The sender: delivers the outbox, retrying with exponential backoff; every worker may run one.

Messages are claimed for a lease before sending and marked sent after, each in its own short
transaction (no transaction stays open across network calls). A channel that is down delays its
messages, not the others'; after `notifications.give_up_after` attempts a message is marked
failed and stays in the outbox for a person to look at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, select

from fleetmon.alerts import outbox
from fleetmon.alerts.channels import DeliveryError, push_alerts, send
from fleetmon.alerts.tickets import ACTIVE, Ticket
from fleetmon.config import AlertmanagerChannel, Config
from fleetmon.store.schema import tickets

log = logging.getLogger(__name__)

ALERTMANAGER_REFRESH_SECONDS = 60.0


class Sender:
    def __init__(self, config: Config, engine: Engine, owner: str = "fleetmon", clock: Callable[[], float] = time.time,
                 client: httpx.AsyncClient | None = None) -> None:
        self.config, self.engine, self.owner, self.clock = config, engine, owner, clock
        self._client = client
        self._last_refresh = -1e18

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _claim(self) -> list[outbox.Pending]:
        with self.engine.begin() as conn:
            return outbox.claim(conn, self.owner, self._now(), self.config.notifications.claim_for)

    def _sent(self, message: outbox.Pending) -> None:
        with self.engine.begin() as conn:
            outbox.mark_sent(conn, message.id, self.owner, self._now())

    def _failed(self, message: outbox.Pending, error: str) -> None:
        with self.engine.begin() as conn:
            gave_up = outbox.mark_failed(conn, message, error, self._now(), self.config.notifications)
        level = logging.ERROR if gave_up else logging.WARNING
        log.log(level, "message %d (%s, ticket #%s) to %s not delivered: %s%s", message.id, message.event, message.ticket_id,
                message.channel, error, "; given up" if gave_up else "; will retry")

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """Send what is due now; the number delivered."""
        delivered = 0
        while batch := await asyncio.to_thread(self._claim):
            for message in batch:
                channel = self.config.notifications.channels.get(message.channel)
                try:
                    if channel is None:
                        raise DeliveryError(f"no channel named {message.channel!r} in the config")
                    await send(channel, message, client)
                except DeliveryError as exc:
                    await asyncio.to_thread(self._failed, message, str(exc))
                    continue
                await asyncio.to_thread(self._sent, message)
                delivered += 1
                log.info("message %d (%s, ticket #%s) sent to %s", message.id, message.event, message.ticket_id, message.channel)
        return delivered

    def _open_alerts(self) -> list[dict[str, object]]:
        now = self._now()
        with self.engine.connect() as conn:
            rows = conn.execute(select(tickets).where(tickets.c.state.in_(ACTIVE))).mappings().all()
        return [outbox.alert(Ticket.from_row(r), now, r["title"], r["detail"]) for r in rows]

    async def refresh_alertmanager(self, client: httpx.AsyncClient) -> None:
        channels = [c for c in self.config.notifications.channels.values() if isinstance(c, AlertmanagerChannel)]
        if not channels or self.clock() - self._last_refresh < ALERTMANAGER_REFRESH_SECONDS:
            return
        self._last_refresh = self.clock()
        alerts = await asyncio.to_thread(self._open_alerts)
        for channel in channels:
            try:
                await push_alerts(channel, alerts, client)
            except DeliveryError as exc:
                log.warning("open tickets not pushed to Alertmanager: %s", exc)

    async def run(self, interval: float = 2.0) -> None:
        given: AbstractAsyncContextManager[httpx.AsyncClient] = (
            httpx.AsyncClient(trust_env=False) if self._client is None else nullcontext(self._client))  # not ours to close
        async with given as client:
            while True:
                try:
                    await self.deliver_due(client)
                    await self.refresh_alertmanager(client)
                except Exception:
                    log.exception("notification sender step failed; retrying")
                await asyncio.sleep(interval)

