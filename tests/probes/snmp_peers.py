"""Waiting for a real SNMP agent (snmpd, snmpsim) that a test started in its own process."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.peers import need_binary


def wait_for_agent(port: int, community: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Until a v2c GET of sysUpTime is answered; fails naming the peer's exit when it dies first."""
    get = [need_binary("snmpget"), "-v2c", "-c", community, "-t", "0.2", "-r", "0", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode(errors="replace")[-500:] if process.stderr else ""
            pytest.fail(f"{process.args[0]} exited with {process.returncode}: {errors}")
        if subprocess.run(get, capture_output=True).returncode == 0:
            return
    pytest.fail(f"no SNMP agent answered on port {port} within {seconds:g} s")
