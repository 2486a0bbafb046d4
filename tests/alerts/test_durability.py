"""Nothing lost, nothing doubled: the engine's place in the log is in the store, and steps run one at a time."""

from __future__ import annotations

import threading
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from fleetmon.store.schema import metadata, ticket_cursor
from tests.alerts.conftest import camera


def test_a_restarted_engine_carries_on_where_the_last_stopped(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1", site="Chợ"), camera("cam-2", site="Trường")])
    fleet.sweep()
    fleet.wait(900, down=["cam-1"])
    fleet.engine = fleet.new_engine()  # a restart: memory gone, the store kept
    fleet.wait(900, down=["cam-1", "cam-2"])
    fleet.engine = fleet.new_engine()
    fleet.wait(1800)
    assert sorted((t.subject, t.state) for t in fleet.tickets()) == [("cam-1", "resolved"), ("cam-2", "resolved")]
    assert [e for _, e, _ in fleet.messages()] == ["opened", "opened", "resolved", "resolved"]


def test_changes_written_while_no_engine_ran_are_caught_up(make_fleet: Any) -> None:
    fleet = make_fleet([camera("cam-1")])
    fleet.sweep()
    for _ in range(20):
        fleet.sweep(down=["cam-1"], step=False)
    fleet.engine = fleet.new_engine()
    fleet.step()
    [ticket] = fleet.tickets()
    assert ticket.kind == "device_down"


def test_two_workers_engines_on_one_store_make_each_ticket_once(make_fleet: Any) -> None:
    fleet = make_fleet([camera(f"cam-{n}", site=f"Thôn {n}") for n in range(8)])
    engines = [fleet.engine, fleet.new_engine("w2")]
    fleet.sweep()
    for minute in range(40):
        fleet.sweep(down=[f"cam-{n}" for n in range(8) if (minute // 10 + n) % 3 == 0], step=False)
        threads = [threading.Thread(target=e.run_until_caught_up) for e in engines if e is not None]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    opened = [(t, e) for t, e, _ in fleet.messages() if e in ("opened", "reopened")]
    assert len(opened) == len(set(opened))
    per_device = {t.subject for t in fleet.tickets("open", "acknowledged", "in_progress")}
    assert len(per_device) == len(fleet.tickets("open", "acknowledged", "in_progress"))
    with fleet.store.connect() as conn:
        cursor = conn.execute(select(ticket_cursor.c.last_change_id)).scalar_one()
    assert cursor > 0


def test_the_migrations_make_the_tables_the_code_expects(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_a_change_committed_late_is_waited_for_not_skipped(make_fleet: Any) -> None:
    """PostgreSQL gives out ids before commit: a higher id can be seen before a lower one is."""
    from datetime import timedelta

    from sqlalchemy import insert

    from fleetmon.alerts.engine import GAP_WAIT_SECONDS
    from fleetmon.store.schema import state_changes
    from tests.alerts.conftest import when

    fleet = make_fleet([camera("cam-1", site="Chợ"), camera("cam-2", site="Trường")])
    fleet.sweep()
    with fleet.store.connect() as conn:
        last = conn.execute(select(ticket_cursor.c.last_change_id)).scalar_one()

    def change(row_id: int, device: str, minutes_ago: float) -> None:
        with fleet.store.begin() as conn:
            conn.execute(insert(state_changes).values(id=row_id, device_id=device, at=when(fleet.now) - timedelta(minutes=minutes_ago),
                                                      state="down", reason="reachability: timeout", cause="device"))

    change(last + 2, "cam-2", 30)  # committed first
    fleet.step()
    change(last + 1, "cam-1", 30)  # its lower id commits a moment later
    fleet.step()
    assert sorted(t.subject for t in fleet.tickets()) == ["cam-1", "cam-2"]
    change(last + 4, "cam-1", 0)  # id last+3 never commits (rolled back)
    fleet.step()
    with fleet.store.connect() as conn:
        assert conn.execute(select(ticket_cursor.c.last_change_id)).scalar_one() == last + 2
    fleet.now += GAP_WAIT_SECONDS + 1
    fleet.step()
    with fleet.store.connect() as conn:
        assert conn.execute(select(ticket_cursor.c.last_change_id)).scalar_one() == last + 4
