"""`fleetmon probe`: every applicable probe once on one device, as a technician reads it on site."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from contextlib import AsyncExitStack
from typing import Any

import click
from pydantic import SecretStr

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.config import Config
from fleetmon.health.model import Observation
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.monitor.kinds import build_kinds, protocols
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.probes.registry import ProbeClients
from fleetmon.probes.target import Credentials, SnmpV2c, SnmpV3, Target
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
    if options["snmp_community"]:
        snmp = SnmpV2c(community=SecretStr(options["snmp_community"]))
    elif options["snmp_user"]:
        snmp = SnmpV3(
            user=options["snmp_user"], auth_protocol=options["snmp_auth_protocol"],
            auth_key=SecretStr(options["snmp_auth_key"]) if options["snmp_auth_key"] else None,
            priv_protocol=options["snmp_priv_protocol"],
            priv_key=SecretStr(options["snmp_priv_key"]) if options["snmp_priv_key"] else None,
        )
    password = SecretStr(options["password"]) if options["password"] else base.password
    return Credentials(username=options["user"] or base.username, password=password, snmp=snmp)


async def _probe_all(config: Config, device: Device, credentials: Credentials) -> list[Observation]:
    async with AsyncExitStack() as stack:
        clients = await ProbeClients.start(stack)
        kinds = [k for k in build_kinds(config, clients) if k.applies(device)]
        builder = TargetBuilder(config)
        observations = []
        for kind in kinds:
            target: Target = dataclasses.replace(builder.target(device, kind.schedule.timeout), credentials=credentials)
            observations.append(await kind.run(target))
        return observations


def _facts(obs: Observation) -> list[str]:
    lines = []
    if obs.uptime_seconds is not None:
        lines.append(f"up for {obs.uptime_seconds / 86400:.1f} days")
    if obs.clock_skew_seconds is not None:
        lines.append(f"clock {'ahead' if obs.clock_skew_seconds > 0 else 'behind'} by {abs(obs.clock_skew_seconds):.0f} s")
    for volume in obs.volumes or ():
        lines.append(f"volume {volume.name}: {volume.used_bytes / 1e9:.1f} of {volume.size_bytes / 1e9:.1f} GB used")
    for disk in obs.disks or ():
        free = f", {disk.free_bytes / 1e9:.1f} GB free" if disk.free_bytes is not None else ""
        lines.append(f"disk {disk.name}: {disk.state}{free}")
    recordings = obs.recordings or ()
    for rec in recordings[:MAX_CHANNEL_LINES]:
        lines.append(f"channel {rec.channel}: newest footage {_age(rec.age_seconds(time.time()) or 0.0)} old"
                     + (f", reaching back {(time.time() - rec.earliest) / 86400:.1f} days" if rec.earliest else ""))
    if len(recordings) > MAX_CHANNEL_LINES:
        lines.append(f"... and {len(recordings) - MAX_CHANNEL_LINES} more channels (--json lists all)")
    for fault in obs.image_faults or ():
        lines.append(f"picture: {fault}")
    return lines


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
@pass_app
def probe(app: AppContext, device: str, as_json: bool, kind: str, vendor: str, **options: Any) -> None:
    """Probe DEVICE (inventory id, serial or address) once with every applicable probe."""
    ports = {name: options.pop(name) for name in ("onvif_port", "rtsp_port", "http_port", "snmp_port")}
    found = _find(app, device, kind, vendor, ports)
    found = dataclasses.replace(found, **{k: v for k, v in ports.items() if v is not None})
    observations = asyncio.run(_probe_all(app.config, found, _credentials(app.config, found, options)))
    if as_json:
        click.echo(json.dumps({"device": found.id, "host": found.host, "probes": [_jsonable(o) for o in observations]}, indent=2))
        return
    click.echo(f"{found.id} ({found.kind.value}, {found.vendor or 'unknown vendor'} {found.model}) at {found.host}; "
               f"probes: {', '.join(p.value for p in protocols(found))}")
    for obs in observations:
        click.echo(f"\n{obs.probe}: {obs.status.value} in {obs.duration_seconds * 1000:.0f} ms"
                   + (f" ({obs.error})" if obs.error and not obs.alive else ""))
        for line in _facts(obs):
            click.echo(f"  {line}")
        for problem in obs.problems:
            click.echo(f"  PROBLEM: {problem}")
    if not observations:
        raise click.ClickException(f"no probe applies to {found.id}: it names no protocol fleetmon can probe")
    problems = [p for o in observations for p in o.problems]
    click.echo(f"\n{'no problems found' if not problems else f'{len(problems)} problem(s) found'}")


def _jsonable(obs: Observation) -> dict[str, Any]:
    data = dataclasses.asdict(obs)
    data["status"] = obs.status.value
    return data
