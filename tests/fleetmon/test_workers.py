"""Splitting the fleet between workers with leases in the database (real PostgreSQL and SQLite).

The workers share one clock the test moves, as the hosts' NTP-synchronised clocks would move
together: leases of the real default length, with no test waiting for them to run out.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from fleetmon.monitor.workers import BUCKETS, LeaseOwnership, bucket_of

LEASE = 30.0
GUARD = 9.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_764_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def worker(engine: Engine, name: str, clock: Clock) -> LeaseOwnership:
    ownership = LeaseOwnership(engine=engine, worker_id=name, lease_seconds=LEASE, guard_seconds=GUARD, clock=clock)
    ownership._ensure_buckets()
    return ownership


def owners(workers: list[LeaseOwnership]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {b: [] for b in range(BUCKETS)}
    for w in workers:
        for device_bucket in range(BUCKETS):
            if w.owns(_device_in(device_bucket)):
                found[device_bucket].append(w.worker_id)
    return found


_DEVICES: dict[int, str] = {}


def _device_in(bucket: int) -> str:
    if not _DEVICES:
        i = 0
        while len(_DEVICES) < BUCKETS:
            _DEVICES.setdefault(bucket_of(f"cam-{i}"), f"cam-{i}")
            i += 1
    return _DEVICES[bucket]


def run_for(workers: list[LeaseOwnership], clock: Clock, seconds: float) -> None:
    """The workers' renewal loops, as they run in the service (every quarter lease)."""
    deadline = clock.now + seconds
    while True:
        for w in workers:
            w.renew()
        if clock.now >= deadline:
            return
        clock.now += LEASE / 4


def test_three_workers_split_every_bucket_exactly_once(engine: Engine, clock: Clock) -> None:
    workers = [worker(engine, f"w{i}", clock) for i in range(3)]
    # Arriving one after another, the first worker holds everything, then drains its extras.
    run_for(workers, clock, 2 * LEASE)
    held = owners(workers)
    assert all(len(names) == 1 for names in held.values()), {b: n for b, n in held.items() if len(n) != 1}
    shares = sorted(sum(1 for n in held.values() if n == [w.worker_id]) for w in workers)
    assert shares[-1] - shares[0] <= 2 and sum(shares) == BUCKETS


def test_a_dead_workers_buckets_are_taken_over_after_its_lease(engine: Engine, clock: Clock) -> None:
    workers = [worker(engine, f"w{i}", clock) for i in range(3)]
    run_for(workers, clock, 2 * LEASE)
    dead, alive = workers[0], workers[1:]
    lost = {b for b, names in owners(workers).items() if names == [dead.worker_id]}
    assert lost
    # w0 stops renewing (SIGKILL). Until its lease runs out nobody else may probe its devices.
    run_for(alive, clock, LEASE - GUARD)
    assert all(owners(alive)[b] == [] for b in lost)
    run_for(alive, clock, 2 * LEASE)
    held = owners(alive)
    assert all(len(held[b]) == 1 for b in range(BUCKETS))
    assert alive[0].taken_over_from() is not None or alive[1].taken_over_from() is not None


def test_a_lease_must_outlast_the_longest_probe(engine: Engine) -> None:
    with pytest.raises(ValueError):
        LeaseOwnership(engine=engine, worker_id="w", lease_seconds=1.0, guard_seconds=1.0)
