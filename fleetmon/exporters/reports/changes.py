"""Reading the state-change log for a period: each device's state at the start, and its changes.

Queries go in chunks of device ids (IN lists stay short on both backends) and use the
(device_id, at) index; rows of the same instant keep the order they were written in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from fleetmon.exporters.reports.availability import Change
from fleetmon.health.model import Cause, Health
from fleetmon.store.schema import state_changes

CHUNK = 5000


@dataclass(slots=True)
class History:
    before: Change | None = None  # the last change before the period: its state carries in
    during: list[Change] = field(default_factory=list)
    after: Change | None = None  # the first change after the period: tells how an outage at the end ended


_CAUSES = {c.value: c for c in Cause}


def _change(row: Any) -> Change:  # a Row of the columns below
    return Change(row.at.timestamp(), Health(row.state), row.reason, _CAUSES.get(row.cause, Cause.NONE))


def load_histories(conn: Connection, device_ids: Iterable[str], start: datetime, end: datetime) -> dict[str, History]:
    ids = sorted(set(device_ids))
    found: dict[str, History] = {device_id: History() for device_id in ids}
    columns = (state_changes.c.id, state_changes.c.device_id, state_changes.c.at, state_changes.c.state,
               state_changes.c.reason, state_changes.c.cause)
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        during = (select(*columns)
                  .where(state_changes.c.device_id.in_(chunk), state_changes.c.at >= start, state_changes.c.at < end)
                  .order_by(state_changes.c.device_id, state_changes.c.at, state_changes.c.id))
        for row in conn.execute(during):
            found[row.device_id].during.append(_change(row))
        for edge, newest in ((state_changes.c.at < start, True), (state_changes.c.at >= end, False)):
            pick = func.max(state_changes.c.at) if newest else func.min(state_changes.c.at)
            bound = select(state_changes.c.device_id, pick.label("at")).where(state_changes.c.device_id.in_(chunk), edge)
            bound_q = bound.group_by(state_changes.c.device_id).subquery()
            query = (select(*columns)
                     .join(bound_q, and_(bound_q.c.device_id == state_changes.c.device_id, bound_q.c.at == state_changes.c.at))
                     .order_by(state_changes.c.id))
            for row in conn.execute(query):
                history = found[row.device_id]
                if newest:
                    history.before = _change(row)  # ids ascend: the last written at that instant wins
                elif history.after is None:
                    history.after = _change(row)
    return found
