"""`fleetmon simulate`: play an inventory as a fleet on loopback; `simulate fault/clear/devices` steer it.

The running simulator listens for faults on a JSON control API on 127.0.0.1 (see
`fleetmon.simulator.control`); the sub-commands are its clients, so faults can be set from another shell
while the monitor watches. The API asks for a token made per run: `simulate` prints it and writes it
to a file only its user can read, which the sub-commands read (`--token-file`, default per port).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import click
import httpx
from pydantic import SecretStr

from fleetmon.inventory.importer import read_devices
from fleetmon.simulator.control import FaultError, default_token_file, parse_fault, parse_spec, read_token
from fleetmon.simulator.discovery import DEFAULT_DISCOVERY_PORT
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.runner import DEFAULT_CONTROL_PORT, Started, default_services, run
from fleetmon.simulator.snmp_agent import SnmpSettings
from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME, HttpSettings

control_port_option = click.option("--control-port", type=click.IntRange(1, 65535), default=DEFAULT_CONTROL_PORT,
                                   show_default=True, help="Port of the simulator's control API on 127.0.0.1.")
token_file_option = click.option("--token-file", type=click.Path(path_type=Path, dir_okay=False),
                                 help="File holding the control API's token (default: per port, in $XDG_RUNTIME_DIR/fleetmon "
                                      "or ~/.cache/fleetmon).")


@click.group(invoke_without_command=True)
@click.option("--inventory", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Inventory sheet (CSV or XLSX) whose devices to emulate.")
@click.option("--fault", "faults", multiple=True, metavar="SPEC",
              help="Start-up fault, repeatable: offline:cam-000012, slow=3:nvr-0001-1, packet_loss=5:10%.")
@control_port_option
@token_file_option
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for disks, boot times and random shares.")
@click.option("--snmp-community", envvar="FLEETMON_SIM_SNMP_COMMUNITY", default="public", show_default=True)
@click.option("--snmp-user", envvar="FLEETMON_SIM_SNMP_USER", default="fleetmon", show_default=True)
@click.option("--snmp-auth-key", envvar="FLEETMON_SIM_SNMP_AUTH_KEY", default="fleetmon-demo-auth",
              help="SNMPv3 SHA pass phrase (demo default; env FLEETMON_SIM_SNMP_AUTH_KEY).")
@click.option("--snmp-priv-key", envvar="FLEETMON_SIM_SNMP_PRIV_KEY", default="fleetmon-demo-priv",
              help="SNMPv3 AES pass phrase (demo default; env FLEETMON_SIM_SNMP_PRIV_KEY).")
@click.option("--web-username", envvar="FLEETMON_SIM_WEB_USERNAME", default=DEMO_USERNAME, show_default=True,
              help="Login of every device's ONVIF and web API.")
@click.option("--web-password", envvar="FLEETMON_SIM_WEB_PASSWORD", default=DEMO_PASSWORD.get_secret_value(),
              show_default=False, help="Its password (demo default; env FLEETMON_SIM_WEB_PASSWORD).")
@click.option("--ws-discovery-port", type=click.IntRange(0, 65535), default=DEFAULT_DISCOVERY_PORT, show_default=True,
              help="UDP port answering WS-Discovery Probes sent to loopback addresses (0: none).")
@click.pass_context
def simulate(ctx: click.Context, inventory: Path | None, faults: tuple[str, ...], control_port: int,
             token_file: Path | None, seed: int,
             snmp_community: str, snmp_user: str, snmp_auth_key: str, snmp_priv_key: str,
             web_username: str, web_password: str, ws_discovery_port: int) -> None:
    """Emulate every device of an inventory on its own loopback address, until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    if inventory is None:
        raise click.UsageError("give --inventory FILE, or a sub-command (fault, clear, devices)")

    try:
        specs = [parse_spec(spec) for spec in faults]
    except FaultError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    fleet = Fleet.from_inventory(read_devices(inventory), seed=seed)
    snmp = SnmpSettings(community=SecretStr(snmp_community), user=snmp_user, auth_key=SecretStr(snmp_auth_key),
                        priv_key=SecretStr(snmp_priv_key))
    web = HttpSettings(username=web_username, password=SecretStr(web_password))

    token_path = token_file or default_token_file(control_port)

    def started(what: Started) -> None:
        click.echo(f"simulating {len(fleet.devices)} devices on loopback: {', '.join(what.endpoints)}")
        click.echo(f"control API http://127.0.0.1:{what.control_port}/devices, header 'Authorization: Bearer {what.token}' "
                   f"(token in {token_path}, read by `fleetmon simulate fault/clear/devices`); Ctrl-C stops", )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(fleet, on_started=started, control_port=control_port, faults=specs, token_file=token_path,
                        services=default_services(web), snmp=snmp, discovery_port=ws_discovery_port or None))


def _call(control_port: int, token_file: Path | None, method: str, path: str, **kwargs: Any) -> Any:
    source = token_file or default_token_file(control_port)
    token = read_token(source)
    if token is None:
        raise click.ClickException(f"no simulator token in {source}: is `fleetmon simulate --control-port {control_port}` "
                                   "running as this user? (or give --token-file)")
    try:
        response = httpx.request(method, f"http://127.0.0.1:{control_port}{path}", timeout=10,
                                 headers={"Authorization": f"Bearer {token}"}, **kwargs)
    except httpx.TransportError as exc:
        raise click.ClickException(f"no simulator on 127.0.0.1:{control_port} ({exc})") from None
    try:
        body = response.json()
    except ValueError:
        raise click.ClickException(f"the simulator answered {response.status_code}: {response.text[:200]}") from None
    if response.status_code >= 400:
        raise click.ClickException(body.get("error", response.text) if isinstance(body, dict) else response.text)
    return body


@simulate.command()
@click.argument("device")
@click.argument("fault")
@click.argument("param", type=float, required=False)
@control_port_option
@token_file_option
def fault(device: str, fault: str, param: float | None, control_port: int, token_file: Path | None) -> None:
    """Set FAULT (with PARAM) on DEVICE, an id or a share of the fleet such as 10%."""
    try:
        name = parse_fault(fault).value
    except FaultError as exc:
        raise click.BadParameter(str(exc), param_hint="FAULT") from None
    body: dict[str, Any] = {"fault": name, "param": param}
    if device.endswith("%"):
        body["share"] = device[:-1]
    else:
        body["device"] = device
    ids = _call(control_port, token_file, "POST", "/faults", json=body)["devices"]
    click.echo(f"{name} set on {len(ids)} device(s): {' '.join(ids[:20])}{' ...' if len(ids) > 20 else ''}")


@simulate.command()
@click.argument("device", required=False)
@click.option("--fault", "fault_name", help="Clear only this fault (default: all).")
@control_port_option
@token_file_option
def clear(device: str | None, fault_name: str | None, control_port: int, token_file: Path | None) -> None:
    """Clear the faults of DEVICE, or of the whole fleet."""
    query = {key: value for key, value in (("device", device), ("fault", fault_name)) if value}
    ids = _call(control_port, token_file, "DELETE", "/faults", params=query)["cleared"]
    click.echo(f"cleared {len(ids)} device(s)")


@simulate.command()
@click.option("--faulty", is_flag=True, help="Only devices with a fault set.")
@control_port_option
@token_file_option
def devices(faulty: bool, control_port: int, token_file: Path | None) -> None:
    """List the emulated devices and their faults, one JSON object a line."""
    for item in _call(control_port, token_file, "GET", "/devices", params={"faulty": "true"} if faulty else {}):
        click.echo(json.dumps(item, ensure_ascii=False))
