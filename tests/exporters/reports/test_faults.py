"""The monitor's own wording sorted into kinds a budget officer compares."""

from __future__ import annotations

import pytest

from fleetmon.exporters.reports.faults import kinds_of
from fleetmon.health.model import Cause, Health


@pytest.mark.parametrize(("reason", "kinds"), [
    ("disk 2 (HDD2): failed (abnormal)", {"disk"}),
    ("volume /dev/sda1 97 % full", {"disk"}),
    ("clock 120 s behind: footage times are wrong", {"clock"}),
    ("recording stopped on channel 1: newest footage 3.0 h old", {"recording"}),
    ("only 12.0 days of footage on 2 channels (1, 2) (required 30)", {"retention"}),
    ("picture frozen: the same frame for 10 minutes; video stream: not answering", {"picture", "stream"}),
    ("answers with serial X, the inventory says Y: unit swapped or inventory out of date", {"swapped"}),
    ("flapping: 12 up/down changes within 1 h", {"flapping"}),
    ("ONVIF: rejecting fleetmon's login (password changed?)", {"login"}),
    ("something new the monitor learnt to say", {"other"}),
    ("clock 90 s ahead; restarted during the outage (power cut?)", {"clock"}),  # the outage was counted already
])
def test_degraded_reasons(reason: str, kinds: set[str]) -> None:
    assert kinds_of(Health.DEGRADED, reason, Cause.NONE) == kinds


def test_outages() -> None:
    assert kinds_of(Health.DOWN, "none of its service ports answer", Cause.DEVICE) == {"offline"}
    assert kinds_of(Health.DOWN, "the whole site Chợ is offline (power or its uplink)", Cause.NETWORK) == {"site_offline"}
    assert kinds_of(Health.UNREACHABLE, "behind nvr-1, which is offline", Cause.NETWORK) == {"behind_parent"}
    assert kinds_of(Health.DOWN, "none of its service ports answer", Cause.DEVICE, power_outage=True) == {"power"}
    assert kinds_of(Health.DOWN, "SNMP: rejecting fleetmon's login (password changed?)", Cause.DEVICE) == {"login"}
    assert kinds_of(Health.UP, "answering", Cause.NONE) == frozenset()
