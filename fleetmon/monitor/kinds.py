"""The probe kinds `fleetmon run` schedules: which devices each applies to, and which decides up/down.

Every kind is a prober of `fleetmon.probes.registry.PROBES`; this module adds what only the
inventory knows (which devices a kind applies to, which kind is a device's liveness) and how
a result becomes an `Observation` (`fleetmon.monitor.observe`, with the configured thresholds).
It never names a protocol module.

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
from fleetmon.probes.findings import ClockCorrection
from fleetmon.probes.registry import PROBES, CameraResult, ProbeClients, knows_storage_api
from fleetmon.probes.target import Target

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
    return device.kind is DeviceKind.NVR and Protocol.HTTP in protocols(device) and knows_storage_api(firmware_family(device.vendor))


def is_onvif_camera(device: Device) -> bool:
    return device.kind is DeviceKind.CAMERA and Protocol.ONVIF in protocols(device)


def has_snmp_credentials(config: Config) -> Callable[[Device], bool]:
    """SNMP is asked only of devices that speak it and whose credential profile says how."""

    def applies(device: Device) -> bool:
        profile = config.profile(device.credential_profile)
        return Protocol.SNMP in protocols(device) and profile is not None and profile.snmp is not None

    return applies


Adapter = Callable[[Any, Target], Observation]  # a kind's result, and the target it was probed as


def runner(clients: ProbeClients, name: str, adapt: Adapter) -> ProbeRunner:
    probe = PROBES[name]

    async def run(target: Target) -> Observation:
        return adapt(await probe(target, clients), target)

    return run


ClockCorrected = Callable[[ClockCorrection], None]


def camera_adapter(config: Config, on_corrected: ClockCorrected) -> Adapter:
    """ONVIF details and the stream; a clock the prober set right goes to `on_corrected`, to be recorded."""

    def adapt(result: CameraResult, target: Target) -> Observation:
        if result.clock_correction is not None and result.clock_correction.corrected:
            on_corrected(result.clock_correction)
        return observe.camera(result, target, config.monitor)

    return adapt


def build_kinds(config: Config, clients: ProbeClients, on_corrected: ClockCorrected = lambda correction: None) -> list[ProbeKind]:
    """Every kind of `PROBES`, with the devices it applies to and how its result is read.

    The ONVIF prober sets a drifting clock right when the device's credential profile allows it
    (`correct_clock`), against `monitor.clock_skew_limit`: the targets carry that limit.
    """
    p, rules = config.probes, config.monitor
    return [
        ProbeKind("reachability", p.reachability, applies=has_service_ports, liveness=lambda d: True,
                  run=runner(clients, "reachability", lambda result, target: observe.reachability(result))),
        ProbeKind("snmp", p.snmp, applies=has_snmp_credentials(config), liveness=lambda d: not has_service_ports(d),
                  run=runner(clients, "snmp", lambda result, target: observe.snmp(result, target, rules))),
        ProbeKind("onvif", p.onvif, applies=speaks(Protocol.ONVIF), liveness=lambda d: False,
                  run=runner(clients, "onvif", camera_adapter(config, on_corrected))),
        ProbeKind("snapshot", p.snapshot, applies=is_onvif_camera, liveness=lambda d: False,
                  run=runner(clients, "snapshot", lambda result, target: observe.snapshot(result))),
        ProbeKind("vendor_http", p.vendor_http, applies=has_storage_api, liveness=lambda d: False,
                  run=runner(clients, "vendor_http", lambda result, target: observe.vendor_http(result))),
    ]
