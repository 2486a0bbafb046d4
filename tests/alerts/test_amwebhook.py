"""A real Alertmanager's webhook opens a ticket, and its resolution resolves it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from fleetmon.alerts import amwebhook, tickets
from fleetmon.alerts.engine import TicketEngine
from fleetmon.alerts.service import start_alertmanager_webhook
from fleetmon.config import parse_config
from tests.alerts.conftest import running_alertmanager
from tests.peers import free_port


async def eventually(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


async def test_an_alert_routed_by_alertmanager_to_fleetmon_opens_and_resolves_a_ticket(tmp_path: Path, store: Engine) -> None:
    port = free_port()
    config = parse_config({"tickets": {"confirm_clear": 0, "alertmanager_webhook": {"host": "127.0.0.1", "port": port}}})
    engine = TicketEngine(config, store)

    def ticket_states() -> list[tuple[str, str, str]]:
        engine.run_until_caught_up()
        with store.connect() as conn:
            return [(t.kind, t.state, t.title) for t in tickets.find(conn)]

    async with AsyncExitStack() as stack:
        url = await start_alertmanager_webhook(config, store, stack)
        with running_alertmanager(tmp_path, webhook=url) as alertmanager:
            alert = {"labels": {"alertname": "UpsOnBattery", "device": "nvr-0012-1", "severity": "warning"},
                     "annotations": {"summary": "the site's UPS runs on battery"},
                     "startsAt": datetime.now(UTC).isoformat()}
            async with httpx.AsyncClient() as client:
                (await client.post(f"{alertmanager}/api/v2/alerts", json=[alert])).raise_for_status()
                await eventually("the ticket", lambda: ticket_states() == [
                    ("external", "open", "nvr-0012-1/UpsOnBattery: the site's UPS runs on battery")])
                ended = dict(alert, endsAt=(datetime.now(UTC) - timedelta(seconds=1)).isoformat())
                (await client.post(f"{alertmanager}/api/v2/alerts", json=[ended])).raise_for_status()
                await eventually("the resolution", lambda: [s for _, s, _ in ticket_states()] == ["resolved"])


def test_fleetmons_own_alerts_coming_back_are_ignored_and_garbage_is_refused(engine: Engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        own = {"status": "firing", "labels": {"alertname": "FleetmonTicket", "device": "cam-1"}, "startsAt": now.isoformat()}
        assert amwebhook.ingest(conn, {"version": "4", "alerts": [own]}, now) == 0
        with pytest.raises(amwebhook.PayloadError):
            amwebhook.ingest(conn, ["not", "a", "payload"], now)
