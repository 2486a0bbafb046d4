"""Finding devices: WS-Discovery against the simulator's responder, range scans, `fleetmon discover`."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.probes.onvif.client import OnvifClients
from fleetmon.probes.onvif.discovery import address_range, parse_probe_matches, scan, ws_discover
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from fleetmon.simulator.control import FaultControl
from fleetmon.simulator.discovery import DiscoveryResponder, start_discovery
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.http_server import start_http
from fleetmon.simulator.state import Fault
from fleetmon.simulator.web_context import DEMO_PASSWORD
from tests.peers import free_port

INVENTORY = [
    Device(id="sw-1", kind=DeviceKind.SWITCH, host="127.82.0.1"),
    Device(id="nvr-1", kind=DeviceKind.NVR, host="127.82.0.2", vendor="Hikvision", model="DS-7608NI", serial="HK-77",
           parent="sw-1"),
    Device(id="cam-1", kind=DeviceKind.CAMERA, host="127.82.0.3", vendor="Dahua", model="IPC-HFW1230S",
           serial="DH-31", firmware="V5.7.3", parent="nvr-1"),
    Device(id="cam-2", kind=DeviceKind.CAMERA, host="127.82.0.4", vendor="Hanwha", model="XNO-6080R",
           serial="HW 42", parent="nvr-1"),
]


@pytest.fixture
def control() -> FaultControl:
    onvif_port = free_port()
    return FaultControl(Fleet.from_inventory(dataclasses.replace(d, onvif_port=onvif_port) for d in INVENTORY))


@pytest.fixture
async def responder(control: FaultControl) -> AsyncIterator[DiscoveryResponder]:
    running = await start_discovery(control.fleet, free_port(socket.SOCK_DGRAM))
    yield running
    running.close()


@pytest.fixture
async def web(control: FaultControl) -> AsyncIterator[int]:
    port = control.device("cam-1").device.port("onvif_port")
    runner = await start_http(control.fleet, port)
    yield port
    await runner.cleanup()


def udp_port(responder: DiscoveryResponder) -> int:
    return int(responder.sock.getsockname()[1])


async def test_a_probe_to_the_responder_finds_every_onvif_device(responder: DiscoveryResponder,
                                                                 control: FaultControl) -> None:
    control.set(control.device("cam-2"), Fault.OFFLINE)
    found = await ws_discover("127.0.0.1", udp_port(responder), timeout=0.5)
    by_host = {a.host_port[0]: a for a in found if a.host_port}
    assert sorted(by_host) == ["127.82.0.2", "127.82.0.3"]  # no switch, and the offline camera is silent
    camera = by_host["127.82.0.3"]
    assert camera.scope("hardware") == "IPC-HFW1230S" and camera.scope("name") == "Dahua"
    assert "dn:NetworkVideoTransmitter" in camera.types
    assert camera.host_port == ("127.82.0.3", control.device("cam-1").device.port("onvif_port"))


async def test_a_probe_to_a_device_address_finds_that_device(responder: DiscoveryResponder) -> None:
    found = await ws_discover("127.82.0.2", udp_port(responder), timeout=0.5)
    assert [a.scope("hardware") for a in found] == ["DS-7608NI"]


def test_replies_with_a_dtd_or_to_another_probe_are_ignored() -> None:
    match = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
             b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
             b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:RelatesTo>urn:uuid:1</a:RelatesTo>'
             b"</s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><d:XAddrs>http://127.0.0.9/onvif/device_service"
             b"</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>")
    assert len(parse_probe_matches(match, "urn:uuid:1")) == 1
    assert parse_probe_matches(match, "urn:uuid:2") == []
    assert parse_probe_matches(b'<!DOCTYPE x [<!ENTITY a "b">]>' + match, "urn:uuid:1") == []
    assert parse_probe_matches(b"\x00garbage", "urn:uuid:1") == []


def test_address_ranges() -> None:
    assert address_range("127.100.0.1-127.100.0.3") == ["127.100.0.1", "127.100.0.2", "127.100.0.3"]
    assert address_range("10.0.0.0/30") == ["10.0.0.1", "10.0.0.2"]
    assert address_range(" 127.0.0.5 ") == ["127.0.0.5"]
    for bad in ("127.0.0.5-127.0.0.1", "10.0.0.0/8", "not-an-address"):
        with pytest.raises(ValueError):
            address_range(bad)


async def test_a_range_scan_identifies_cameras_and_recorders(web: int, control: FaultControl) -> None:
    control.set(control.device("cam-2"), Fault.WRONG_PASSWORD)
    credentials = Credentials("admin", DEMO_PASSWORD)
    targets = [Target(device_id=h, host=h, onvif_port=web, credentials=credentials, timeout=1.0)
               for h in address_range("127.82.0.2-127.82.0.5")]
    async with AsyncExitStack() as stack:
        found = {i.host: i for i in await scan(targets, await OnvifClients.start(stack))}
    assert found["127.82.0.2"].kind == "nvr" and found["127.82.0.2"].identity is not None
    assert found["127.82.0.3"].kind == "camera"
    assert found["127.82.0.3"].identity is not None and found["127.82.0.3"].identity.serial == "DH-31"
    assert found["127.82.0.4"].status is ProbeStatus.AUTH_FAILED and found["127.82.0.4"].answered
    assert not found["127.82.0.5"].answered  # nothing emulated there


async def fleetmon(*args: str, config: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from fleetmon.cli import main; main()", "--config", str(config), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SIM_PASSWORD": DEMO_PASSWORD.get_secret_value()})
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_discover_command_proposes_rows_for_unknown_devices(web: int, responder: DiscoveryResponder,
                                                                 tmp_path: Path) -> None:
    config = tmp_path / "fleetmon.yaml"
    config.write_text("credentials:\n  sim:\n    username: admin\n    password: {env: SIM_PASSWORD}\n"
                      "default_credentials: sim\n", encoding="utf-8")
    known = tmp_path / "known.csv"
    known.write_text("Device ID,Kind,Host,Serial\ncam-1,camera,127.82.0.3,DH-31\n", encoding="utf-8")
    code, out, err = await fleetmon("inventory", "import", str(known), config=config)
    assert code == 0, out + err
    proposed = tmp_path / "proposed.csv"
    code, _, err = await fleetmon("discover", "--range", "127.82.0.2-127.82.0.5", "--port", str(web),
                                  "--timeout", "1", "-o", str(proposed), config=config)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(proposed.read_text(encoding="utf-8-sig"))))
    assert {(r["Host"], r["Kind"], r["Vendor"], r["Serial"]) for r in rows} == {
        ("127.82.0.2", "nvr", "Hikvision", "HK-77"), ("127.82.0.4", "camera", "Hanwha", "HW 42")}
    assert all(r["Credential profile"] == "sim" for r in rows)
    assert "1 already in the inventory" in err
    code, out, err = await fleetmon("inventory", "import", str(proposed), config=config)
    assert code == 0, out + err  # the proposal imports as it stands
    code, out, err = await fleetmon("discover", "--ws-discovery", f"127.0.0.1:{udp_port(responder)}", "--json",
                                    "--timeout", "1", config=config)
    assert code == 0, err
    items = [json.loads(line) for line in out.splitlines()]
    assert {(i["row"]["host"], i["known"]) for i in items} == {
        ("127.82.0.2", True), ("127.82.0.3", True), ("127.82.0.4", True)}  # all in the inventory now
    assert items[0]["status"] == "ok"
    assert DEMO_PASSWORD.get_secret_value() not in out + err
