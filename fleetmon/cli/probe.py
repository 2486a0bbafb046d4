"""`fleetmon probe`: every applicable probe once on one device, as a technician reads it on site."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import click
from pydantic import SecretStr

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.config import Config
from fleetmon.health.model import Observation
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.monitor import observe
from fleetmon.monitor.kinds import build_kinds, protocols
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.probes.findings import DeviceIdentity
from fleetmon.probes.registry import PROBES, CameraResult, ProbeClients
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.rtsp import RtspResult
from fleetmon.probes.snmp.probe import Identity, SnmpResult
from fleetmon.probes.target import Credentials, SnmpV2c, SnmpV3, Target
from fleetmon.probes.units import human_bytes
from fleetmon.store.inventory import load_devices

MAX_CHANNEL_LINES = 4


def _find(app: AppContext, key: str, kind: str, vendor: str, ports: dict[str, int | None]) -> Device:
    with app.engine.connect() as conn:
        known = load_devices(conn)
    device = known.get(key) or next((d for d in known.values() if key in (d.host, d.serial)), None)
    if device is not None:
        return device
    return Device(id=key, kind=DeviceKind(kind), host=key, vendor=vendor,
                  protocols=tuple(Protocol) if kind == "nvr" else (), **ports)  # type: ignore[arg-type]


def _credentials(config: Config, device: Device, options: dict[str, Any]) -> Credentials:
    base = TargetBuilder(config).credentials(options["profile"] or device.credential_profile)
    snmp: SnmpV2c | SnmpV3 | None = base.snmp
    if options["snmp_community"] and options["snmp_user"]:
        raise click.UsageError("give --snmp-community (v2c) or --snmp-user (v3), not both")
    if options["snmp_context"] and not options["snmp_user"] and not isinstance(snmp, SnmpV3):
        raise click.UsageError("--snmp-context is an SNMPv3 contextName: give it with --snmp-user or a v3 profile")
    if options["snmp_community"]:
        snmp = SnmpV2c(community=SecretStr(options["snmp_community"]))
    elif options["snmp_user"]:
        snmp = SnmpV3(
            user=options["snmp_user"], auth_protocol=options["snmp_auth_protocol"],
            auth_key=SecretStr(options["snmp_auth_key"]) if options["snmp_auth_key"] else None,
            priv_protocol=options["snmp_priv_protocol"],
            priv_key=SecretStr(options["snmp_priv_key"]) if options["snmp_priv_key"] else None,
            context=options["snmp_context"],
        )
    elif options["snmp_context"] and isinstance(snmp, SnmpV3):
        snmp = dataclasses.replace(snmp, context=options["snmp_context"])
    password = SecretStr(options["password"]) if options["password"] else base.password
    return Credentials(username=options["user"] or base.username, password=password, snmp=snmp,
                       correct_clock=base.correct_clock, ntp_server=base.ntp_server)


@dataclass(slots=True)
class Report:
    """What one `fleetmon probe` saw: each probe's observation, and who the unit says it is."""

    observations: list[Observation] = field(default_factory=list)
    identity: Identity | None = None
    skipped: list[str] = field(default_factory=list)  # why a probe the user may expect did not run
    stream: RtspResult | None = None  # the RTSP check after ONVIF, even a first miss (the monitor waits for two)
    stream_skipped: str = ""  # why there was no stream check, when ONVIF ran

    def learn(self, said: Identity) -> None:
        """What the unit says it is, from SNMP and ONVIF: a field one left empty the other may fill."""
        known = self.identity
        if known is not None:
            said = Identity(*(getattr(known, f.name) or getattr(said, f.name) for f in dataclasses.fields(Identity)))
        self.identity = said if any(dataclasses.astuple(said)) else None


def _onvif_identity(found: DeviceIdentity) -> Identity:
    return Identity(vendor=found.manufacturer, model=found.model, serial=found.serial, firmware=found.firmware,
                    hardware=found.hardware_id)


def _stream_skipped(result: CameraResult) -> str:
    if result.onvif.status is ProbeStatus.AUTH_FAILED:
        return "not checked: the ONVIF login was refused"
    if not result.onvif.ok:
        return f"not checked: ONVIF {result.onvif.status.value}"
    if not any(p.stream_uri for p in result.onvif.profiles):
        return "not checked: the camera named no stream over ONVIF"
    return "not checked: the ONVIF calls took the whole probe timeout"


async def _probe_all(config: Config, device: Device, credentials: Credentials, snmp_asked: bool) -> Report:
    """Every probe that applies; SNMP also when the command line gave SNMP credentials (no profile needed)."""
    report = Report()
    async with AsyncExitStack() as stack:
        clients = await ProbeClients.start(stack)
        builder = TargetBuilder(config)
        for kind in build_kinds(config, clients):
            snmp = kind.name == "snmp"
            if not (kind.applies(device) or (snmp and snmp_asked)):
                if snmp and Protocol.SNMP in protocols(device) and credentials.snmp is None:
                    report.skipped.append("snmp: no SNMP credentials (give --snmp-community or --snmp-user, "
                                          "or a credential profile with snmp)")
                continue
            target: Target = dataclasses.replace(builder.target(device, kind.schedule.timeout), credentials=credentials)
            if snmp:  # run here rather than through the kind, to show what the unit says it is
                result = await PROBES["snmp"](target, clients)
                assert isinstance(result, SnmpResult)
                if result.ok:
                    report.learn(result.identity)
                report.observations.append(observe.snmp(result, target, config.monitor))
            elif kind.name == "onvif":  # likewise, and the stream check whatever it found (on site, one run is all there is)
                camera = await PROBES["onvif"](target, clients)
                assert isinstance(camera, CameraResult)
                if camera.onvif.ok and camera.onvif.identity is not None:
                    report.learn(_onvif_identity(camera.onvif.identity))
                report.stream = camera.stream_check
                report.stream_skipped = "" if camera.stream_check else _stream_skipped(camera)
                report.observations.append(observe.onvif(camera.onvif, target, config.monitor, camera.stream_check))
            else:
                report.observations.append(await kind.run(target))
        return report


def _facts(obs: Observation) -> list[str]:
    lines = []
    if obs.uptime_seconds is not None:
        lines.append(f"up for {_age(obs.uptime_seconds) if obs.uptime_seconds < 2 * 86400 else f'{obs.uptime_seconds / 86400:.1f} days'}")
    if obs.clock_skew_seconds is not None:
        lines.append(f"clock {'ahead' if obs.clock_skew_seconds > 0 else 'behind'} by {abs(obs.clock_skew_seconds):.0f} s")
    for volume in obs.volumes or ():
        lines.append(f"volume {volume.name}: {human_bytes(volume.used_bytes)} of {human_bytes(volume.size_bytes)} used")
    for disk in obs.disks or ():
        free = f", {human_bytes(disk.free_bytes)} free" if disk.free_bytes is not None else ""
        of = f" of {human_bytes(disk.capacity_bytes)}" if disk.free_bytes is not None and disk.capacity_bytes else ""
        label = disk.name if disk.name.lower().startswith("disk") else f"disk {disk.name}"
        lines.append(f"{label}: {disk.state}{free}{of}")
    recordings = obs.recordings or ()
    for rec in recordings[:MAX_CHANNEL_LINES]:
        lines.append(f"channel {rec.channel}: newest footage {_age(rec.age_seconds(time.time()) or 0.0)} old"
                     + (f", reaching back {(time.time() - rec.earliest) / 86400:.1f} days" if rec.earliest else ""))
    if len(recordings) > MAX_CHANNEL_LINES:
        lines.append(f"... and {len(recordings) - MAX_CHANNEL_LINES} more channels (--json lists all)")
    return lines


def _worded(problem: str) -> str:
    """A problem as a technician reads it: "picture blurred: blurred: sharpness..." says "blurred" once."""
    return re.sub(r"^picture (\w+): \1: ", r"picture \1: ", problem)


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


@click.command()
@click.argument("device")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--kind", type=click.Choice([k.value for k in DeviceKind]), default="camera", show_default=True,
              help="For an address not in the inventory.")
@click.option("--vendor", default="", help="For an address not in the inventory (hikvision, dahua, ...).")
@click.option("--onvif-port", type=int)
@click.option("--rtsp-port", type=int)
@click.option("--http-port", type=int)
@click.option("--snmp-port", type=int)
@click.option("--profile", default="", help="Credential profile from the config.")
@click.option("--user", default="")
@click.option("--password", default="", help="Prefer --profile: a password on the command line is visible to other users.")
@click.option("--snmp-community", default="")
@click.option("--snmp-user", default="")
@click.option("--snmp-auth-protocol", type=click.Choice(["md5", "sha", "sha224", "sha256", "sha384", "sha512"]), default="sha")
@click.option("--snmp-auth-key", default="")
@click.option("--snmp-priv-protocol", type=click.Choice(["des", "aes", "aes192", "aes256"]), default="aes")
@click.option("--snmp-priv-key", default="")
@click.option("--snmp-context", default="", help="SNMPv3 contextName (agents serving several contexts, proxies).")
@pass_app
def probe(app: AppContext, /, device: str, as_json: bool, kind: str, vendor: str, **options: Any) -> None:
    """Probe DEVICE (inventory id, serial or address) once with every applicable probe."""
    ports = {name: options.pop(name) for name in ("onvif_port", "rtsp_port", "http_port", "snmp_port")}
    found = _find(app, device, kind, vendor, ports)
    found = dataclasses.replace(found, **{k: v for k, v in ports.items() if v is not None})
    snmp_asked = bool(options["snmp_community"] or options["snmp_user"])
    report = asyncio.run(_probe_all(app.config, found, _credentials(app.config, found, options), snmp_asked))
    observations = report.observations
    if not observations:
        why = "; ".join(report.skipped) or "it names no protocol fleetmon can probe"
        raise click.ClickException(f"no probe applies to {found.id}: {why}")
    identity = report.identity
    if as_json:
        click.echo(json.dumps({"device": found.id, "host": found.host,
                               "identity": dataclasses.asdict(identity) if identity else None,
                               "stream": _stream_json(report), "skipped": report.skipped,
                               "probes": [_jsonable(o) for o in observations]}, indent=2))
        return
    said = identity.describe() if identity and (identity.model or identity.serial or identity.vendor) else ""
    recorded = " ".join(p for p in (found.vendor, found.model) if p) or "unknown vendor"
    click.echo(f"{found.id} ({found.kind.value}, {recorded}) at {found.host}; "
               f"probes: {', '.join(o.probe for o in observations)}")
    if said:
        click.echo(f"the unit says it is: {said}")
    for line in report.skipped:
        click.echo(f"not run: {line}")
    for obs in observations:
        click.echo(f"\n{obs.probe}: {obs.status.value} in {obs.duration_seconds * 1000:.0f} ms"
                   + (f" ({obs.error})" if obs.error and not obs.alive else ""))
        for line in _facts(obs) + (_stream_lines(report) if obs.probe == "onvif" else []):
            click.echo(f"  {line}")
        for problem in obs.problems:
            click.echo(f"  PROBLEM: {_worded(problem)}")
    problems = [p for o in observations for p in o.problems]
    click.echo(f"\n{'no problems found' if not problems else f'{len(problems)} problem(s) found'}")


def _stream_lines(report: Report) -> list[str]:
    stream = report.stream
    if stream is None:
        return [f"video stream: {report.stream_skipped}"] if report.stream_skipped else []
    if not stream.ok:
        return [f"video stream: {stream.status.value}" + (f" ({stream.error})" if stream.error else "")]
    codec = f", {stream.video_codec}" if stream.video_codec else ", no video track"
    return [f"video stream: ok in {stream.duration_seconds * 1000:.0f} ms{codec}"]


def _stream_json(report: Report) -> dict[str, Any] | None:
    stream = report.stream
    if stream is None:
        return {"status": "not_checked", "error": report.stream_skipped} if report.stream_skipped else None
    return {"status": stream.status.value, "duration_seconds": stream.duration_seconds, "error": stream.error,
            "video_codec": stream.video_codec}


def _jsonable(obs: Observation) -> dict[str, Any]:
    data = dataclasses.asdict(obs)
    data["status"] = obs.status.value
    return data
