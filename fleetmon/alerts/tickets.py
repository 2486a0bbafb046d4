"""Tickets in the store and the lifecycle people drive: open → acknowledged → in progress → resolved → closed.

The engine (`engine.py`) opens, resolves and reopens tickets from what monitoring sees; people
acknowledge, assign, start, resolve and close them here. Every change writes a `ticket_events`
row and, when someone should hear of it, outbox messages in the same transaction (`notify`).

Closing takes a repair record and is refused while monitoring still sees the fault. Once the
fault is gone the record is kept at once, and the ticket closes when the unit has stayed healthy
for `tickets.close_after_healthy` (the engine's timer does it if that is still ahead).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from fleetmon.config import Config
from fleetmon.inventory.model import AREA_SEPARATOR, Funding, split_area_path
from fleetmon.store.schema import ticket_events, tickets

OPEN, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, CLOSED = "open", "acknowledged", "in_progress", "resolved", "closed"
STATES = (OPEN, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, CLOSED)
ACTIVE = (OPEN, ACKNOWLEDGED, IN_PROGRESS)  # someone still has to act: one per device and fault


class TicketError(Exception):
    """A ticket action that cannot be done; the message says why, for the person who asked."""


@dataclass(frozen=True, slots=True)
class Repair:
    cause: str
    action: str
    parts: str = ""
    cost_vnd: int | None = None
    hours: float | None = None
    funding: Funding | None = None
    by: str = ""


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    subject: str
    kind: str
    state: str
    severity: str
    team: str
    device_id: str | None
    area: str
    site: str
    title: str
    detail: str
    affected: tuple[str, ...]
    assignee: str
    fault_since: datetime
    opened_at: datetime
    sla_from: datetime
    acknowledged_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    fault_cleared_at: datetime | None
    reopened: int
    escalated_at: datetime | None
    repair_overdue_at: datetime | None
    close_requested_at: datetime | None
    repair: Repair | None

    @property
    def fault_seen(self) -> bool:
        """Monitoring still sees the fault (it has not gone away since the ticket opened or reopened)."""
        return self.fault_cleared_at is None

    @classmethod
    def from_row(cls, row: Any) -> Ticket:
        names = {f.name for f in dataclasses.fields(cls)} - {"affected", "repair"}
        values = {name: row[name] for name in names}
        repair = None
        if row["repair_action"] or row["repair_cause"]:
            repair = Repair(cause=row["repair_cause"], action=row["repair_action"], parts=row["repair_parts"],
                            cost_vnd=row["repair_cost_vnd"], hours=row["repair_hours"],
                            funding=Funding(row["repair_funding"]) if row["repair_funding"] else None, by=row["repaired_by"])
        return cls(**values, affected=tuple(a for a in row["affected"].split("\n") if a), repair=repair)


def open_key(subject: str, kind: str) -> str:
    return f"{subject}|{kind}"


def get(conn: Connection, ticket_id: int) -> Ticket:
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
    if row is None:
        raise TicketError(f"no ticket #{ticket_id}")
    return Ticket.from_row(row)


def find(conn: Connection, *, states: Sequence[str] = (), area: str = "", severity: str = "", device: str = "",
         limit: int = 1000) -> list[Ticket]:
    query = select(tickets).order_by(tickets.c.id.desc()).limit(limit)
    if states:
        query = query.where(tickets.c.state.in_(states))
    if severity:
        query = query.where(tickets.c.severity == severity)
    if device:
        query = query.where(tickets.c.device_id == device)
    if area:  # the area and its subtree; ticket areas are stored as the inventory's normalised path
        path = AREA_SEPARATOR.join(split_area_path(area))
        escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(tickets.c.area == path, tickets.c.area.like(escaped + AREA_SEPARATOR + "%", escape="\\")))
    return [Ticket.from_row(r) for r in conn.execute(query).mappings()]


def events(conn: Connection, ticket_id: int) -> list[tuple[datetime, str, str, str]]:
    rows = conn.execute(select(ticket_events).where(ticket_events.c.ticket_id == ticket_id).order_by(ticket_events.c.id))
    return [(r.at, r.action, r.actor, r.detail) for r in rows]


def record(conn: Connection, ticket_id: int, at: datetime, action: str, actor: str = "", detail: str = "") -> None:
    conn.execute(insert(ticket_events).values(ticket_id=ticket_id, at=at, action=action, actor=actor, detail=detail[:4000]))


def change(conn: Connection, ticket_id: int, **values: Any) -> None:
    conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))


# -- what people do ------------------------------------------------------------------------------

Notify = Callable[[Connection, Ticket, str], None]


def _active(ticket: Ticket, doing: str) -> None:
    if ticket.state not in ACTIVE:
        raise TicketError(f"ticket #{ticket.id} is {ticket.state}: it cannot be {doing}")


def acknowledge(conn: Connection, ticket_id: int, actor: str, now: datetime) -> Ticket:
    ticket = get(conn, ticket_id)
    _active(ticket, "acknowledged")
    if ticket.state == OPEN:
        change(conn, ticket_id, state=ACKNOWLEDGED, acknowledged_at=now, assignee=ticket.assignee or actor)
        record(conn, ticket_id, now, "acknowledged", actor)
    return get(conn, ticket_id)


def assign(conn: Connection, ticket_id: int, assignee: str, actor: str, now: datetime) -> Ticket:
    ticket = get(conn, ticket_id)
    _active(ticket, "assigned")
    change(conn, ticket_id, assignee=assignee)
    record(conn, ticket_id, now, "assigned", actor, assignee)
    return get(conn, ticket_id)


def start(conn: Connection, ticket_id: int, actor: str, now: datetime) -> Ticket:
    ticket = get(conn, ticket_id)
    _active(ticket, "started")
    change(conn, ticket_id, state=IN_PROGRESS, started_at=ticket.started_at or now, acknowledged_at=ticket.acknowledged_at or now,
           assignee=ticket.assignee or actor)
    record(conn, ticket_id, now, "started", actor)
    return get(conn, ticket_id)


def _refuse_while_seen(ticket: Ticket, doing: str) -> None:
    if ticket.fault_seen:
        raise TicketError(f"ticket #{ticket.id} cannot be {doing}: monitoring still sees the fault ({ticket.detail or ticket.title}). "
                          "Repair it first; the ticket follows what the monitor sees.")


def resolve(conn: Connection, ticket_id: int, actor: str, now: datetime, note: str = "") -> Ticket:
    ticket = get(conn, ticket_id)
    _active(ticket, "resolved")
    _refuse_while_seen(ticket, "resolved")
    change(conn, ticket_id, state=RESOLVED, resolved_at=now, open_key=None)
    record(conn, ticket_id, now, "resolved", actor, note)
    return get(conn, ticket_id)


def close(conn: Connection, ticket_id: int, repair: Repair, actor: str, now: datetime, config: Config) -> Ticket:
    """Record the repair; close now if the unit has been healthy long enough, else as soon as it has."""
    ticket = get(conn, ticket_id)
    if ticket.state == CLOSED:
        raise TicketError(f"ticket #{ticket.id} is already closed")
    _refuse_while_seen(ticket, "closed as repaired")
    if not repair.cause.strip() or not repair.action.strip():
        raise TicketError("a repair record needs a cause and the action taken")
    if (repair.cost_vnd or 0) < 0 or (repair.hours or 0) < 0:
        raise TicketError("cost and hours cannot be negative")
    change(conn, ticket_id, repair_cause=repair.cause, repair_action=repair.action, repair_parts=repair.parts,
           repair_cost_vnd=repair.cost_vnd, repair_hours=repair.hours,
           repair_funding=repair.funding.value if repair.funding else None, repaired_by=repair.by or actor,
           close_requested_at=now)
    record(conn, ticket_id, now, "repair recorded", actor, f"{repair.cause}: {repair.action}")
    closed = close_if_healthy(conn, get(conn, ticket_id), now, config, actor)
    return closed or get(conn, ticket_id)


def close_if_healthy(conn: Connection, ticket: Ticket, now: datetime, config: Config, actor: str = "fleetmon") -> Ticket | None:
    """Close a ticket whose repair is recorded once its unit has been healthy for the configured time."""
    cleared = ticket.fault_cleared_at
    if ticket.state == CLOSED or ticket.close_requested_at is None or cleared is None:
        return None
    if (now - cleared).total_seconds() < config.tickets.close_after_healthy:
        return None
    change(conn, ticket.id, state=CLOSED, closed_at=now, resolved_at=ticket.resolved_at or now, open_key=None)
    record(conn, ticket.id, now, "closed", actor, f"healthy since {cleared:%Y-%m-%d %H:%M} UTC")
    return get(conn, ticket.id)
