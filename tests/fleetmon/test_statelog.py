"""The state-change log survives restarts: unwatched time is unknown, nothing is written twice."""

from __future__ import annotations

from sqlalchemy import Engine, select

from fleetmon.health.model import Cause, Health, Transition
from fleetmon.store import statelog
from fleetmon.store.schema import state_changes


def states(engine: Engine, device_id: str) -> list[tuple[str, float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(state_changes.c.state, state_changes.c.at, state_changes.c.cause)
            .where(state_changes.c.device_id == device_id)
            .order_by(state_changes.c.id)
        ).all()
    return [(r.state, r.at.timestamp(), r.cause) for r in rows]


def test_take_over_records_the_unwatched_gap_as_unknown_from_the_last_heartbeat(engine: Engine) -> None:
    with engine.begin() as conn:
        statelog.write(conn, [Transition("cam", 1000.0, Health.UNKNOWN, Health.UP, "answering"),
                              Transition("nvr", 1000.0, Health.UNKNOWN, Health.DOWN, "timeout", Cause.DEVICE)])
        statelog.heartbeat(conn, "w1", 1500.0)
    with engine.begin() as conn:
        until = statelog.last_heartbeat(conn, "w1")
        resumed = statelog.take_over(conn, ["cam", "nvr", "new"], until, now=4000.0)
    assert until == 1500.0
    assert states(engine, "cam") == [("up", 1000.0, ""), ("unknown", 1500.0, "monitor")]
    assert states(engine, "nvr") == [("down", 1000.0, "device"), ("unknown", 1500.0, "monitor")]
    assert states(engine, "new") == []
    assert resumed["cam"].state is Health.UNKNOWN


def test_taking_over_twice_writes_the_gap_once(engine: Engine) -> None:
    with engine.begin() as conn:
        statelog.write(conn, [Transition("cam", 1000.0, Health.UNKNOWN, Health.UP, "answering")])
        statelog.take_over(conn, ["cam"], 1200.0, now=2000.0)
        statelog.take_over(conn, ["cam"], 1200.0, now=2100.0)
    assert [s for s, _, _ in states(engine, "cam")] == ["up", "unknown"]


def test_heartbeat_updates_in_place(engine: Engine) -> None:
    with engine.begin() as conn:
        statelog.heartbeat(conn, "w1", 10.0)
        statelog.heartbeat(conn, "w1", 20.0)
        assert statelog.last_heartbeat(conn, "w1") == 20.0
        assert statelog.last_heartbeat(conn, "w2") is None
