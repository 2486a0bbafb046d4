"""The probe kinds `fleetmon run` schedules: which devices each applies to, and which decides up/down.

A device's liveness comes from one probe: service-port reachability for cameras and recorders
(whatever answers ping, a camera with dead services records nothing), SNMP for switches, which
usually have nothing else to ask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleetmon.config import Config
from fleetmon.health.model import Observation
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.inventory.vendors import firmware_family
from fleetmon.monitor import observe
from fleetmon.monitor.service import ProbeKind
from fleetmon.monitor.sweep import ProbeRunner
from fleetmon.probes.http.snapshot import probe_snapshot
from fleetmon.probes.http.vendor_api import STORAGE_APIS
from fleetmon.probes.image_quality import ImageFingerprint
from fleetmon.probes.onvif.clock import ClockCorrection, correct_clock
from fleetmon.probes.onvif.probe import OnvifResult, probe_onvif
from fleetmon.probes.registry import PROBES, ProbeClients
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.rtsp import RtspResult, probe_rtsp
from fleetmon.probes.target import Target

MIN_RTSP_SECONDS = 0.5  # below this, the stream check waits for the next sweep

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


def is_onvif_camera(device: Device) -> bool:
    return device.kind is DeviceKind.CAMERA and Protocol.ONVIF in protocols(device)


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


@dataclass(slots=True)
class CameraMemory:
    """What the picture checks need between probes: where the snapshot is (learnt over ONVIF) and
    the previous and reference frames' fingerprints (a frozen image is one that never changes; a
    moved scene is one unlike the reference)."""

    snapshot_uris: dict[str, str] = field(default_factory=dict)
    stream_uris: dict[str, str] = field(default_factory=dict)
    stream_failures: dict[str, int] = field(default_factory=dict)  # failing streams only, in a row
    previous: dict[str, ImageFingerprint] = field(default_factory=dict)
    reference: dict[str, ImageFingerprint] = field(default_factory=dict)

    def judge_stream(self, result: RtspResult) -> RtspResult | None:
        """The stream check, once it has failed twice in a row (a loaded unit may miss one DESCRIBE)."""
        if result.ok:
            self.stream_failures.pop(result.device_id, None)
            return result
        failures = self.stream_failures[result.device_id] = self.stream_failures.get(result.device_id, 0) + 1
        return result if failures >= 2 else None

    def keep(self, device_id: str, fingerprint: ImageFingerprint) -> None:
        """Only what each check reads: the frozen check the last frame's digest and patches, the
        moved check the first frame's thumbnail (half the bytes of keeping both whole)."""
        self.previous[device_id] = dataclasses.replace(fingerprint, thumb=b"")
        if device_id not in self.reference:
            self.reference[device_id] = dataclasses.replace(fingerprint, digest=b"", patches=b"")

    def forget(self, device_id: str) -> None:
        self.snapshot_uris.pop(device_id, None)
        self.stream_uris.pop(device_id, None)

    def learn(self, result: OnvifResult) -> None:
        profile = next((p for p in result.profiles if p.snapshot_uri or p.stream_uri), None)
        if profile is None:
            return
        if profile.snapshot_uri:
            self.snapshot_uris[result.device_id] = profile.snapshot_uri
        if profile.stream_uri:
            self.stream_uris[result.device_id] = profile.stream_uri


ClockCorrected = Callable[[ClockCorrection], None]


def onvif_runner(clients: ProbeClients, config: Config, memory: CameraMemory, on_corrected: ClockCorrected) -> ProbeRunner:
    """ONVIF details, then an RTSP OPTIONS/DESCRIBE on the stream it names: is there video at all.

    A clock beyond the limit is set right when the device's credential profile allows it
    (`correct_clock`); what was done goes to `on_corrected`, to be recorded.
    """

    async def run(target: Target) -> Observation:
        known = target.device_id in memory.stream_uris
        result = await probe_onvif(target, clients.onvif, media=not known)
        memory.learn(result)
        skew = result.clock_skew_seconds
        if target.credentials.correct_clock and skew is not None and abs(skew) > config.monitor.clock_skew_limit:
            correction = await correct_clock(target, clients.onvif, ntp_server=target.credentials.ntp_server)
            if correction.corrected:
                on_corrected(correction)
                result.clock_skew_seconds = correction.skew_after
        stream = None
        left = target.timeout - result.duration_seconds  # one timeout for both: the sweep's bound
        if result.ok and target.device_id in memory.stream_uris and left > MIN_RTSP_SECONDS:
            stream = memory.judge_stream(await probe_rtsp(dataclasses.replace(target, timeout=left),
                                                          memory.stream_uris[target.device_id]))
        return observe.onvif(result, target, config.monitor, stream)

    return run


def snapshot_runner(clients: ProbeClients, memory: CameraMemory) -> ProbeRunner:
    async def run(target: Target) -> Observation:
        device = target.device_id
        if device not in memory.snapshot_uris:  # not learnt from an ONVIF sweep yet (just started)
            memory.learn(await probe_onvif(target, clients.onvif))
        result = await probe_snapshot(target, clients.http, memory.snapshot_uris.get(device),
                                      memory.previous.get(device), memory.reference.get(device))
        if result.status is ProbeStatus.PROTOCOL_ERROR:  # the address may have changed: ask ONVIF again
            memory.forget(device)
        if result.fingerprint is not None:
            memory.keep(device, result.fingerprint)
        return observe.snapshot(result)

    return run


def build_kinds(config: Config, clients: ProbeClients, on_corrected: ClockCorrected = lambda correction: None) -> list[ProbeKind]:
    p = config.probes
    memory = CameraMemory()
    return [
        ProbeKind("reachability", p.reachability, applies=has_service_ports, liveness=lambda d: True,
                  run=runner(clients, "reachability", observe.reachability)),
        ProbeKind("snmp", p.snmp, applies=has_snmp_credentials(config),
                  liveness=lambda d: not has_service_ports(d), run=runner(clients, "snmp", observe.snmp)),
        ProbeKind("onvif", p.onvif, applies=speaks(Protocol.ONVIF), liveness=lambda d: False,
                  run=onvif_runner(clients, config, memory, on_corrected)),
        ProbeKind("snapshot", p.snapshot, applies=is_onvif_camera, liveness=lambda d: False,
                  run=snapshot_runner(clients, memory)),
        ProbeKind("vendor_http", p.vendor_http, applies=has_storage_api,
                  liveness=lambda d: False, run=runner(clients, "vendor_http", observe.vendor_http)),
    ]
