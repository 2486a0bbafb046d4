"""`fleetmon run` serves the console beside /metrics; SIGTERM stops both."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.alerts.conftest import camera
from tests.peers import free_port


def test_fleetmon_run_serves_the_console_on_loopback(tmp_path: Path) -> None:
    from fleetmon.inventory.importer import plan_import
    from fleetmon.store.engine import open_store
    from fleetmon.store.inventory import apply_plan

    url = f"sqlite:///{tmp_path / 'fleetmon.db'}"
    store = open_store(url)
    with store.begin() as conn:
        apply_plan(conn, plan_import([camera("cam-1")], {}), "test")
    store.dispose()
    port = free_port()
    config = tmp_path / "fleetmon.yaml"
    config.write_text(yaml.safe_dump({"database_url": url, "data_dir": "data", "web": {"port": port},
                                      "metrics": {"port": free_port()}, "tickets": {"enabled": False}}), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with subprocess.Popen([sys.executable, "-m", "fleetmon", "--config", str(config), "run"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + 60
            line = ""
            while "console at" not in line:
                assert time.monotonic() < deadline and process.poll() is None, f"fleetmon run did not start: {line}"
                line = process.stdout.readline()
            assert re.search(rf"console at http://127\.0\.0\.1:{port}/", line)
            login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
            assert login.status_code == 200 and "Đăng nhập" in login.text
            assert (tmp_path / "data" / "console-secret").exists()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail("fleetmon run did not stop on SIGTERM")
    assert code == 0
