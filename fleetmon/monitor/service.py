"""`fleetmon run`'s heart: scheduled sweeps per probe kind feeding device health.

    APScheduler job per probe kind ─► run_sweep ─► Observation ─► machine.apply ─► Transition
                                                                    after each sweep: rootcause.resolve
    transitions are buffered and written with the worker's heartbeat, off the event loop

The buffer is kept until a write succeeds: a store that is away (PostgreSQL restarting, a full
disk) delays the log, it does not lose it; the minutely inventory refresh keeps the devices it
read before. Writes are retried in order with every heartbeat;
past `monitor.pending_transitions_limit` the oldest changes are dropped, counted in
`fleetmon_transitions_dropped_total` and logged once per outage.

The status map changes only on the event loop: the inventory is read (and a take-over gap
written) in a worker thread, and the result applied on the loop in one step, so a snapshot
sees the map before a reload or after it, never half of it.

Jobs never pile up: one instance per kind, a late sweep is coalesced and counted as an
overrun; `misfire_grace_time` is the whole interval, so an event-loop stall delays a sweep
instead of silently dropping it (APScheduler's default of 1 s would).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobEvent, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from fleetmon.config import Config, ProbeSchedule
from fleetmon.health import machine, rootcause
from fleetmon.health.model import DeviceStatus, Observation, Transition
from fleetmon.inventory.model import Device
from fleetmon.monitor.sweep import SAFETY_MARGIN_SECONDS, ProbeRunner, SweepPlan, run_sweep
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.monitor.view import MonitorView, SweepStats
from fleetmon.probes.target import Target
from fleetmon.store import statelog
from fleetmon.store.inventory import DeviceCache

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
INVENTORY_REFRESH_SECONDS = 60.0
LOOP_TICK_SECONDS = 1.0  # the loop-lag watch's timer; its worst lateness over LOOP_LAG_WINDOW ticks is exported
LOOP_LAG_WINDOW = 60


@dataclass(frozen=True, slots=True)
class ProbeKind:
    """A probe as the monitor schedules it: which devices, how often, and whether it decides up/down."""

    name: str
    schedule: ProbeSchedule
    applies: Callable[[Device], bool]
    liveness: Callable[[Device], bool]
    run: ProbeRunner


class Ownership:
    """Which devices this worker probes. Alone, all of them; `fleetmon.monitor.workers` splits a fleet."""

    async def start(self, stack: AsyncExitStack) -> None:
        return None

    def owns(self, device_id: str) -> bool:
        return True

    def taken_over_from(self) -> float | None:
        """When the worker whose devices were last taken over was last alive (once; then None)."""
        return None

    async def wait_changed(self) -> None:
        """Return when the set of owned devices changed."""
        await asyncio.Event().wait()


def default_worker_id() -> str:
    return os.environ.get("FLEETMON_WORKER_ID") or socket.gethostname()


@dataclass
class Monitor:
    config: Config
    engine: Engine
    kinds: Sequence[ProbeKind]
    worker_id: str = ""
    ownership: Ownership = field(default_factory=Ownership)
    inventory: DeviceCache = field(default_factory=DeviceCache)  # shared with the ticket engine in `fleetmon run`
    policy: machine.Policy | None = None
    clock: Callable[[], float] = time.time  # what "now" is for states and the log; tests pass their own

    def __post_init__(self) -> None:
        self.worker_id = self.worker_id or self.config.monitor.worker_id or default_worker_id()
        self._policy = self.policy or machine.Policy(down_after=self.config.monitor.down_after, up_after=self.config.monitor.up_after)
        self.view = MonitorView(worker_id=self.worker_id, started_at=self.clock())
        self.view.sweeps = {k.name: SweepStats(k.name, k.schedule.interval) for k in self.kinds}
        self._targets = TargetBuilder(self.config)
        self._pending: deque[tuple[int, Transition]] = deque()  # (sequence number, change), oldest first
        self._queued = 0  # sequence number of the newest change queued
        self._pending_limit = self.config.monitor.pending_transitions_limit
        self._write_failing = False
        self._overflowing = False
        self._refresh_failing = False
        self._flush_lock = asyncio.Lock()
        self._writing: asyncio.Future[None] | None = None  # the newest write of the log, perhaps still in its thread
        self._reload_lock = asyncio.Lock()
        self._running: set[asyncio.Task[None]] = set()

    # -- composition ------------------------------------------------------------------------

    async def start(self, stack: AsyncExitStack) -> None:
        await self.ownership.start(stack)
        await self._reload(starting=True)
        scheduler = AsyncIOScheduler()
        for kind in self.kinds:
            scheduler.add_job(
                self._scheduled_sweep, "interval", args=[kind], id=kind.name, seconds=kind.schedule.interval,
                max_instances=1, coalesce=True, misfire_grace_time=int(kind.schedule.interval) or 1,
                next_run_time=datetime.now(UTC),
            )
        scheduler.add_job(self.flush, "interval", id="heartbeat", seconds=HEARTBEAT_SECONDS, max_instances=1, coalesce=True)
        scheduler.add_job(self._refresh, "interval", id="inventory", seconds=INVENTORY_REFRESH_SECONDS, max_instances=1, coalesce=True)
        scheduler.add_listener(self._on_job_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_SUBMITTED)
        scheduler.start()
        stack.push_async_callback(self._last_flush)
        follower = asyncio.create_task(self._follow_ownership())
        watch = asyncio.create_task(self._watch_loop())
        stack.push_async_callback(self._stop, scheduler, follower, watch)  # the clients, on the stack before us, close after
        log.info("monitor %s started: %d devices, probes %s", self.worker_id, len(self.view.statuses),
                 ", ".join(f"{k.name} every {k.schedule.interval:g}s" for k in self.kinds))

    def _on_job_event(self, event: JobEvent) -> None:
        stats = self.view.sweeps.get(event.job_id)
        if stats is None:
            return
        if event.code == EVENT_JOB_MAX_INSTANCES:
            stats.overruns += 1
            log.warning("%s sweep still running when the next was due: skipped (overrun %d)", event.job_id, stats.overruns)
        elif isinstance(event, JobSubmissionEvent) and event.scheduled_run_times:
            stats.lag_seconds = max(0.0, time.time() - event.scheduled_run_times[-1].timestamp())

    async def _watch_loop(self) -> None:
        """Event-loop lag, every second: a sweep's lag is seen once per interval, a stall of the loop at once."""
        recent: deque[float] = deque(maxlen=LOOP_LAG_WINDOW)
        while True:
            due = time.monotonic() + LOOP_TICK_SECONDS
            await asyncio.sleep(LOOP_TICK_SECONDS)
            recent.append(max(0.0, time.monotonic() - due))
            self.view.loop_lag_seconds = max(recent)

    # -- inventory and ownership ------------------------------------------------------------

    async def _reload(self, starting: bool = False) -> None:
        """Read the inventory in a thread, then change the status map on the loop, in one step.

        Reloads run one at a time, so the map's keys cannot change between reading and applying.
        """
        async with self._reload_lock:
            devices = await asyncio.to_thread(self._read_inventory)
            changed = devices is not self.view.devices
            watched_until = self.ownership.taken_over_from()
            owned = {i for i in devices if self.ownership.owns(i)}
            new = owned - self.view.statuses.keys()
            resumed: dict[str, DeviceStatus] = {}
            if new:
                resumed = await asyncio.to_thread(self._take_over, new, watched_until, starting)
            statuses = self.view.statuses  # from here to the end: no await
            for gone in statuses.keys() - owned:
                del statuses[gone]
            now = self.clock()
            for device_id in new:
                statuses[device_id] = self._resume(devices[device_id], resumed.get(device_id)) or DeviceStatus(since=now)
            if changed:
                self.view.devices = devices
                self._targets.reset()

    def _resume(self, device: Device, status: DeviceStatus | None) -> DeviceStatus | None:
        """The logged problems of probes that still apply to the device hold until those probes look again."""
        if status is not None and status.problems:
            probing = {kind.name for kind in self.kinds if kind.applies(device)}
            status.problems = {probe: found for probe, found in status.problems.items() if probe in probing}
        return status

    def _read_inventory(self) -> Mapping[str, Device]:
        with self.engine.connect() as conn:
            return self.inventory.read(conn)

    def _take_over(self, new: set[str], watched_until: float | None, starting: bool) -> dict[str, DeviceStatus]:
        """Write the time nobody watched `new` as unknown; their statuses to start from."""
        if starting:
            with self.engine.connect() as conn:
                watched_until = statelog.last_heartbeat(conn, self.worker_id)
        with self.engine.begin() as conn:
            return statelog.take_over(conn, new, watched_until, self.clock())

    async def _refresh(self) -> None:
        """A store that is away keeps the inventory read before: said once per outage, not a traceback a minute."""
        try:
            await self._reload()
        except SQLAlchemyError as exc:
            if not self._refresh_failing:
                self._refresh_failing = True
                log.warning("cannot read the inventory (%s): probing the %d devices read before, retried every %g s",
                            _one_line(exc), len(self.view.devices), INVENTORY_REFRESH_SECONDS)
            return
        if self._refresh_failing:
            self._refresh_failing = False
            log.info("inventory readable again: %d devices", len(self.view.devices))

    async def _follow_ownership(self) -> None:
        """Devices taken over from a dead worker are probed at once, not at their next sweep."""
        while True:
            await self.ownership.wait_changed()
            before = set(self.view.statuses)
            await self._reload()
            gained = set(self.view.statuses) - before
            if gained:
                log.info("now probing %d more devices", len(gained))
                for kind in self.kinds:
                    await self._sweep(kind, only=gained, spread=0.0)

    # -- sweeping ---------------------------------------------------------------------------

    async def _scheduled_sweep(self, kind: ProbeKind) -> None:
        """A sweep cut short by shutdown ends quietly: its probes' results are simply not applied."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self._sweep(kind)
        except asyncio.CancelledError:
            log.debug("%s sweep cancelled by shutdown", kind.name)
        finally:
            self._running.discard(task)

    async def _stop(self, scheduler: AsyncIOScheduler, follower: asyncio.Task[None], watch: asyncio.Task[None]) -> None:
        """No new sweep, then no sweep at all: each cancelled sweep ends its probes before returning,
        so no probe is left in flight when the probe clients close after this."""
        scheduler.shutdown(wait=False)  # nothing is submitted from here on
        await asyncio.sleep(0)  # a sweep submitted just before has its task made: let it start, and count itself running
        follower.cancel()  # with the sweep of devices it may just have taken over
        watch.cancel()
        await asyncio.gather(follower, watch, return_exceptions=True)
        while self._running:
            running = list(self._running)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _sweep(self, kind: ProbeKind, only: set[str] | None = None, spread: float | None = None) -> None:
        view = self.view
        chosen = [i for i in (only if only is not None else view.statuses) if (d := view.devices.get(i)) is not None and kind.applies(d)]
        if spread is None:  # the last probe must end before the next sweep is due
            schedule = kind.schedule
            spread = max(0.0, min(schedule.interval * self.config.probes.jitter,
                                  schedule.interval - schedule.timeout - SAFETY_MARGIN_SECONDS))
        plan = SweepPlan(kind.name, kind.run, spread, kind.schedule.concurrency or self.config.probes.concurrency)

        def target_of(device_id: str) -> Target | None:
            """As things stand at the device's turn: a reload or a hand-over may have come since the sweep began."""
            device, status = view.devices.get(device_id), view.statuses.get(device_id)
            if device is None or status is None or not kind.applies(device) or _offline(kind, device, status):
                return None
            return self._targets.target(device, kind.schedule.timeout) if self.ownership.owns(device_id) else None

        def observe(obs: Observation) -> None:
            device, status = view.devices.get(obs.device_id), view.statuses.get(obs.device_id)
            if device is None or status is None:  # retired, or handed to another worker, during the probe
                return
            transition = machine.apply(status, obs, self._policy, liveness=kind.liveness(device))
            if transition is not None:
                self._queue((transition,))

        await run_sweep(plan, chosen, target_of, observe, view.sweeps[kind.name])
        self._queue(rootcause.resolve(view.devices, view.statuses, self.clock(), self._policy))
        stats = view.sweeps[kind.name]
        log.info("%s sweep: %d devices in %.1f s (interval %g s)", kind.name, stats.last_devices,
                 stats.last_duration_seconds or 0.0, kind.schedule.interval)
        await self.flush()

    # -- the state-change log ------------------------------------------------------------------

    def _queue(self, transitions: Iterable[Transition]) -> None:
        """Buffer changes for the log. Past the limit, each device keeps only its newest change (the log
        then misses flaps, never a device's current state), and if that is not enough the oldest go;
        what is dropped is counted, and logged once per outage."""
        for transition in transitions:
            self._queued += 1
            self._pending.append((self._queued, transition))
        if len(self._pending) > self._pending_limit:
            before = len(self._pending)
            newest = {t.device_id: seq for seq, t in self._pending}
            kept = deque(item for item in self._pending if newest[item[1].device_id] == item[0])
            while len(kept) > self._pending_limit:
                kept.popleft()
            self._pending = kept
            self.view.transitions_dropped += before - len(kept)
            if not self._overflowing:
                self._overflowing = True
                log.error("state-change log: more than %d changes wait for the store (monitor.pending_transitions_limit); "
                          "keeping each device's newest and dropping older ones until the store takes writes again",
                          self._pending_limit)
        self.view.transitions_pending = len(self._pending)

    async def flush(self) -> bool:
        """Write buffered transitions together with the heartbeat, off the event loop; True if written.

        A failed write keeps the batch for the next flush (every heartbeat), in order. A flush cancelled
        (shutdown may cancel a sweep more than once) leaves its write running in its thread: the batch counts
        as written when that write succeeds, and the next flush waits for it so as not to take the batch again.
        """
        async with self._flush_lock:
            if self._writing is not None:
                await asyncio.wait([self._writing])
            batch = list(self._pending)
            writing = asyncio.get_running_loop().run_in_executor(None, self._write, [t for _, t in batch], self.clock())
            writing.add_done_callback(partial(self._written, batch))  # before any waiter's: it runs first
            self._writing = writing
            try:
                await asyncio.shield(writing)
            except Exception as exc:  # the store is away or full: keep everything, retry at the next heartbeat
                if not self._write_failing:
                    self._write_failing = True
                    log.error("cannot write the state-change log (%s): %d changes kept, retried every %g s",
                              _one_line(exc), len(self._pending), HEARTBEAT_SECONDS)
                else:
                    log.debug("state-change log still not writable: %s", _one_line(exc))
                return False
            if self._write_failing or self._overflowing:
                log.warning("state-change log writable again: %d changes written, %d dropped since start",
                            len(batch), self.view.transitions_dropped)
                self._write_failing = self._overflowing = False
            return True

    def _written(self, batch: Sequence[tuple[int, Transition]], writing: asyncio.Future[None]) -> None:
        if writing.cancelled() or writing.exception() is not None:
            return
        if batch:
            last = batch[-1][0]
            while self._pending and self._pending[0][0] <= last:
                self._pending.popleft()
        self.view.transitions_pending = len(self._pending)

    async def _last_flush(self) -> None:
        if not await self.flush() and self._pending:
            log.error("stopping with %d changes the state-change log could not take", len(self._pending))

    def _write(self, batch: Sequence[Transition], now: float) -> None:
        with self.engine.begin() as conn:
            statelog.write(conn, batch)
            statelog.heartbeat(conn, self.worker_id, now, started=self.view.started_at)
        for t in batch:
            log.info("device %s: %s -> %s (%s)%s", t.device_id, t.old.value, t.new.value, t.reason,
                     f" cause={t.cause.value}" if t.cause.value else "")


def _offline(kind: ProbeKind, device: Device, status: DeviceStatus) -> bool:
    """A unit its liveness probe found down, or unreachable behind a dead parent, is not asked the rest
    until it answers again: each ask would only wait out a whole timeout, and a dead uplink's hundreds
    of cameras would hold ONVIF's few slots for most of its interval. Its other probes' last findings
    stand meanwhile."""
    return status.state in rootcause.OFFLINE and not kind.liveness(device)


def _one_line(exc: BaseException) -> str:
    """An error as one line for the log: the driver's own message, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{cause.__class__.__name__}: {text[0] if text else ''}"
