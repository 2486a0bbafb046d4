"""A transition's reasons sorted into kinds of fault that a budget officer can count and compare.

The monitor writes reasons for technicians ("disk 2 (HDD2): failed", "picture frozen: ...");
a report counts them by kind. The words matched here are the ones `fleetmon.health` and
`fleetmon.monitor.observe` write; a reason nothing matches is `other`, never dropped.
"""

from __future__ import annotations

from fleetmon.health.model import Cause, Health

# Checked in order; the first kind whose words appear in a reason wins.
_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("power", ("power cut", "restarted during the outage")),
    ("site_offline", ("whole site",)),
    ("behind_parent", ("which is offline",)),
    ("login", ("login", "password")),
    ("disk", ("disk", "volume", "hdd", "unformatted")),
    ("recording", ("recording stopped", "no footage")),
    ("retention", ("days of footage",)),
    ("clock", ("clock",)),
    ("picture", ("picture",)),
    ("stream", ("video stream",)),
    ("swapped", ("serial", "unit swapped")),
    ("reboot_loop", ("reboot loop",)),
    ("flapping", ("flapping",)),
    ("port", ("port ",)),
    ("unit_status", ("reports itself",)),
)

KINDS: tuple[str, ...] = ("offline", *(kind for kind, _ in _WORDS), "other")


def kind_of(reason: str) -> str | None:
    text = reason.lower()
    for kind, words in _WORDS:
        if any(word in text for word in words):
            return kind
    return None


def kinds_of(state: Health, reason: str, cause: Cause, power_outage: bool = False) -> frozenset[str]:
    """The kinds of fault a device in `state` has, from its transition's reason and cause.

    `power_outage`: the outage this state belongs to ended with the unit restarted, so it was a
    power cut whatever the monitor thought while it lasted.
    """
    if state in (Health.UP, Health.UNKNOWN):
        return frozenset()
    if state in (Health.DOWN, Health.UNREACHABLE):
        if power_outage or cause is Cause.POWER:
            return frozenset({"power"})
        kind = kind_of(reason)
        if kind == "login":
            return frozenset({"login"})
        if kind in ("site_offline", "behind_parent"):
            return frozenset({kind})
        if state is Health.UNREACHABLE:
            return frozenset({"behind_parent"})
        return frozenset({"site_offline" if cause is Cause.NETWORK else "offline"})
    # A unit back from an outage with problems says so in the same reason ("...; restarted during
    # the outage (power cut?)"): that outage was counted already, as a power cut.
    found = {kind_of(part) or "other" for part in reason.split("; ") if part.strip()} - {"power"}
    return frozenset(found or {"other"})
