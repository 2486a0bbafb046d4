"""Time in each health state per device, from the state-change log, clipped to a period.

The log holds one row per change and a state holds until the next row, so a device's time is
the sum of the spans between its changes. The state before the period (its last change before
the start) carries into it; a device with no change before a moment was not observed then, which
is `unknown`, as is the time the monitor was not running. Unknown time is reported but left out
of availability's denominator: nobody knows whether the unit worked then.

An outage (down or unreachable, back to back) is split three ways:
    down     the unit itself stopped answering
    network  it was behind a recorder or uplink that was down, or its whole site dropped
    power    the unit came back restarted (uptime reset): the monitor learns it was a power cut
             only when the outage ends, so the whole outage is counted as power then
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from fleetmon.exporters.reports.faults import kinds_of
from fleetmon.health.model import Cause, Health

OFFLINE = (Health.DOWN, Health.UNREACHABLE)


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the state-change log as a report reads it."""

    at: float  # unix seconds
    state: Health
    reason: str = ""
    cause: Cause = Cause.NONE


@dataclass(slots=True)
class StateSeconds:
    """Seconds spent in each state; adding two gives an area's total."""

    up: float = 0.0
    degraded: float = 0.0
    down: float = 0.0
    network: float = 0.0
    power: float = 0.0
    unknown: float = 0.0
    monitor_gap: float = 0.0  # the part of `unknown` when the monitor was not running

    def add(self, other: StateSeconds) -> None:
        self.up += other.up
        self.degraded += other.degraded
        self.down += other.down
        self.network += other.network
        self.power += other.power
        self.unknown += other.unknown
        self.monitor_gap += other.monitor_gap

    @property
    def working(self) -> float:
        """Up or degraded: it answers and records (as the Prometheus availability rules count it)."""
        return self.up + self.degraded

    @property
    def offline(self) -> float:
        return self.down + self.network + self.power

    @property
    def known(self) -> float:
        return self.working + self.offline

    @property
    def availability(self) -> float | None:
        """Working share of the known time (0..1); None when nothing was known."""
        return self.working / self.known if self.known > 0 else None


@dataclass(slots=True)
class DeviceTime:
    seconds: StateSeconds = field(default_factory=StateSeconds)
    daily_working: list[float] = field(default_factory=list)  # per day of the period
    daily_known: list[float] = field(default_factory=list)
    down_episodes: int = 0  # outages of the unit's own (not network, not power) in the period
    faults: Counter[str] = field(default_factory=Counter)  # kind -> times it began (or was already there at the start)


def _power_outages(states: Sequence[Change], after: Change | None) -> list[bool]:
    """For each entry of `states`: whether it belongs to an outage that ended with the unit restarted."""
    marks = [False] * len(states)
    index = 0
    while index < len(states):
        if states[index].state not in OFFLINE:
            index += 1
            continue
        end = index
        while end < len(states) and states[end].state in OFFLINE:
            end += 1
        closing = states[end] if end < len(states) else after
        power = closing is not None and closing.cause is Cause.POWER
        for i in range(index, end):
            marks[i] = power
        index = end
    return marks


def device_time(
    before: Change | None,
    changes: Sequence[Change],
    start: float,
    end: float,
    day_starts: Sequence[float] = (),
    after: Change | None = None,
    watched_until: float | None = None,
) -> DeviceTime:
    """Time per state of one device in [start, end).

    `before` is its last change before `start` (None: not observed before), `changes` those in
    the period in time order, `after` the first change after the period if known (it may say
    that an outage running past the end was a power cut). `day_starts` split the time per day.
    `watched_until` is the monitor's last sign of life when it is not running now: the log gets
    its gap only when a monitor starts again, so the time since is unknown, not the last state.
    """
    result = DeviceTime(daily_working=[0.0] * len(day_starts), daily_known=[0.0] * len(day_starts))
    opening = before if before is not None else Change(start, Health.UNKNOWN)
    states = [opening, *(c for c in changes if start <= c.at < end)]
    if watched_until is not None and watched_until < end and states[-1].at <= watched_until and states[-1].state is not Health.UNKNOWN:
        states.append(Change(max(watched_until, start), Health.UNKNOWN, "not watched: the monitor is not running", Cause.MONITOR))
    power = _power_outages(states, after)
    previous_kinds: frozenset[str] = frozenset()
    previous_bucket = ""
    for index, change in enumerate(states):
        span_start = max(change.at, start)
        span_end = states[index + 1].at if index + 1 < len(states) else end
        span = max(0.0, min(span_end, end) - span_start)
        state = change.state
        offline_bucket = ""
        if state in OFFLINE:
            if power[index] or change.cause is Cause.POWER:
                offline_bucket = "power"
            elif state is Health.UNREACHABLE or change.cause is Cause.NETWORK:
                offline_bucket = "network"
            else:
                offline_bucket = "down"
            setattr(result.seconds, offline_bucket, getattr(result.seconds, offline_bucket) + span)
            if offline_bucket == "down" and previous_bucket != "down":
                result.down_episodes += 1
        elif state is Health.UP:
            result.seconds.up += span
        elif state is Health.DEGRADED:
            result.seconds.degraded += span
        else:
            result.seconds.unknown += span
            if change.cause is Cause.MONITOR:
                result.seconds.monitor_gap += span
        if state is Health.UNKNOWN:
            kinds = previous_kinds  # a gap in watching does not end (or start) a fault
        else:
            kinds = kinds_of(state, change.reason, change.cause, power[index])
        for kind in kinds - previous_kinds:
            result.faults[kind] += 1
        previous_kinds = kinds
        if state is not Health.UNKNOWN:
            previous_bucket = offline_bucket  # a gap in watching does not end an outage either
        if day_starts and span > 0:
            working = state in (Health.UP, Health.DEGRADED)
            if working or offline_bucket:
                _spread(result, day_starts, span_start, span_start + span, end, working)
    return result


def _spread(result: DeviceTime, day_starts: Sequence[float], begin: float, finish: float, end: float, working: bool) -> None:
    """Add the known span [begin, finish) to the days it covers."""
    day = max(0, bisect.bisect_right(day_starts, begin) - 1)
    while day < len(day_starts) and day_starts[day] < finish:
        day_end = day_starts[day + 1] if day + 1 < len(day_starts) else end
        part = min(finish, day_end) - max(begin, day_starts[day])
        if part > 0:
            result.daily_known[day] += part
            if working:
                result.daily_working[day] += part
        day += 1
