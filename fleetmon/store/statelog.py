"""The state-change log: one row per change of a device's health, complete across restarts.

Availability reports are computed from this log, so its invariants matter more than its speed:
no change is written twice, and time nobody watched a device is `unknown`, never `up`. When a
worker takes devices on (at start, or from a dead worker), `take_over` closes each device's
last known state with an `unknown` row at the moment the previous watcher was last alive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update

from fleetmon.health.model import NO_PROBLEMS, Cause, DeviceStatus, Health, Transition
from fleetmon.probes.findings import Problem
from fleetmon.store.schema import state_changes, workers


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def write(conn: Connection, transitions: Sequence[Transition]) -> None:
    if transitions:
        conn.execute(
            insert(state_changes),
            [{"device_id": t.device_id, "at": _when(t.at), "state": t.new.value, "reason": t.reason[:2000], "cause": t.cause.value,
              "problems": _problems_json(t.problems)} for t in transitions],
        )


MAX_KEPT_PROBLEMS = 64  # per change: a recorder with every channel failing is still one bounded row
MAX_PROBLEM_CHARS = 500


def _problems_json(problems: tuple[tuple[str, str, str], ...]) -> str | None:
    if not problems:
        return None
    kept = [[probe, key[:MAX_PROBLEM_CHARS], words[:MAX_PROBLEM_CHARS]] for probe, key, words in problems[:MAX_KEPT_PROBLEMS]]
    return json.dumps(kept, ensure_ascii=False)


def _problems(text: str | None) -> tuple[tuple[str, str, str], ...]:
    """A row's problems; rows written before they were kept, or unreadable, have none."""
    try:
        rows = json.loads(text) if text else []
        return tuple((str(probe), str(key), str(words)) for probe, key, words in rows)
    except (ValueError, TypeError):
        return ()


@dataclass(frozen=True, slots=True)
class LastState:
    state: Health
    at: float
    problems: tuple[tuple[str, str, str], ...]


def last_states(conn: Connection, device_ids: Iterable[str]) -> dict[str, LastState]:
    """Each device's newest logged state, its time and the problems it was made of."""
    ids = list(device_ids)
    found: dict[str, LastState] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        newest = (
            select(state_changes.c.device_id, func.max(state_changes.c.id).label("id"))
            .where(state_changes.c.device_id.in_(chunk))
            .group_by(state_changes.c.device_id)
            .subquery()
        )
        latest = (select(state_changes.c.device_id, state_changes.c.state, state_changes.c.at, state_changes.c.problems)
                  .join(newest, newest.c.id == state_changes.c.id))
        rows = conn.execute(latest)
        for row in rows:
            found[row.device_id] = LastState(Health(row.state), row.at.timestamp(), _problems(row.problems))
    return found


def take_over(conn: Connection, device_ids: Iterable[str], watched_until: float | None, now: float) -> dict[str, DeviceStatus]:
    """Statuses for devices this worker starts watching, writing the unwatched gap as unknown.

    `watched_until` is when the previous watcher of these devices was last alive (its
    heartbeat); None when unknown, then the gap starts at the device's last logged change.
    """
    statuses: dict[str, DeviceStatus] = {}
    gaps = []
    for device_id, last in last_states(conn, device_ids).items():
        statuses[device_id] = DeviceStatus(state=Health.UNKNOWN, since=now, problems=held_problems(last.problems) or NO_PROBLEMS)
        if last.state is not Health.UNKNOWN:
            gap_start = max(last.at, watched_until if watched_until is not None else last.at)
            reason = "not watched: the monitor was not running"
            gaps.append(Transition(device_id, min(gap_start, now), last.state, Health.UNKNOWN, reason, Cause.MONITOR,
                                   problems=last.problems))  # carried, so a second restart still knows them
    write(conn, gaps)
    return statuses


def held_problems(problems: Iterable[tuple[str, str, str]]) -> dict[str, tuple[str, ...]]:
    """Problems by probe, as the health machine keeps them: each stays until its probe looks again."""
    held: dict[str, tuple[str, ...]] = {}
    for probe, key, words in problems:
        held[probe] = (*held.get(probe, ()), Problem(words, key))
    return held


def heartbeat(conn: Connection, worker_id: str, now: float, started: float | None = None) -> None:
    values = {"heartbeat_at": _when(now)}
    if conn.execute(update(workers).where(workers.c.id == worker_id).values(values)).rowcount == 0:
        conn.execute(insert(workers).values(id=worker_id, started_at=_when(started or now), **values))


def last_heartbeat(conn: Connection, worker_id: str) -> float | None:
    at = conn.execute(select(workers.c.heartbeat_at).where(workers.c.id == worker_id)).scalar_one_or_none()
    return at.timestamp() if at is not None else None


def worker_heartbeats(conn: Connection) -> dict[str, float]:
    return {row.id: row.heartbeat_at.timestamp() for row in conn.execute(select(workers.c.id, workers.c.heartbeat_at))}
