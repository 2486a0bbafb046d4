"""The per-device state machine: hysteresis, degradation reasons, reboots and flapping.

Pure functions over `DeviceStatus`; no clock, no I/O. `apply` folds one observation in and
returns the transition it caused, if any: a change of state, or of the set of problems (their
keys, not their words: "clock 600 s ahead" then "clock 601 s ahead" is no change). Root causes
across devices are `rootcause.py`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetmon.health.model import Cause, DeviceStatus, Health, Observation, Transition
from fleetmon.probes.findings import Problem, key_of

UPTIME_WRAP_SECONDS = 2**32 / 100  # sysUpTime is 32-bit centiseconds: it wraps after 497 days


@dataclass(frozen=True, slots=True)
class Policy:
    down_after: int = 2  # consecutive failed liveness probes before down
    up_after: int = 2  # consecutive answered liveness probes before up again
    flap_window_seconds: float = 3600.0
    flap_changes: int = 4  # up/down changes within the window that make a device flapping
    reboot_window_seconds: float = 3600.0
    reboot_loop_count: int = 3  # reboots within the window that make a reboot loop
    reboot_slack_seconds: float = 30.0


def _record_probe(status: DeviceStatus, obs: Observation) -> None:
    status.probes = status.probes.recorded(obs.probe, obs.status, obs.at, obs.duration_seconds)


def _rebooted(status: DeviceStatus, obs: Observation, policy: Policy) -> bool:
    if obs.uptime_seconds is None or status.uptime_seconds is None or status.uptime_at is None:
        return False
    expected = status.uptime_seconds + (obs.at - status.uptime_at)
    if expected >= UPTIME_WRAP_SECONDS - policy.reboot_slack_seconds:
        return False
    return obs.uptime_seconds + policy.reboot_slack_seconds < expected


def _record_facts(status: DeviceStatus, obs: Observation, policy: Policy) -> None:
    if obs.uptime_seconds is not None:
        if _rebooted(status, obs, policy):
            status.reboots += 1
            status.recent_reboots = tuple(t for t in status.recent_reboots if obs.at - t < policy.reboot_window_seconds) + (obs.at,)
        status.uptime_seconds, status.uptime_at = obs.uptime_seconds, obs.at
    for name in ("clock_skew_seconds", "volumes", "disks", "recordings", "image_faults"):
        value = getattr(obs, name)
        if value is not None:
            setattr(status, name, value)
    _note_problems(status, obs)


def _note_problems(status: DeviceStatus, obs: Observation) -> None:
    """Only probes with something to say hold an entry: a province's healthy units hold none."""
    if obs.problems:
        status.problems = {**status.problems, obs.probe: obs.problems}
    elif obs.probe in status.problems:
        status.problems = {probe: found for probe, found in status.problems.items() if probe != obs.probe}


def _age_out(status: DeviceStatus, at: float, policy: Policy) -> None:
    """Reboots and up/down changes leave their windows as time passes, not only when another comes:
    a unit that settled stops being a reboot loop or flapping. Cheap on every observation: both
    tuples are in time order, so only their oldest entry is looked at until one has aged out."""
    if status.recent_reboots and at - status.recent_reboots[0] >= policy.reboot_window_seconds:
        status.recent_reboots = tuple(t for t in status.recent_reboots if at - t < policy.reboot_window_seconds)
    if status.recent_changes and at - status.recent_changes[0] >= policy.flap_window_seconds:
        status.recent_changes = tuple(t for t in status.recent_changes if at - t < policy.flap_window_seconds)
        status.flapping = len(status.recent_changes) >= policy.flap_changes


def _reasons(status: DeviceStatus, policy: Policy) -> tuple[str, ...]:
    reasons = [p for problems in status.problems.values() for p in problems]
    if len(status.recent_reboots) >= policy.reboot_loop_count:
        reasons.append(Problem(f"reboot loop: {len(status.recent_reboots)} reboots within "
                               f"{policy.reboot_window_seconds / 3600:g} h", "reboot_loop"))
    if status.flapping:
        reasons.append(Problem(f"flapping: {len(status.recent_changes)} up/down changes within "
                               f"{policy.flap_window_seconds / 3600:g} h", "flapping"))
    return tuple(dict.fromkeys(reasons))


def _same_problems(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    return old == new or {key_of(p) for p in old} == {key_of(p) for p in new}


def change_state(status: DeviceStatus, device_id: str, at: float, new: Health, reason: str, cause: Cause, policy: Policy) -> Transition:
    old = status.state
    if {old, new} & {Health.DOWN, Health.UNREACHABLE} and old is not Health.UNKNOWN and new is not Health.UNKNOWN:
        status.recent_changes = tuple(t for t in status.recent_changes if at - t < policy.flap_window_seconds) + (at,)
        status.flapping = len(status.recent_changes) >= policy.flap_changes
    if old is not new:
        status.since = at
    status.state, status.cause = new, cause
    found = tuple((probe, key_of(p), str(p)) for probe, problems in status.problems.items() for p in problems)
    return Transition(device_id=device_id, at=at, old=old, new=new, reason=reason, cause=cause, problems=found)


def apply(status: DeviceStatus, obs: Observation, policy: Policy, *, liveness: bool) -> Transition | None:
    """Fold `obs` into `status`. Only the device's liveness probe moves it between up and down;
    every probe's problems can degrade a device that is up."""
    _record_probe(status, obs)
    _age_out(status, obs.at, policy)
    if obs.alive:
        _record_facts(status, obs, policy)
    elif not liveness and status.probes[obs.probe].fail_streak >= policy.down_after:
        # Like down, a probe that got no answer degrades only when it fails again: one lost
        # packet is not a fault a technician should be sent to.
        _note_problems(status, obs)
    if liveness:
        if obs.alive:
            status.ok_streak, status.fail_streak = status.ok_streak + 1, 0
        else:
            status.fail_streak, status.ok_streak = status.fail_streak + 1, 0
    offline = status.state in (Health.DOWN, Health.UNREACHABLE)
    if liveness and not obs.alive:
        if not offline and status.fail_streak >= policy.down_after:
            reason = obs.error or f"{obs.probe}: {obs.status.value}"
            status.reasons = (reason,)
            return change_state(status, obs.device_id, obs.at, Health.DOWN, reason, Cause.DEVICE, policy)
        return None
    if offline and not (liveness and status.ok_streak >= policy.up_after):
        return None
    if status.state is Health.UNKNOWN and not liveness:
        return None
    reasons = _reasons(status, policy)
    new = Health.DEGRADED if reasons else Health.UP
    reason = "; ".join(reasons) if reasons else ("answering again" if offline else "answering")
    if new is status.state and _same_problems(status.reasons, reasons):
        status.reasons = reasons  # today's words (the number of seconds, of GB), no transition
        return None
    status.reasons = reasons
    cause = Cause.NONE
    if offline and obs.uptime_seconds is not None and obs.uptime_seconds < obs.at - status.since:
        # It restarted while it was away: the outage was a loss of power, not of network.
        cause, reason = Cause.POWER, f"{reason}; restarted during the outage (power cut?)"
    return change_state(status, obs.device_id, obs.at, new, reason, cause, policy)
