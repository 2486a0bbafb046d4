"""A second `fleetmon run` on a store another one monitors is refused before it writes a row.

Two real `fleetmon run` processes on loopback: the second, started by mistake with a second
config (same data_dir, or same database) or the same config (same port), must exit with one
line saying why, and the state-change log must hold exactly what the first one wrote.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fleetmon.inventory.importer import plan_import
from fleetmon.inventory.model import Device, DeviceKind, Protocol
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes
from tests.peers import free_port

DEVICES = 3


@pytest.fixture
async def listener_port() -> AsyncIterator[int]:
    """Every camera answers on one port of its own 127.0.45.x address."""
    port = free_port()
    servers = [await asyncio.start_server(lambda r, w: w.close(), f"127.0.45.{i + 1}", port) for i in range(DEVICES)]
    yield port
    for server in servers:
        server.close()


def write_config(path: Path, store_url: str, metrics_port: int, shared: bool = False) -> Path:
    # SQLite: the store is found through data_dir, as two configs of one installation would share it.
    where = f"data_dir: '{store_url.removeprefix('sqlite:///').removesuffix('/fleetmon.db')}'\n" if store_url.startswith("sqlite") \
        else f"database_url: '{store_url}'\n"
    path.write_text(
        where
        + f"metrics: {{port: {metrics_port}}}\n"
        + ("monitor: {shared: true, lease: 2.6s}\n" if shared else "")
        + "probes:\n"
        "  reachability: {interval: 0.5, timeout: 0.3}\n"
        "  snmp: {interval: 1h, timeout: 0.3}\n"
        "  onvif: {interval: 1h, timeout: 0.3}\n"
        "  vendor_http: {interval: 1h, timeout: 0.3}\n"
        "  snapshot: {interval: 1h, timeout: 0.3}\n",
        encoding="utf-8",
    )
    return path


def fleetmon_run(config: Path, log: Path, worker_id: str) -> subprocess.Popen[bytes]:
    with log.open("w") as log_file:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "fleetmon", "--config", str(config), "run", "--worker-id", worker_id],
                                stdout=subprocess.DEVNULL, stderr=log_file)


def log_rows(store_url: str) -> list[tuple[str, str, str]]:
    engine = open_store(store_url)
    try:
        with engine.connect() as conn:
            query = select(state_changes.c.device_id, state_changes.c.state, state_changes.c.reason).order_by(state_changes.c.id)
            return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]
    finally:
        engine.dispose()


@pytest.fixture
def first(tmp_path: Path, store_url: str, listener_port: int) -> Iterator[tuple[Path, list[tuple[str, str, str]]]]:
    """A running `fleetmon run` whose devices are all logged up; yields its config and the log it wrote."""
    engine = open_store(store_url)
    fleet = [Device(id=f"cam-{i}", kind=DeviceKind.CAMERA, host=f"127.0.45.{i + 1}", onvif_port=listener_port,
                    rtsp_port=listener_port, protocols=(Protocol.ONVIF,)) for i in range(DEVICES)]
    with engine.begin() as conn:
        apply_plan(conn, plan_import(fleet, {}), "test")
    engine.dispose()
    config = write_config(tmp_path / "first.yaml", store_url, free_port())
    log = tmp_path / "first.log"
    process = fleetmon_run(config, log, "first")
    try:
        deadline = time.monotonic() + 60
        while len({device for device, state, _ in log_rows(store_url) if state == "up"}) < DEVICES:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the first monitor did not log its devices up"
            time.sleep(0.3)
        yield config, log_rows(store_url)
        assert process.poll() is None, "the first monitor must keep running"
    finally:
        process.terminate()
        process.wait(20)


def refused(config: Path, tmp_path: Path, name: str) -> tuple[int, str]:
    """Start another `fleetmon run`; it must exit on its own (a second monitor would run on)."""
    log = tmp_path / f"{name}.log"
    process = fleetmon_run(config, log, name)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(20)
        pytest.fail(f"the second `fleetmon run` ({name}) was not refused: it is monitoring the same store")
    return code, log.read_text(errors="replace")


def test_a_second_monitor_with_another_config_on_the_same_store_is_refused(
    first: tuple[Path, list[tuple[str, str, str]]], tmp_path: Path, store_url: str
) -> None:
    _, before = first
    second = write_config(tmp_path / "second.yaml", store_url, free_port())
    code, output = refused(second, tmp_path, "second")
    assert code != 0
    assert output.strip().splitlines() == [output.strip()], "one line, not a traceback"
    assert "another `fleetmon run` is monitoring" in output
    assert log_rows(store_url) == before, "the refused monitor wrote to the state-change log"


def test_the_same_config_started_twice_is_refused_for_its_port_before_the_store(
    first: tuple[Path, list[tuple[str, str, str]]], tmp_path: Path, store_url: str
) -> None:
    config, before = first
    code, output = refused(config, tmp_path, "again")
    assert code != 0
    assert output.strip().splitlines() == [output.strip()]
    assert "cannot listen on 127.0.0.1:" in output and "metrics.port" in output
    assert log_rows(store_url) == before
    assert not [row for row in log_rows(store_url) if row[1] == "unknown"]


@pytest.mark.postgres
def test_a_lone_monitor_is_refused_beside_shared_workers(tmp_path: Path, postgres_url: str, listener_port: int) -> None:
    engine = open_store(postgres_url)
    engine.dispose()
    shared = write_config(tmp_path / "shared.yaml", postgres_url, free_port(), shared=True)
    worker = fleetmon_run(shared, tmp_path / "shared.log", "shared")
    try:
        deadline = time.monotonic() + 60
        while "monitor shared started" not in (tmp_path / "shared.log").read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, "the shared worker did not start"
            time.sleep(0.3)
        lone = write_config(tmp_path / "lone.yaml", postgres_url, free_port())
        code, output = refused(lone, tmp_path, "lone")
        assert code != 0 and "another `fleetmon run` is monitoring the database" in output
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(20)
