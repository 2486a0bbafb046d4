"""`fleetmon demo`, as a new user runs it: a small province, simulated with faults, monitored, stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fleetmon.simulator.control import default_token_file, read_token
from tests.peers import free_port


def wait_for_url(url: str, process: subprocess.Popen[bytes], seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"fleetmon demo exited with {process.returncode}"
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_demo_monitors_a_simulated_province_with_faults_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    metrics_port, control_port = free_port(), free_port()
    folder = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "-m", "fleetmon", "demo", "--devices", "40", "--dir", str(folder),
         "--metrics-port", str(metrics_port), "--control-port", str(control_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        metrics = wait_for_url(f"http://127.0.0.1:{metrics_port}/metrics", demo, 90).text
        token = read_token(default_token_file(control_port))
        assert token is not None
        faulty = httpx.get(f"http://127.0.0.1:{control_port}/devices?faulty=true", timeout=5,
                           headers={"Authorization": f"Bearer {token}"}).json()
        refused = httpx.get(f"http://127.0.0.1:{control_port}/devices?faulty=true", timeout=5)
        status = subprocess.run([sys.executable, "-m", "fleetmon", "--config", str(folder / "fleetmon.yaml"), "status"],
                                capture_output=True, text=True, timeout=60)
    finally:
        demo.send_signal(signal.SIGINT)
        output = demo.communicate(timeout=30)[0].decode()

    assert demo.returncode == 0, output
    assert "fleetmon_device_info{" in metrics and 'device="cam-000002"' in metrics
    faults = {fault for device in faulty for fault in device["faults"]}
    assert {"offline", "disk_failed", "disk_full", "recording_stopped", "clock_skew", "wrong_password"} <= faults
    assert status.returncode == 0, status.stderr
    assert "Thanh Hóa" in status.stdout
    assert f"http://127.0.0.1:{control_port}/devices" in output and "probe nvr-" in output
    assert refused.status_code == 401 and f"Bearer {token}" in output  # the token is needed, and the demo tells it
    assert not default_token_file(control_port).exists()  # gone with the simulator
    secrets = (folder / "secrets" / "password").read_text().strip()
    assert secrets not in output and secrets not in (folder / "fleetmon.yaml").read_text()
    with pytest.raises(httpx.TransportError):  # Ctrl-C stopped the simulator too: nothing answers there
        httpx.get(f"http://127.0.0.1:{control_port}/devices", timeout=2)
