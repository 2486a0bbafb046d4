"""`fleetmon discover` on units that answer on several addresses, logging in with --user/--password."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.web_context import DEMO_PASSWORD
from tests.peers import free_port

# One recorder with two network ports (the same serial on two addresses), and one camera.
INVENTORY = [
    Device(id="nvr-a", kind=DeviceKind.NVR, host="127.83.0.2", vendor="Hikvision", model="DS-7608NI", serial="HK-88"),
    Device(id="nvr-b", kind=DeviceKind.NVR, host="127.83.0.3", vendor="Hikvision", model="DS-7608NI", serial="HK-88"),
    Device(id="cam-1", kind=DeviceKind.CAMERA, host="127.83.0.4", vendor="Dahua", model="IPC-HFW1230S", serial="DH-41"),
]


@pytest.fixture
async def web() -> AsyncIterator[int]:
    port = free_port()
    fleet = Fleet.from_inventory(dataclasses.replace(d, onvif_port=port) for d in INVENTORY)
    runner = await start_http(fleet, port)
    yield port
    await runner.cleanup()


async def fleetmon(*args: str, config: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleetmon", "--config", str(config), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_unit_on_two_addresses_is_one_row_listing_both(web: int, tmp_path: Path) -> None:
    config = tmp_path / "fleetmon.yaml"
    config.write_text(f"data_dir: {tmp_path}\n", encoding="utf-8")  # no credential profile: --user/--password
    password = DEMO_PASSWORD.get_secret_value()
    code, out, err = await fleetmon("discover", "--range", "127.83.0.2-127.83.0.5", "--port", str(web), "--timeout", "2",
                                    "--user", "admin", "--password", password, config=config)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted((r["Host"], r["Serial"]) for r in rows) == [("127.83.0.2", "HK-88"), ("127.83.0.4", "DH-41")]
    recorder = next(r for r in rows if r["Serial"] == "HK-88")
    assert "also answers on 127.83.0.3" in recorder["Notes"]
    assert "found 2 ONVIF device(s) (1 answering on several addresses)" in err
    assert password not in out + err

    proposed = tmp_path / "proposed.csv"
    proposed.write_text(out, encoding="utf-8")
    code, out, err = await fleetmon("inventory", "import", str(proposed), config=config)
    assert code == 0, out + err  # no two rows with one id or serial: the proposal imports

    code, out, err = await fleetmon("discover", "--range", "127.83.0.2-127.83.0.4", "--port", str(web), "--timeout", "2",
                                    "--user", "admin", "--password", password, "--json", config=config)
    items = [json.loads(line) for line in out.splitlines()]
    assert [(i["addresses"], i["known"]) for i in items] == [(["127.83.0.2", "127.83.0.3"], True), (["127.83.0.4"], True)]


async def test_a_wrong_password_is_told_per_address(web: int, tmp_path: Path) -> None:
    config = tmp_path / "fleetmon.yaml"
    config.write_text(f"data_dir: {tmp_path}\n", encoding="utf-8")
    code, out, err = await fleetmon("discover", "--range", "127.83.0.4-127.83.0.4", "--port", str(web), "--timeout", "2",
                                    "--user", "admin", "--password", "wrong", "--json", config=config)
    assert code == 0, err
    (item,) = [json.loads(line) for line in out.splitlines()]
    assert item["status"] == "auth_failed" and item["addresses"] == ["127.83.0.4"]
