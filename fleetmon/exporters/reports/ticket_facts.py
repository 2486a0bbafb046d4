"""The tickets a report needs, read from the store's `tickets` table (written by `fleetmon.alerts`).

Reports and tickets are siblings that never import each other: both meet at the store's schema.
A site ticket (a whole site offline) has no device of its own and counts under the first unit it
lists, so its repair cost lands in the site's area.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, or_, select

from fleetmon.exporters.reports.repairs import RepairFacts
from fleetmon.inventory.model import Funding
from fleetmon.store.schema import tickets


def repair_facts(conn: Connection, start: datetime, end: datetime) -> list[RepairFacts]:
    """Every ticket alive during [start, end): opened before its end and not resolved before its start."""
    query = select(tickets.c.device_id, tickets.c.affected, tickets.c.opened_at, tickets.c.acknowledged_at,
                   tickets.c.resolved_at, tickets.c.repair_cost_vnd, tickets.c.repair_funding).where(
        tickets.c.opened_at < end, or_(tickets.c.resolved_at.is_(None), tickets.c.resolved_at >= start))
    facts = []
    for row in conn.execute(query):
        device = row.device_id or next((line.strip() for line in (row.affected or "").splitlines() if line.strip()), "")
        if not device:
            continue
        facts.append(RepairFacts(device_id=device, opened_at=row.opened_at, acknowledged_at=row.acknowledged_at,
                                 resolved_at=row.resolved_at, cost_vnd=row.repair_cost_vnd,
                                 funding=Funding(row.repair_funding) if row.repair_funding else None))
    return facts
