"""`fleetmon demo`: the sample province, emulated with a handful of faults, monitored live.

Everything the demo makes lives in its own directory (default `./fleetmon-demo`), never in a real
fleet's store: a config whose secrets are files beside it, the inventory as a sheet, the store.
The simulator runs as a child process (the second core answers, this one probes); the monitor and
`/metrics` run here until Ctrl-C, which stops both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
import yaml

from fleetmon.cli.context import AppContext
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.logs import setup_logging
from fleetmon.process import tune_gc, tune_malloc
from fleetmon.simulator.control import default_token_file, read_token
from fleetmon.store.inventory import apply_plan, device_dicts, load_devices

# Faults a technician would meet in a real province, one of each: (fault, kind, which of that kind).
DEMO_FAULTS = (
    ("offline", DeviceKind.CAMERA, 9),  # a camera switched off
    ("offline", DeviceKind.SWITCH, 2),  # an uplink down: its recorders and cameras are unreachable, one fault
    ("disk_failed", DeviceKind.NVR, 4),
    ("disk_full", DeviceKind.NVR, 6),
    ("recording_stopped", DeviceKind.NVR, 8),
    ("clock_skew=900", DeviceKind.CAMERA, 49),
    ("wrong_password", DeviceKind.CAMERA, 79),
    ("snapshot_black", DeviceKind.CAMERA, 99),
)
BACKGROUND_NOISE = "packet_loss=1:5%"  # 1 % loss on a random 5 % of the fleet: must raise no alarm
DEMO_CONTROL_PORT = 16180


def demo_config(directory: Path, metrics_port: int) -> dict[str, Any]:
    """The demo's fleetmon.yaml: the simulator's documented demo logins, read from files."""
    from fleetmon.simulator.snmp_agent import SnmpSettings
    from fleetmon.simulator.web_context import DEMO_PASSWORD, DEMO_USERNAME

    secrets = directory / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    snmp = SnmpSettings()
    for name, value in {"password": DEMO_PASSWORD.get_secret_value(), "community": snmp.community.get_secret_value()}.items():
        path = secrets / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
    return {
        "data_dir": ".",
        "metrics": {"host": "127.0.0.1", "port": metrics_port},
        "credentials": {
            "demo": {
                "username": DEMO_USERNAME,
                "password": {"file": str(secrets / "password")},
                "snmp": {"version": "2c", "community": {"file": str(secrets / "community")}},
            }
        },
        "default_credentials": "demo",
        # Quicker than a province's defaults where it is cheap (liveness, recorders), the defaults
        # where it is not: ONVIF and pictures of 14,000 cameras fill 2 cores at shorter intervals.
        "probes": {"reachability": {"interval": 20, "timeout": 2}, "snmp": {"interval": 30, "timeout": 3},
                   "onvif": {"interval": 300, "timeout": 5}, "vendor_http": {"interval": 60, "timeout": 5},
                   "snapshot": {"interval": 900, "timeout": 10}},
    }


def prepare(directory: Path, cameras: int, metrics_port: int) -> tuple[AppContext, Path, list[Device]]:
    """Config, store and inventory sheet; an existing demo store is reused as it is."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "fleetmon.yaml"
    header = "# Written by `fleetmon demo`: the sample province on the simulator. Safe to delete.\n"
    config_path.write_text(header + yaml.safe_dump(demo_config(directory.resolve(), metrics_port), sort_keys=False),
                           encoding="utf-8")
    app = AppContext(config_path)
    with app.engine.begin() as conn:
        fleet = load_devices(conn)
        if not fleet:
            apply_plan(conn, plan_import(sample_fleet(cameras), {}), source="fleetmon demo")
            fleet = load_devices(conn)
    sheet = directory / "inventory.csv"
    write_sheet(sheet, device_dicts(fleet.values()))
    return app, sheet, list(fleet.values())


def fault_specs(fleet: list[Device]) -> list[str]:
    """The demo's faults on devices of this fleet (a small demo province has fewer of each kind).

    Devices behind the uplink taken down are passed over for the other faults: a full disk
    nobody can reach shows nothing.
    """
    behind: dict[str, set[str]] = {}
    for device in fleet:
        behind.setdefault(device.parent, set()).add(device.id)

    def subtree(root: str) -> set[str]:
        found: set[str] = set()
        frontier = {root}
        while frontier:
            frontier = set().union(*(behind.get(i, set()) for i in frontier)) - found
            found |= frontier
        return found

    hidden: set[str] = set()
    specs = []
    for fault, kind, index in sorted(DEMO_FAULTS, key=lambda f: f[1] is not DeviceKind.SWITCH):
        ids = [d.id for d in fleet if d.kind is kind and d.id not in hidden]
        if ids and not (kind is DeviceKind.SWITCH and len(ids) < 2):  # the only uplink would hide all
            chosen = ids[min(index, len(ids) - 1)]
            specs.append(f"{fault}:{chosen}")
            if fault == "offline":
                hidden |= subtree(chosen) | {chosen}
    return [*dict.fromkeys(specs), BACKGROUND_NOISE]


def start_simulator(sheet: Path, faults: list[str], control_port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The simulator in a child process with the demo's faults; returns it and its control token once it answers."""
    command = [sys.executable, "-m", "fleetmon", "simulate", "--inventory", str(sheet), "--control-port", str(control_port)]
    for spec in faults:
        command += ["--fault", spec]
    with log.open("ab") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    token_file = default_token_file(control_port)
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise click.ClickException(f"the simulator stopped (exit {child.returncode}); see {log}")
        token = read_token(token_file)
        with contextlib.suppress(httpx.TransportError):
            if token is not None and httpx.get(f"http://127.0.0.1:{control_port}/devices?faulty=true", timeout=2,
                                               headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                return child, token
        time.sleep(0.3)
    stop_simulator(child, control_port)
    raise click.ClickException(f"the simulator did not start within 120 s; see {log}")


def stop_simulator(child: subprocess.Popen[bytes], control_port: int) -> None:
    """Ctrl-C for the simulator, then SIGKILL after 10 s; its control token goes with it either way
    (a killed simulator cannot remove the file itself)."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    default_token_file(control_port).unlink(missing_ok=True)


@click.command()
@click.option("--devices", "cameras", type=click.IntRange(1, 200_000), default=14_053, show_default=True,
              help="Cameras in the sample province (NVRs and uplinks are added).")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), default=Path("fleetmon-demo"),
              show_default=True, help="Where the demo keeps its config, store and logs.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=9108, show_default=True)
@click.option("--control-port", type=click.IntRange(1, 65535), default=DEMO_CONTROL_PORT, show_default=True,
              help="The simulator's control API (fleetmon simulate fault ... talks to it).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="warning", show_default=True)
def demo(cameras: int, directory: Path, metrics_port: int, control_port: int, log_level: str) -> None:
    """Monitor a simulated sample province with a few faults, until Ctrl-C."""
    from fleetmon.cli.run import serve

    setup_logging(log_level)
    tune_gc()
    tune_malloc()
    app, sheet, fleet = prepare(directory, cameras, metrics_port)
    faults = fault_specs(fleet)
    click.echo(f"demo fleet: {sheet} ({len(fleet)} devices); starting the simulator...")
    simulator, token = start_simulator(sheet, faults, control_port, directory / "simulator.log")
    config_option = f"--config {app.config_path}"
    camera = next(d.id for d in reversed(fleet) if d.kind is DeviceKind.CAMERA)
    recorder = next((spec.split(":")[1] for spec in faults if spec.startswith("disk_failed")), "nvr-0001-1")
    click.echo(f"""simulator: faults {', '.join(faults)}
  control API  http://127.0.0.1:{control_port}/devices?faulty=true  (header 'Authorization: Bearer {token}',
               token in {default_token_file(control_port)})
  more faults  fleetmon simulate fault --control-port {control_port} {camera} offline   (undo: simulate clear)
in another shell:
  fleetmon {config_option} status
  fleetmon {config_option} probe {recorder}     # the failed disk, in words
""")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app.config, app, "demo", stop)

    try:
        asyncio.run(main())
    finally:
        stop_simulator(simulator, control_port)
