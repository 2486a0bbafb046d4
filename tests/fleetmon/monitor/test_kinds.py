"""The kinds the monitor schedules and the prober map agree: no kind is composed outside the registry."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fleetmon.config import Config
from fleetmon.monitor.kinds import build_kinds
from fleetmon.probes.registry import PROBES, ProbeClients


async def test_every_scheduled_kind_is_a_prober_of_the_registry_and_every_prober_is_scheduled() -> None:
    async with AsyncExitStack() as stack:
        kinds = build_kinds(Config(), await ProbeClients.start(stack))
    assert [k.name for k in kinds] == list(PROBES)
