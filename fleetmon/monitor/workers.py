"""Several `fleetmon run` workers sharing one database: the fleet split by leases in a table.

Devices fall into `BUCKETS` buckets by a hash of their id. A worker holds a lease on some
buckets and probes only their devices. Leases are plain rows (`bucket_leases`) renewed by
their holder and taken over, by a conditional UPDATE, only once expired; so a dead worker's
share is taken within one lease period, and no device is probed by two workers at once:

- a worker trusts its lease only until `expires_at - guard` by its own clock, where `guard`
  covers the longest probe, so a probe it starts always ends before anyone else may start;
- a worker giving buckets up for a newcomer (rebalancing) stops probing them and lets the
  lease run out rather than releasing it, for the same reason.

Each worker heartbeats in `workers`; the live ones (recent heartbeat) share the buckets
evenly. Clocks of the workers' hosts are assumed NTP-synchronised to well within `guard`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from fleetmon.monitor.service import Ownership
from fleetmon.store import statelog
from fleetmon.store.schema import bucket_leases, workers

log = logging.getLogger(__name__)

BUCKETS = 256


def bucket_of(device_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(device_id.encode(), digest_size=4).digest(), "big") % BUCKETS


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class LeaseOwnership(Ownership):
    engine: Engine
    worker_id: str
    lease_seconds: float  # how long a dead worker's devices go unprobed, at most
    guard_seconds: float  # longest probe plus clock tolerance
    on_change: asyncio.Event = field(default_factory=asyncio.Event)
    clock: Callable[[], float] = time.time  # this host's wall clock; tests pass their own
    _held: dict[int, float] = field(default_factory=dict)  # bucket -> lease expiry (unix seconds)
    _draining: set[int] = field(default_factory=set)
    _gained_from: float | None = None

    def __post_init__(self) -> None:
        if self.guard_seconds > self.lease_seconds / 2:
            raise ValueError("a lease must last at least twice the guard, or renewals leave gaps no one probes")

    async def start(self, stack: AsyncExitStack) -> None:
        await asyncio.to_thread(self._ensure_buckets)
        await asyncio.to_thread(self.renew)
        task = asyncio.create_task(self._renew_forever())
        stack.callback(task.cancel)

    def owns(self, device_id: str) -> bool:
        bucket = bucket_of(device_id)
        return bucket not in self._draining and self._held.get(bucket, 0.0) - self.guard_seconds > self.clock()

    def taken_over_from(self) -> float | None:
        gained_from, self._gained_from = self._gained_from, None
        return gained_from

    async def wait_changed(self) -> None:
        await self.on_change.wait()
        self.on_change.clear()

    @property
    def buckets(self) -> set[int]:
        return {b for b in self._held if b not in self._draining}

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            try:
                before = self.buckets
                await asyncio.to_thread(self.renew)
                if self.buckets != before:
                    log.info("holding %d of %d buckets (was %d)", len(self.buckets), BUCKETS, len(before))
                    self.on_change.set()
            except Exception:  # the database may be briefly unreachable; leases just lapse
                log.exception("lease renewal failed")

    def _ensure_buckets(self) -> None:
        with self.engine.begin() as conn:
            have = set(conn.execute(select(bucket_leases.c.bucket)).scalars())
            missing = [{"bucket": b, "owner": None, "expires_at": None} for b in range(BUCKETS) if b not in have]
            if missing:
                try:
                    conn.execute(insert(bucket_leases), missing)
                except Exception:  # another worker created them at the same moment
                    log.debug("buckets created concurrently")

    def renew(self) -> None:
        """Heartbeat, renew held leases, give up extras, claim a fair share of free or expired ones."""
        now = self.clock()
        expires = now + self.lease_seconds
        with self.engine.begin() as conn:
            statelog.heartbeat(conn, self.worker_id, now)
            live = conn.execute(select(workers.c.id).where(workers.c.heartbeat_at > _at(now - self.lease_seconds))).scalars().all()
            fair = math.ceil(BUCKETS / max(1, len(live)))
            keep = sorted(self.buckets)
            if len(keep) > fair:  # a newcomer: stop probing the extras and let their leases lapse
                self._draining |= set(keep[fair:])
                keep = keep[:fair]
            self._held = {b: t for b, t in self._held.items() if b in self._draining and t > now}
            if keep:
                renewed = conn.execute(
                    update(bucket_leases)
                    .where(bucket_leases.c.bucket.in_(keep), bucket_leases.c.owner == self.worker_id)
                    .values(expires_at=_at(expires))
                    .returning(bucket_leases.c.bucket)
                ).scalars().all()
                self._held.update(dict.fromkeys(renewed, expires))
            self._draining = {b for b in self._draining if b in self._held}
            if len(keep) < fair:
                self._claim(conn, fair - len(keep), now, expires)

    def _claim(self, conn: Connection, wanted: int, now: float, expires: float) -> None:
        free = or_(bucket_leases.c.owner.is_(None), bucket_leases.c.expires_at < _at(now))
        candidates = conn.execute(
            select(bucket_leases.c.bucket, bucket_leases.c.owner).where(free).order_by(bucket_leases.c.bucket).limit(wanted)
        ).all()
        previous: set[str] = set()
        for bucket, owner in candidates:
            took = conn.execute(
                update(bucket_leases)
                .where(and_(bucket_leases.c.bucket == bucket, free))
                .values(owner=self.worker_id, expires_at=_at(expires))
            ).rowcount
            if took:
                self._held[bucket] = expires
                if owner and owner != self.worker_id:
                    previous.add(owner)
        if previous:
            beats = [statelog.last_heartbeat(conn, w) for w in previous]
            known = [b for b in beats if b is not None]
            self._gained_from = min(known) if known else None
            log.info("took over buckets of %s", ", ".join(sorted(previous)))
