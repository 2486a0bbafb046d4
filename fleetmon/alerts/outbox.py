"""The notification outbox: messages written in the transaction that changed their ticket, sent later.

    ticket change ─► enqueue (same transaction) ─► notification_outbox ─► sender claims ─► channel ─► sent_at

A crash before the commit loses the change and its messages together; after it, the sender finds
them. Several senders claim rows one at a time with a conditional UPDATE and a lease, so a row is
sent by one of them; a sender killed between delivering and marking a message sends it again on
restart (at least once, never silently lost). Each message carries its outbox id (email
Message-ID, webhook `Idempotency-Key`) so a receiver can drop that rare repeat.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from fleetmon.alerts.messages import render, render_digest
from fleetmon.alerts.tickets import Ticket
from fleetmon.config import OWNER_TEAM, AlertmanagerChannel, Config, NotificationsConfig
from fleetmon.inventory.model import Device, split_area_path
from fleetmon.store.schema import notification_outbox

ALERTNAME = "FleetmonTicket"


def _longest_prefix(area: str, table: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    path = split_area_path(area)
    best: tuple[int, tuple[str, ...]] | None = None
    for prefix, channels in table.items():
        wanted = split_area_path(prefix)
        if path[: len(wanted)] == wanted and (best is None or len(wanted) > best[0]):
            best = (len(wanted), channels)
    return best[1] if best else None


def route(config: Config, ticket: Ticket, to_lead: bool = False) -> tuple[str, ...]:
    """Channels for a ticket: its team's (by the longest matching area prefix), the area lead's on escalation,
    or the owner channels while a household camera's owner is asked first."""
    notifications = config.notifications
    if ticket.team == OWNER_TEAM and not to_lead:
        return config.tickets.owner_first.channels if config.tickets.owner_first else ()
    if to_lead:
        return _longest_prefix(ticket.area, notifications.leads) or ()
    team = notifications.teams.get(ticket.team)
    if team is None:
        return ()
    return _longest_prefix(ticket.area, team.areas) or team.channels


def alert(ticket: Ticket, now: datetime, summary: str, body: str) -> dict[str, Any]:
    """The ticket as an Alertmanager v2 alert; resolved and closed tickets end now."""
    labels = {"alertname": ALERTNAME, "ticket": str(ticket.id), "kind": ticket.kind, "severity": ticket.severity,
              "team": ticket.team, "area": ticket.area, "site": ticket.site, "device": ticket.device_id or ""}
    found: dict[str, Any] = {"labels": {k: v for k, v in labels.items() if v},
                             "annotations": {"summary": summary, "description": body},
                             "startsAt": ticket.fault_since.isoformat()}
    if ticket.state in ("resolved", "closed"):
        found["endsAt"] = now.isoformat()
    return found


@dataclass(frozen=True, slots=True)
class Notice:
    """Someone should hear of `event` on `ticket`: its team, or the area's lead."""

    ticket: Ticket
    event: str
    device: Device | None = None
    to_lead: bool = False
    note: str = ""


def _ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {"id": ticket.id, "kind": ticket.kind, "state": ticket.state, "severity": ticket.severity, "team": ticket.team,
            "title": ticket.title, "detail": ticket.detail, "area": ticket.area, "site": ticket.site, "device": ticket.device_id,
            "affected": list(ticket.affected), "assignee": ticket.assignee, "since": ticket.fault_since.isoformat()}


def _device_json(device: Device | None) -> dict[str, Any] | None:
    if device is None:
        return None
    return {"id": device.id, "kind": device.kind.value, "host": device.host, "address": device.address,
            "latitude": device.latitude, "longitude": device.longitude, "owner_contact": device.owner_contact,
            "funding": device.funding.value if device.funding else None}


def enqueue(conn: Connection, config: Config, notices: Sequence[Notice], now: datetime) -> int:
    """Outbox rows for everyone who should hear of these; returns how many rows.

    More than `notifications.group_over` notices for one channel become one digest message
    (a district's power cut is one message per team, not hundreds); Alertmanager, which groups
    alerts itself, gets every alert.
    """
    notifications = config.notifications
    by_channel: dict[str, list[Notice]] = defaultdict(list)
    for notice in notices:
        if notice.ticket.team == OWNER_TEAM and notice.event != "ask_owner":
            continue  # an owner is asked once; what follows is the technicians' business
        for name in route(config, notice.ticket, notice.to_lead):
            by_channel[name].append(notice)
    rows = []
    base = {"created_at": now, "next_attempt_at": now, "attempts": 0, "last_error": ""}
    for name, items in by_channel.items():
        if len(items) > notifications.group_over and not isinstance(notifications.channels[name], AlertmanagerChannel):
            digest = render_digest([(n.ticket, n.event) for n in items], language=notifications.language, link=notifications.link)
            payload: dict[str, Any] = {"event": "digest", "tickets": [dict(_ticket_json(n.ticket), event=n.event) for n in items]}
            rows.append({"ticket_id": None, "channel": name, "event": "digest", "subject": digest.subject, "body": digest.body,
                         "payload": json.dumps(payload, ensure_ascii=False), **base})
            continue
        for n in items:
            message = render(n.ticket, n.event, n.device, language=notifications.language, link=notifications.link, note=n.note)
            payload = {"event": n.event, "ticket": _ticket_json(n.ticket), "alert": alert(n.ticket, now, message.subject, message.body),
                       "device": _device_json(n.device)}
            rows.append({"ticket_id": n.ticket.id, "channel": name, "event": n.event, "subject": message.subject, "body": message.body,
                         "payload": json.dumps(payload, ensure_ascii=False), **base})
    if rows:
        conn.execute(insert(notification_outbox), rows)
    return len(rows)


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    ticket_id: int | None
    channel: str
    event: str
    subject: str
    body: str
    payload: dict[str, Any]
    attempts: int


def claim(conn: Connection, owner: str, now: datetime, lease: float, limit: int = 20) -> list[Pending]:
    """Due messages no live sender holds, now held by `owner` for `lease` seconds."""
    free = or_(notification_outbox.c.claimed_until.is_(None), notification_outbox.c.claimed_until < now)
    due = and_(notification_outbox.c.sent_at.is_(None), notification_outbox.c.failed_at.is_(None),
               notification_outbox.c.next_attempt_at <= now, free)
    candidates = conn.execute(select(notification_outbox).where(due).order_by(notification_outbox.c.id).limit(limit)).mappings().all()
    mine = []
    for row in candidates:
        taken = conn.execute(update(notification_outbox).where(notification_outbox.c.id == row["id"], due)
                             .values(claimed_by=owner, claimed_until=now + timedelta(seconds=lease)))
        if taken.rowcount == 1:
            mine.append(Pending(id=row["id"], ticket_id=row["ticket_id"], channel=row["channel"], event=row["event"],
                                subject=row["subject"], body=row["body"], payload=json.loads(row["payload"]), attempts=row["attempts"]))
    return mine


def mark_sent(conn: Connection, message_id: int, owner: str, now: datetime) -> None:
    conn.execute(update(notification_outbox).where(notification_outbox.c.id == message_id)
                 .values(sent_at=now, claimed_by=owner, claimed_until=None, attempts=notification_outbox.c.attempts + 1))


def mark_failed(conn: Connection, message: Pending, error: str, now: datetime, notifications: NotificationsConfig) -> bool:
    """Schedule the next attempt with exponential backoff; True when the message is given up."""
    attempts = message.attempts + 1
    give_up = attempts >= notifications.give_up_after
    delay = min(notifications.retry_max, notifications.retry_initial * 2 ** (attempts - 1))
    conn.execute(update(notification_outbox).where(notification_outbox.c.id == message.id).values(
        attempts=attempts, last_error=error[:1000], claimed_until=None, next_attempt_at=now + timedelta(seconds=delay),
        failed_at=now if give_up else None))
    return give_up


def unsent(conn: Connection) -> int:
    return len(conn.execute(select(notification_outbox.c.id).where(notification_outbox.c.sent_at.is_(None),
                                                                    notification_outbox.c.failed_at.is_(None))).all())
