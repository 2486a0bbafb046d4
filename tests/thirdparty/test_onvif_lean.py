"""The lean SOAP path and zeep read the third-party ipycam camera the same way (issue 15, part 3).

ipycam's answers are its own code's, not ours: another prefix set, its own field order and
values. Both paths probe it in the same test, with the right password and a wrong one.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from pydantic import SecretStr

from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.probe import probe_onvif
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from tests.probes.test_onvif_lean import same
from tests.thirdparty.conftest import ThirdPartyCamera


@pytest.mark.parametrize("media", [True, False], ids=["first-sweep", "steady-state"])
@pytest.mark.parametrize("right", [True, False], ids=["login", "wrong-password"])
async def test_ipycam_reads_the_same(street_camera: ThirdPartyCamera, media: bool, right: bool) -> None:
    camera = street_camera
    target = Target(device_id="ipycam", host=camera.host, onvif_port=camera.onvif_port, timeout=10.0,
                    credentials=Credentials(camera.username, SecretStr(camera.password if right else "not-it")))
    async with AsyncExitStack() as stack:
        lean = await probe_onvif(target, await OnvifClients.start(stack, lean=True), media=media)
        zeep = await probe_onvif(target, await OnvifClients.start(stack, lean=False), media=media)
    same(lean, zeep)
    if right:
        assert lean.ok, lean.error
        assert lean.identity is not None and (lean.identity.manufacturer, lean.identity.serial) == (
            camera.manufacturer, camera.serial)
        assert lean.clock_skew_seconds is not None and abs(lean.clock_skew_seconds) < 2
    else:
        assert lean.status is ProbeStatus.AUTH_FAILED, lean.error
