"""The simulator plays hostile units, and fleetmon's own probes meet each as they would a real one:
one typed failure within the probe's timeout, never an exception."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import probe_onvif
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.snmp.client import SnmpClient
from fleetmon.probes.snmp.probe import probe_snmp
from fleetmon.probes.target import Credentials, SnmpV2c, Target
from fleetmon.simulator.control import FaultControl, FaultSpec, parse_spec
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import default_services, start_fleet
from fleetmon.simulator.snmp_agent import SnmpSettings
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME
from tests.peers import free_port

TIMEOUT = 1.0
CREDENTIALS = Credentials(DEMO_USERNAME, DEMO_PASSWORD, snmp=SnmpV2c(SnmpSettings().community))


@dataclasses.dataclass
class Played:
    control: FaultControl
    target: Target


@pytest.fixture
async def played() -> AsyncIterator[Played]:
    web, snmp = free_port(), free_port()
    device = Device(id="nvr-1", kind=DeviceKind.NVR, host="127.0.81.1", onvif_port=web, http_port=web, snmp_port=snmp,
                    rtsp_port=free_port())
    async with AsyncExitStack() as stack:
        started = await start_fleet(stack, Fleet.from_inventory([device]), control_port=free_port(), services=default_services())
        yield Played(started.control, Target(device.id, device.host, onvif_port=web, snmp_port=snmp, credentials=CREDENTIALS,
                                             timeout=TIMEOUT, kind="nvr"))


@pytest.mark.parametrize(("spec", "status"), [
    ("hang:nvr-1", ProbeStatus.TIMEOUT),
    ("drip=0.2:nvr-1", ProbeStatus.TIMEOUT),
    ("huge_reply:nvr-1", ProbeStatus.PROTOCOL_ERROR),
    ("xml_bomb:nvr-1", ProbeStatus.PROTOCOL_ERROR),
])
async def test_hostile_web_answers_cost_onvif_one_typed_failure(played: Played, spec: str, status: ProbeStatus) -> None:
    async with AsyncExitStack() as stack:
        clients = await OnvifClients.start(stack)
        assert (await probe_onvif(played.target, clients)).status is ProbeStatus.OK
        played.control.apply(parse_spec(spec))
        started = time.monotonic()
        result = await probe_onvif(played.target, clients)
        assert result.status is status, result.error
        assert time.monotonic() - started < TIMEOUT + 0.5


async def test_garbage_ber_is_an_snmp_protocol_error(played: Played) -> None:
    async with AsyncExitStack() as stack:
        client = await SnmpClient.start(stack, sockets=1)
        assert (await probe_snmp(played.target, client)).status is ProbeStatus.OK
        played.control.apply(FaultSpec(Fault.GARBAGE_BER, device="nvr-1"))
        result = await probe_snmp(played.target, client)
        assert result.status is ProbeStatus.PROTOCOL_ERROR, result.error


def test_hostile_params_are_bounded() -> None:
    assert parse_spec("drip=0.5:cam-1").param == 0.5
    with pytest.raises(ValueError, match="must be a finite number"):
        FaultControl(Fleet()).apply(FaultSpec(Fault.HUGE_REPLY, param=float("inf"), device="x"))
