"""From one logged health change to the faults it names: the words of the monitor, sorted into kinds.

The state-change log holds a device's state, its reason (the monitor's problems joined by "; ")
and the likely cause. A fault is (subject, kind): the subject is the device, or the whole site
when the monitor blamed the site (`site:<area>|<site>`). Units behind a parent that is down
raise no fault of their own: the parent's ticket lists them.

Problem kinds (disk, footage, picture...) can only be judged while the unit answers; while it is
offline or unwatched they are `UNSEEN`, neither present nor gone.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fleetmon.health.model import Cause, Health


class FaultKind(enum.StrEnum):
    DEVICE_DOWN = "device_down"
    SITE_OFFLINE = "site_offline"
    DISK_FAILED = "disk_failed"
    DISK_FULL = "disk_full"
    RECORDING_STOPPED = "recording_stopped"
    FOOTAGE_SHORT = "footage_short"
    CLOCK_SKEW = "clock_skew"
    PICTURE = "picture"
    STREAM_DEAD = "stream_dead"
    REBOOT_LOOP = "reboot_loop"
    FLAPPING = "flapping"
    UNIT_SWAPPED = "unit_swapped"
    LOGIN_REFUSED = "login_refused"
    OTHER = "other"
    EXTERNAL = "external"  # an alert another system sent through Alertmanager's webhook


AVAILABILITY = (FaultKind.DEVICE_DOWN, FaultKind.SITE_OFFLINE)
PROBLEM_KINDS = tuple(k for k in FaultKind if k not in (*AVAILABILITY, FaultKind.EXTERNAL))
_HEALTH_KINDS = frozenset((*AVAILABILITY, *PROBLEM_KINDS))  # what a health change can tell about

# First match wins; the texts are those of fleetmon.monitor.observe and the probes' `problems`.
_PATTERNS: tuple[tuple[FaultKind, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern)) for kind, pattern in (
    (FaultKind.FLAPPING, r"^flapping\b"),
    (FaultKind.REBOOT_LOOP, r"^reboot loop\b"),
    (FaultKind.LOGIN_REFUSED, r"rejecting fleetmon's login"),
    (FaultKind.UNIT_SWAPPED, r"unit swapped|firmware changed"),
    (FaultKind.DISK_FULL, r"^disk .*: full\b|^volume .* % full"),
    (FaultKind.DISK_FAILED, r"^disk .*: (failed|unformatted|other)\b"),
    (FaultKind.RECORDING_STOPPED, r"^recording stopped\b|^no footage at all\b"),
    (FaultKind.FOOTAGE_SHORT, r"^only .* days of footage\b"),
    (FaultKind.CLOCK_SKEW, r"^clock \d+ s (ahead|behind)\b"),
    (FaultKind.PICTURE, r"^picture\b"),
    (FaultKind.STREAM_DEAD, r"^video stream\b"),
))
_BEHIND = re.compile(r"^behind (?P<parent>\S+), which is offline")
_POWER_NOTE = "restarted during the outage (power cut?)"


def site_subject(area: str, site: str) -> str:
    return f"site:{area}|{site}"


def problem_kind(text: str) -> FaultKind:
    return next((kind for kind, pattern in _PATTERNS if pattern.search(text)), FaultKind.OTHER)


@dataclass(frozen=True, slots=True)
class Seen:
    """What one logged change says about a device's faults.

    `faults` maps each present kind to its words. `judged` lists the kinds the change can tell
    about (present or gone); kinds outside it keep whatever was known before.
    """

    faults: Mapping[FaultKind, str]
    judged: frozenset[FaultKind]
    offline: bool = False  # down or unreachable
    site_down: bool = False  # the monitor blamed the whole site
    behind: str = ""  # offline behind this parent
    power: bool = False  # came back from an outage with a reset uptime


_NONE: Mapping[FaultKind, str] = MappingProxyType({})
# The common outcomes, one object each: the ticket engine keeps one Seen per device of a province.
_UNKNOWN = Seen(_NONE, frozenset())
_FINE = Seen(_NONE, _HEALTH_KINDS)
_SITE_DOWN = Seen(_NONE, frozenset(AVAILABILITY), offline=True, site_down=True)


def classify(state: Health, reason: str, cause: Cause) -> Seen:
    if state is Health.UNKNOWN:
        return _UNKNOWN
    if state is Health.UNREACHABLE:
        match = _BEHIND.match(reason)
        return Seen(_NONE, frozenset(AVAILABILITY), offline=True, behind=match.group("parent") if match else "")
    if state is Health.DOWN:
        if cause is Cause.NETWORK:
            return _SITE_DOWN
        return Seen({FaultKind.DEVICE_DOWN: reason}, frozenset(AVAILABILITY), offline=True)
    found: dict[FaultKind, list[str]] = {}
    for text in (t.strip() for t in reason.split("; ")):
        if not text or text in ("answering", "answering again", _POWER_NOTE):
            continue
        found.setdefault(problem_kind(text), []).append(text)
    power = _POWER_NOTE in reason
    if not found and not power:
        return _FINE
    return Seen({kind: "; ".join(texts) for kind, texts in found.items()}, _HEALTH_KINDS, power=power)
