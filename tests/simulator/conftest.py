"""Fixtures of the simulator's tests: the three-device fleet of `net_snmp.py` and its SNMP agent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.snmp_agent import SnmpAgent
from tests.simulator.net_snmp import running_agent, small_fleet


@pytest.fixture
def fleet() -> Fleet:
    return small_fleet()


@pytest.fixture
def control(fleet: Fleet) -> FaultControl:
    return FaultControl(fleet)


@pytest.fixture
async def agent(fleet: Fleet) -> AsyncIterator[SnmpAgent]:
    async with running_agent(fleet) as running:
        yield running
