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

import click
import httpx
import yaml

from fleetmon.cli.context import AppContext
from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.logs import setup_logging
from fleetmon.store.inventory import apply_plan, device_dicts, load_devices

# Faults a technician would meet in a real province, one of each, on devices of the sample fleet.
DEMO_FAULTS = (
    "offline:cam-000010",  # a camera switched off
    "offline:sw-0003",  # an uplink down: its recorders and cameras are unreachable, one fault
    "disk_failed:nvr-0005-1",
    "disk_full:nvr-0007-1",
    "recording_stopped:nvr-0009-1",
    "clock_skew=900:cam-000050",
    "wrong_password:cam-000080",
    "snapshot_black:cam-000100",
    "packet_loss=1:5%",  # 1 % loss on a random 5 % of the fleet: must not raise alarms
)
DEMO_CONTROL_PORT = 16180


def demo_config(directory: Path, metrics_port: int) -> dict:
    """The demo's fleetmon.yaml: the simulator's documented demo logins, read from files."""
    from simulator.http_server import DEMO_PASSWORD, DEMO_USERNAME
    from simulator.snmp_agent import SnmpSettings

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
        "probes": {"reachability": {"interval": 30, "timeout": 2}, "snmp": {"interval": 30, "timeout": 3},
                   "onvif": {"interval": 120, "timeout": 5}, "vendor_http": {"interval": 120, "timeout": 5},
                   "snapshot": {"interval": 600, "timeout": 10}},
    }


def prepare(directory: Path, cameras: int, metrics_port: int) -> tuple[AppContext, Path]:
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
    return app, sheet


def start_simulator(sheet: Path, control_port: int, log: Path) -> subprocess.Popen[bytes]:
    """The simulator in a child process with the demo's faults; returns once it answers."""
    command = [sys.executable, "-m", "fleetmon", "simulate", "--inventory", str(sheet), "--control-port", str(control_port)]
    for spec in DEMO_FAULTS:
        command += ["--fault", spec]
    with log.open("ab") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise click.ClickException(f"the simulator stopped (exit {child.returncode}); see {log}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{control_port}/devices?faulty=true", timeout=2).status_code == 200:
                return child
        time.sleep(0.3)
    stop_simulator(child)
    raise click.ClickException(f"the simulator did not start within 120 s; see {log}")


def stop_simulator(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


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
    app, sheet = prepare(directory, cameras, metrics_port)
    click.echo(f"demo fleet: {sheet} ({sum(1 for _ in sheet.open(encoding='utf-8')) - 1} devices); starting the simulator...")
    simulator = start_simulator(sheet, control_port, directory / "simulator.log")
    config_option = f"--config {app.config_path}"
    click.echo(f"""simulator: faults {', '.join(DEMO_FAULTS)}
  control API  http://127.0.0.1:{control_port}/devices?faulty=true
  more faults  fleetmon simulate fault cam-000200 offline   (undo: fleetmon simulate clear cam-000200)
in another shell:
  fleetmon {config_option} status
  fleetmon {config_option} probe nvr-0005-1     # the failed disk, in words
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
        stop_simulator(simulator)
