"""The probe kinds `fleetmon run` schedules: which devices each applies to, and which decides up/down.

A device's liveness comes from one probe: service-port reachability for cameras and recorders
(whatever answers ping, a camera with dead services records nothing), SNMP for switches, which
usually have nothing else to ask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleetmon.config import Config
from fleetmon.health.model import Observation
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.inventory.vendors import firmware_family
from fleetmon.monitor import observe
from fleetmon.monitor.service import ProbeKind
from fleetmon.monitor.sweep import ProbeRunner
from probes.registry import PROBES, ProbeClients
from probes.target import Target
from probes.vendor_http import STORAGE_APIS

DEFAULT_PROTOCOLS: dict[DeviceKind, tuple[Protocol, ...]] = {
    DeviceKind.CAMERA: (Protocol.ONVIF,),
    DeviceKind.NVR: (Protocol.ONVIF, Protocol.SNMP, Protocol.HTTP),
    DeviceKind.SWITCH: (Protocol.SNMP,),
    DeviceKind.OTHER: (Protocol.ONVIF,),
}


def protocols(device: Device) -> tuple[Protocol, ...]:
    """What to probe: the inventory's choice, or what units of its kind usually speak."""
    return device.protocols or DEFAULT_PROTOCOLS[device.kind]


def speaks(protocol: Protocol) -> Callable[[Device], bool]:
    return lambda device: protocol in protocols(device)


def has_service_ports(device: Device) -> bool:
    return bool({Protocol.ONVIF, Protocol.HTTP} & set(protocols(device)))


def has_storage_api(device: Device) -> bool:
    """Recorders whose vendor's web API fleetmon reads (KBVision units run Dahua firmware)."""
    return device.kind is DeviceKind.NVR and Protocol.HTTP in protocols(device) and firmware_family(device.vendor) in STORAGE_APIS


def has_snmp_credentials(config: Config) -> Callable[[Device], bool]:
    """SNMP is asked only of devices that speak it and whose credential profile says how."""

    def applies(device: Device) -> bool:
        profile = config.profile(device.credential_profile)
        return Protocol.SNMP in protocols(device) and profile is not None and profile.snmp is not None

    return applies


def runner(clients: ProbeClients, name: str, adapt: Callable[[Any], Observation]) -> ProbeRunner:
    probe = PROBES[name]

    async def run(target: Target) -> Observation:
        return adapt(await probe(target, clients))

    return run


def build_kinds(config: Config, clients: ProbeClients) -> list[ProbeKind]:
    p = config.probes
    return [
        ProbeKind("reachability", p.reachability, applies=has_service_ports, liveness=lambda d: True,
                  run=runner(clients, "reachability", observe.reachability)),
        ProbeKind("snmp", p.snmp, applies=has_snmp_credentials(config),
                  liveness=lambda d: not has_service_ports(d), run=runner(clients, "snmp", observe.snmp)),
        ProbeKind("vendor_http", p.vendor_http, applies=has_storage_api,
                  liveness=lambda d: False, run=runner(clients, "vendor_http", observe.vendor_http)),
    ]
