"""What every web service of the simulator needs from a request: its fleet, its login, its device.

Kept apart from `http_server` (which mounts the services) so the services and the server import
it, never each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from pydantic import SecretStr

from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.state import EmulatedDevice

DEMO_USERNAME = "admin"
DEMO_PASSWORD = SecretStr("fleetmon-demo")
SNAPSHOT_PATH = "/onvif-snapshot/{profile}"  # where GetSnapshotUri points; simulator.snapshot serves it

FLEET = web.AppKey("fleet", Fleet)


@dataclass(frozen=True)
class HttpSettings:
    """The login every emulated device accepts (the demo's, unless `fleetmon simulate` is told otherwise)."""

    username: str = DEMO_USERNAME
    password: SecretStr = field(default=DEMO_PASSWORD)


SETTINGS = web.AppKey("settings", HttpSettings)


class NoDeviceHere(web.HTTPNotFound):
    """A request reached an address no emulated device has."""


def device_of(request: web.Request) -> EmulatedDevice:
    """The device whose address the request was sent to (the socket's local address)."""
    transport = request.transport
    local = transport.get_extra_info("sockname") if transport is not None else None
    found = request.app[FLEET].at(local[0]) if local else None
    if found is None:
        raise NoDeviceHere(text=f"no emulated device at {local[0] if local else '?'}\n")
    return found
