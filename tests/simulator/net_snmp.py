"""A three-device fleet on the simulator's SNMP agent, and net-snmp's own clients to read it.

Shared by the simulator's SNMP tests and the SNMP probe's tests (their fixtures, in each folder's
`conftest.py`, start the agent on this fleet).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fleetmon.inventory.model import Device, DeviceKind
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.snmp_agent import SnmpAgent, start_snmp
from tests.peers import free_port, need_binary

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
HR_STORAGE = "1.3.6.1.2.1.25.2.3"
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5"
HIK_DISK_STATUS = "1.3.6.1.4.1.50001.1.241.1.3"
V3 = ["-v3", "-l", "authPriv", "-u", "fleetmon", "-a", "SHA", "-A", "fleetmon-demo-auth",
      "-x", "AES", "-X", "fleetmon-demo-priv"]
INVENTORY = [
    Device(id="sw-1", kind=DeviceKind.SWITCH, host="127.77.0.1", vendor="TP-Link", model="TL-SG3428"),
    Device(id="nvr-1", kind=DeviceKind.NVR, host="127.77.0.2", vendor="Hikvision", model="DS-7616NI-K2",
           serial="HIN0000101", parent="sw-1"),
    Device(id="cam-1", kind=DeviceKind.CAMERA, host="127.77.0.3", vendor="Dahua", model="IPC-HFW1230S",
           firmware="V5.7.3", parent="nvr-1"),
]


def small_fleet() -> Fleet:
    return Fleet.from_inventory(INVENTORY)


@asynccontextmanager
async def running_agent(fleet: Fleet) -> AsyncIterator[SnmpAgent]:
    """The simulator's SNMP agent for `fleet` on a free UDP port, closed afterwards."""
    agent = await start_snmp(fleet, free_port(socket.SOCK_DGRAM))
    try:
        yield agent
    finally:
        agent.close()


async def net_snmp(tool: str, agent: SnmpAgent, host: str, *args: str, version: list[str] | None = None,
                   timeout: float = 1) -> tuple[int, str]:
    """Run a net-snmp client against `host` on the agent's port: (exit code, stdout + stderr)."""
    assert agent.sock is not None
    port = agent.sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        need_binary(tool), *(version or ["-v2c", "-c", "public"]), "-On", "-t", str(timeout), "-r", "0",
        f"{host}:{port}", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def values(output: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r"^\.?([\d.]+) = (?:[\w-]+: )?(.*)$", output, re.M)}


def uptime(output: str) -> float:
    match = re.search(r"Timeticks: \((\d+)\)", output)
    assert match, output
    return int(match[1]) / 100
