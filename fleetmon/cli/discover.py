"""`fleetmon discover`: find ONVIF devices missing from the inventory and propose their rows.

Addresses come from `--range` (tried with ONVIF GetDeviceInformation) and from WS-Discovery
Probes sent to `--ws-discovery ADDR[:PORT]` (a unit's or a responder's address; a multicast
group such as 239.255.255.250 only when you name it, on the camera network itself). A unit that
answers on several addresses (a recorder with two network ports, a camera on two VLANs) is one
row: its serial says so, and the other addresses are listed in its notes. Devices already in the
store (same address, serial or id) are left out; the rest are written as inventory rows (CSV on
stdout, or a CSV/XLSX file) that `fleetmon inventory import` reads.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import ipaddress
import json
import re
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.inventory.columns import export_headers
from fleetmon.inventory.sheets import write_sheet
from fleetmon.monitor.targets import TargetBuilder
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.discovery import WS_DISCOVERY_PORT, Announcement, Identified, address_range, scan, ws_discover
from fleetmon.probes.target import Credentials, Target
from fleetmon.store.inventory import load_devices


@dataclass(frozen=True, slots=True)
class Found:
    identified: Identified
    announcement: Announcement | None = None
    also_at: tuple[str, ...] = ()  # the same unit (same serial) answering on other addresses

    @property
    def addresses(self) -> list[str]:
        return [self.identified.host, *self.also_at]

    def row(self, profile: str) -> dict[str, Any]:
        """The proposed inventory row, in the sheet's canonical columns."""
        found, identity = self.identified, self.identified.identity
        vendor = identity.manufacturer if identity else (self.announcement.scope("name") if self.announcement else "")
        model = identity.model if identity else (self.announcement.scope("hardware") if self.announcement else "")
        serial = identity.serial if identity else ""
        prefix = "nvr" if found.kind == "nvr" else "cam"
        key = re.sub(r"[^a-z0-9]+", "-", (serial or found.host).lower()).strip("-")
        return {"id": f"{prefix}-{key}", "kind": found.kind, "host": found.host, "vendor": vendor, "model": model,
                "serial": serial, "firmware": identity.firmware if identity else "", "onvif_port": found.port,
                "protocols": "onvif", "credential_profile": profile,
                "notes": f"found by fleetmon discover on {date.today().isoformat()}"
                         + ("" if identity else f" ({found.status.value}: not identified)")
                         + (f"; also answers on {', '.join(self.also_at)}" if self.also_at else "")}


def one_per_unit(found: list[Found]) -> list[Found]:
    """Units answering on several addresses, once: grouped by serial, the first address kept, the others listed."""
    by_serial: dict[str, list[Found]] = {}
    units: list[Found | str] = []
    for item in found:
        identity = item.identified.identity
        serial = re.sub(r"\s+", "", identity.serial).upper() if identity and identity.serial else ""
        if not serial:
            units.append(item)
            continue
        if serial not in by_serial:
            units.append(serial)
        by_serial.setdefault(serial, []).append(item)
    result = []
    for unit in units:
        if isinstance(unit, Found):
            result.append(unit)
            continue
        first, *others = sorted(by_serial[unit], key=lambda f: _address_key(f.identified.host))
        result.append(dataclasses.replace(first, also_at=tuple(o.identified.host for o in others)))
    return result


def _address_key(host: str) -> tuple[int, str]:
    try:
        return (0, f"{int(ipaddress.ip_address(host)):040d}")
    except ValueError:
        return (1, host)


def _ws_address(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[(?P<v6>[^\]]+)\](?::(?P<p6>\d+))?|(?P<host>[^:]+)(?::(?P<port>\d+))?|(?P<bare>[0-9a-fA-F:]+)",
                         text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not ADDR[:PORT]", param_hint="--ws-discovery")
    host = match["v6"] or match["host"] or match["bare"]
    port = match["p6"] or match["port"]
    return host, int(port) if port else WS_DISCOVERY_PORT


def _target(host: str, port: int, credentials: Credentials, timeout: float) -> Target:
    return Target(device_id=host, host=host, onvif_port=port, credentials=credentials, timeout=timeout)


async def _discover(hosts: list[str], onvif_port: int, ws_targets: list[tuple[str, int]], credentials: Credentials,
                    timeout: float, concurrency: int) -> list[Found]:
    announcements: dict[tuple[str, int], Announcement] = {}
    for address, port in ws_targets:
        for announcement in await ws_discover(address, port, timeout=min(timeout, 3.0)):
            where = announcement.host_port
            if where is not None:
                announcements.setdefault(where, announcement)
    wanted = {(host, onvif_port): None for host in hosts} | dict.fromkeys(announcements)
    async with AsyncExitStack() as stack:
        clients = await OnvifClients.start(stack)
        identified = await scan([_target(h, p, credentials, timeout) for h, p in wanted], clients,
                                concurrency=concurrency)
    return one_per_unit([Found(item, announcements.get((item.host, item.port))) for item in identified
                         if item.answered or (item.host, item.port) in announcements])


@click.command()
@click.option("--range", "ranges", multiple=True, metavar="A-B|CIDR",
              help="Addresses to try ONVIF on, e.g. 127.100.0.1-127.100.0.50 or 10.1.2.0/24 (repeatable).")
@click.option("--ws-discovery", "ws_targets", multiple=True, metavar="ADDR[:PORT]",
              help=f"Send a WS-Discovery Probe there (port {WS_DISCOVERY_PORT} unless given; repeatable).")
@click.option("--port", "onvif_port", type=click.IntRange(1, 65535), default=80, show_default=True,
              help="ONVIF port tried on --range addresses.")
@click.option("--profile", default="", help="Credential profile to log in with (default: default_credentials).")
@click.option("--user", default="", help="ONVIF user name (instead of the profile's).")
@click.option("--password", default="", help="Prefer --profile: a password on the command line is visible to other users.")
@click.option("--timeout", type=click.FloatRange(0.1, 60), default=3.0, show_default=True, help="Seconds per device.")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per device found, known ones included.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the proposed rows to this CSV or XLSX file instead of stdout.")
@click.option("--vietnamese", is_flag=True, help="Vietnamese column headers.")
@pass_app
def discover(app: AppContext, /, ranges: tuple[str, ...], ws_targets: tuple[str, ...], onvif_port: int, profile: str,
             user: str, password: str, timeout: float, concurrency: int, as_json: bool, output: Path | None,
             vietnamese: bool) -> None:
    """Identify ONVIF devices (vendor, model, serial) and propose inventory rows for the new ones."""
    if not ranges and not ws_targets:
        raise click.UsageError("give --range and/or --ws-discovery")
    try:
        hosts = [host for text in ranges for host in address_range(text)]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--range") from None
    base = TargetBuilder(app.config).credentials(profile)
    credentials = dataclasses.replace(base, username=user or base.username,
                                      password=SecretStr(password) if password else base.password)
    found = asyncio.run(_discover(hosts, onvif_port, [_ws_address(t) for t in ws_targets], credentials, timeout,
                                  concurrency))
    with app.engine.connect() as conn:
        stored = load_devices(conn)
    known_keys = {d.host for d in stored.values()} | {d.serial for d in stored.values() if d.serial} | set(stored)
    profile_name = profile or app.config.default_credentials or ""
    rows = []
    for item in found:
        row = item.row(profile_name)
        known = bool(({row["serial"], row["id"], *item.addresses} - {""}) & known_keys)
        if as_json:
            click.echo(json.dumps({"status": item.identified.status.value, "known": known, "error": item.identified.error,
                                   "addresses": item.addresses, "row": row}, ensure_ascii=False))
        if not known:
            rows.append(row)
    several = sum(1 for item in found if item.also_at)
    click.echo(f"found {len(found)} ONVIF device(s)" + (f" ({several} answering on several addresses)" if several else "")
               + f", {len(found) - len(rows)} already in the inventory, {len(rows)} proposed", err=True)
    if as_json:
        return
    if output is not None:
        write_sheet(output, rows, vietnamese_headers=vietnamese)
        click.echo(f"wrote {len(rows)} rows to {output}", err=True)
        return
    columns = export_headers(vietnamese)
    writer = csv.writer(sys.stdout)
    writer.writerow([header for _, header in columns])
    for row in rows:
        writer.writerow([row.get(name, "") for name, _ in columns])
