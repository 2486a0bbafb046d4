"""The audit log: who changed what, when and from where. Written in the transaction of the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from fleetmon.store.schema import audit_log, utcnow


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    actor: str
    action: str
    target: str
    detail: str
    address: str


def record(conn: Connection, actor: str, action: str, target: str = "", detail: str = "", address: str = "") -> None:
    conn.execute(insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target[:2000], detail=detail[:4000],
                                          address=address[:64]))


def recent(conn: Connection, limit: int = 200, actor: str = "") -> list[Entry]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    return [Entry(r.at, r.actor, r.action, r.target, r.detail, r.address) for r in conn.execute(query)]
