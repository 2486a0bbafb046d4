"""SIGKILL of the ticket worker at random moments while faults come and go: no ticket lost or
doubled, no message lost; a message is repeated only when a kill fell between its delivery and
its marking (each carries its outbox id as Idempotency-Key, so a receiver can drop the repeat).

12 kills in the default run; 50 in the slow set (`scripts/test.sh -m slow`), or FLEETMON_KILL_TRIALS there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from sqlalchemy import func, select

from fleetmon.alerts.tickets import ACTIVE
from fleetmon.health.machine import Policy
from fleetmon.health.model import Health
from fleetmon.store.engine import open_store
from fleetmon.store.schema import notification_outbox, state_changes, ticket_cursor
from tests.alerts.conftest import Fleet, camera, config
from tests.peers import free_port

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 12
SLOW_TRIALS = int(os.environ.get("FLEETMON_KILL_TRIALS", "50"))


@pytest.fixture
def webhook() -> Iterator[tuple[int, Counter[str]]]:
    """A webhook receiver on its own thread and loop, counting deliveries by Idempotency-Key."""
    import asyncio

    keys: Counter[str] = Counter()
    port, ready, stop = free_port(), threading.Event(), threading.Event()

    async def hook(request: web.Request) -> web.Response:
        keys[request.headers["Idempotency-Key"]] += 1
        return web.json_response({})

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.to_thread(stop.wait)
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield port, keys
    stop.set()
    thread.join(10)


@pytest.mark.parametrize(("workers", "trials"), [
    pytest.param(1, TRIALS, id="sqlite-one-worker"),
    pytest.param(2, TRIALS, marks=pytest.mark.postgres, id="postgresql-two-workers"),
    pytest.param(1, SLOW_TRIALS, marks=pytest.mark.slow, id=f"sqlite-one-worker-{SLOW_TRIALS}-kills"),
    pytest.param(2, SLOW_TRIALS, marks=[pytest.mark.postgres, pytest.mark.slow], id=f"postgresql-two-workers-{SLOW_TRIALS}-kills"),
])
def test_sigkill_at_random_moments_loses_no_ticket_and_no_message(request: pytest.FixtureRequest, tmp_path: Path, workers: int,
                                                                  trials: int, webhook: tuple[int, Counter[str]]) -> None:
    """One worker on SQLite killed and restarted; or one of two workers on PostgreSQL killed while the other goes on."""
    port, received = webhook
    url = f"sqlite:///{tmp_path / 'fleetmon.db'}" if workers == 1 else str(request.getfixturevalue("postgres_url"))
    rules = {kind: {"after": 0} for kind in ("device_down", "site_offline", "flapping")}
    settings: dict[str, Any] = {"database_url": url, "tickets": {"interval": 0.05, "confirm_clear": 0, "rules": rules},
                "notifications": {"channels": {"hook": {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}},
                                  "teams": {"field": {"channels": ["hook"]}}, "retry_initial": "1s", "retry_max": "2s", "group_over": 1000,
                                  "claim_for": "20s"}}
    config_file = tmp_path / "fleetmon.yaml"
    config_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    store = open_store(url)
    request.addfinalizer(store.dispose)  # its pooled connections closed, not left to the garbage collector
    devices = [camera(f"cam-{n}", site=f"Thôn {n}") for n in range(10)]
    fleet = Fleet(store, {d.id: d for d in devices}, config(**{k: v for k, v in settings.items() if k != "database_url"}),
                  now=time.time(), policy=Policy(flap_changes=10**6))  # outages, not flapping, for this test
    fleet.engine = None
    rng = random.Random(14)
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    @contextmanager
    def worker(name: str = "w1") -> Iterator[subprocess.Popen[str]]:
        """A worker that said it started; on leaving, it is stopped if still running, waited for, and its pipe closed."""
        with (tmp_path / "worker.log").open("a") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([sys.executable, "-m", "tests.alerts.ticket_worker", str(config_file), name], cwd=ROOT, env=env,
                                       stdout=subprocess.PIPE, stderr=log, text=True)
        with process:
            try:
                assert process.stdout is not None and process.stdout.readline().strip() == "started"
                yield process
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)

    with ExitStack() as running:
        if workers == 2:
            running.enter_context(worker("w2"))  # the worker that is never killed
        for _ in range(trials):
            with worker() as process:
                for _ in range(rng.randint(1, 4)):
                    down = rng.sample([d.id for d in devices], rng.randint(0, 4))
                    fleet.sweep(down=down, step=False, advance=0.0)
                    fleet.sweep(down=down, step=False, advance=0.0)
                    time.sleep(rng.uniform(0.0, 0.3))
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        running.enter_context(worker())  # the last one runs until everything is done
        deadline = time.monotonic() + 90  # a killed sender's claims end after 20 s
        while True:
            with store.connect() as conn:
                cursor = conn.execute(select(ticket_cursor.c.last_change_id)).scalar_one()
                newest = conn.execute(select(func.max(state_changes.c.id))).scalar_one()
                unsent = conn.execute(select(func.count()).select_from(notification_outbox)
                                      .where(notification_outbox.c.sent_at.is_(None))).scalar_one()
            if cursor == newest and unsent == 0:
                time.sleep(0.5)  # a last timer check after the last change
                with store.connect() as conn:
                    unsent = conn.execute(select(func.count()).select_from(notification_outbox)
                                          .where(notification_outbox.c.sent_at.is_(None))).scalar_one()
                if unsent == 0:
                    break
            assert time.monotonic() < deadline, f"not caught up: cursor {cursor} of {newest}, {unsent} unsent"
            time.sleep(0.2)
    with store.connect() as conn:
        ids = [r.id for r in conn.execute(select(notification_outbox.c.id))]
    assert ids, "no message was ever written: the test exercised nothing"
    assert {f"fleetmon-outbox-{i}" for i in ids} == set(received), "a message was lost (or one not in the outbox was sent)"
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= trials, f"{repeats} repeated deliveries for {trials} kills"
    offline = {d for d, s in fleet.statuses.items() if s.state in (Health.DOWN, Health.UNREACHABLE)}
    active = fleet.tickets(*ACTIVE)
    assert {t.subject for t in active if t.kind == "device_down"} == offline  # none lost, none left open
    assert len({(t.subject, t.kind) for t in active}) == len(active)  # none doubled
