"""One sweep of one probe kind over a worker's devices: spread out, bounded, never stuck.

Each device has a fixed phase within the interval (a hash of its id), so it is probed at the
same point of every sweep and 100,000 devices are not hit in the same second. At most
`concurrency` probes are in flight; each is bounded by its own timeout plus a safety margin,
so a hanging device costs one timeout and never delays the others.

A sweep holds device ids, not targets: each target is made when its device's turn comes, from
the inventory and health of that moment. A province's ONVIF and snapshot sweeps last minutes;
136,000 targets made up front would be held that long, and judged on what was known at the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fleetmon.health.model import Observation
from fleetmon.monitor.view import SweepStats
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target

log = logging.getLogger(__name__)

ProbeRunner = Callable[[Target], Awaitable[Observation]]
SAFETY_MARGIN_SECONDS = 1.0


def phase(device_id: str) -> float:
    """A stable fraction in [0, 1) for a device: its place within every sweep."""
    digest = hashlib.blake2b(device_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, slots=True)
class SweepPlan:
    probe: str
    run: ProbeRunner
    spread_seconds: float  # interval x jitter
    concurrency: int


async def _guarded(plan: SweepPlan, target: Target) -> Observation:
    started = time.time()
    try:
        return await asyncio.wait_for(plan.run(target), target.timeout + SAFETY_MARGIN_SECONDS)
    except TimeoutError:
        status, error = ProbeStatus.TIMEOUT, f"no result within {target.timeout:g} s"
    except Exception as exc:  # a probe bug must cost one device one result, not the sweep
        log.exception("probe %s crashed on device %s", plan.probe, target.device_id)
        status, error = ProbeStatus.PROTOCOL_ERROR, f"probe failed: {exc.__class__.__name__}"
    return Observation(device_id=target.device_id, probe=plan.probe, status=status, at=time.time(),
                       duration_seconds=time.time() - started, alive=False, error=error)


async def run_sweep(
    plan: SweepPlan,
    device_ids: Iterable[str],
    target_of: Callable[[str], Target | None],
    on_observation: Callable[[Observation], None],
    stats: SweepStats,
) -> None:
    """Probe each device once, at its phase; `on_observation` gets each result as it comes.

    `target_of` is asked right before each probe, once a slot is free: None skips the device (it was
    handed to another worker, retired, or found offline meanwhile), so two workers never probe a
    device at once and a unit that died during the sweep is not asked again.
    """
    started = time.monotonic()
    stats.last_started = time.time()
    limit = asyncio.Semaphore(plan.concurrency)
    pending: set[asyncio.Task[None]] = set()
    probed = 0

    async def one(target: Target) -> None:
        stats.in_flight += 1
        try:
            obs = await _guarded(plan, target)
            log.debug("probed device=%s probe=%s status=%s start=%.3f end=%.3f", target.device_id, plan.probe,
                      obs.status.value, obs.at - obs.duration_seconds, obs.at)
            on_observation(obs)
        finally:
            stats.in_flight -= 1
            limit.release()

    try:
        for device_id in sorted(device_ids, key=phase):
            delay = started + phase(device_id) * plan.spread_seconds - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await limit.acquire()
            target = target_of(device_id)
            if target is None:
                limit.release()
                continue
            probed += 1
            task = asyncio.create_task(one(target))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
    finally:  # cancelled (shutdown): the probes it started end with it, not later on closed clients
        unfinished = [task for task in pending if not task.done()]
        for task in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.gather(*unfinished, return_exceptions=True)
    stats.last_duration_seconds = time.monotonic() - started
    stats.last_devices = probed
    stats.sweeps += 1
