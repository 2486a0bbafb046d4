"""The store's failures a user causes — a database down or refusing the login, an unknown dialect, a
read-only data_dir, a full disk — are one line saying what to do, through the real command; and a
read-only store can still be read by `status` and `inventory list`.

Read-only folders and full disks are real: a read-only bind mount and a tiny tmpfs, made in a mount
namespace of the command's own (`unshare -m`), since root ignores file modes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.peers import free_port, missing

ROOT = Path(__file__).resolve().parents[3]


def fleetmon(folder: Path, *args: str, mounts: str = "") -> subprocess.CompletedProcess[str]:
    """The real command in `folder`; `mounts`: shell commands run first in a mount namespace of its own."""
    command = [sys.executable, "-m", "fleetmon", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if mounts:
        command = ["unshare", "-m", "sh", "-ec", f"{mounts}\nexec {shlex.join(command)}"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, check=False, env=env)


def need_mount_namespace() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        missing("read-only and full-disk stores are made with unshare -m and mount, which need root")


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line != "checking fleet.csv"]  # import's progress
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """A folder with a config (data in ./data), a sheet of a few devices, imported."""
    (tmp_path / "fleetmon.yaml").write_text("data_dir: data\n", encoding="utf-8")
    for step in (("inventory", "sample", "--devices", "5", "-o", "fleet.csv"), ("inventory", "import", "fleet.csv")):
        done = fleetmon(tmp_path, *step)
        assert done.returncode == 0, done.stderr
    return tmp_path


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "fleetmon.yaml").write_text(f"database_url: postgresql://fleetmon:S3cr3t-pw@127.0.0.1:{port}/fleetmon\n")
    for command in (("status",), ("inventory", "list")):
        line = one_line_error(fleetmon(tmp_path, *command))
        assert line.startswith(f"Error: cannot reach the database postgresql://fleetmon:***@127.0.0.1:{port}/fleetmon (")
        assert line.endswith("start it, or correct host and port in database_url") and "S3cr3t-pw" not in line


def test_a_wrong_database_password_is_one_line(tmp_path: Path, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE ROLE fleetmon_pw LOGIN PASSWORD 'right-Pa55'")
        hba = conn.execute("SHOW hba_file").fetchone()[0]  # type: ignore[index]
        # The test cluster trusts every login: check this role's password, as a production server does.
        rules = Path(hba).read_text()
        if "fleetmon_pw" not in rules:
            Path(hba).write_text(f"host all fleetmon_pw 127.0.0.1/32 scram-sha-256\n{rules}")
        conn.execute("SELECT pg_reload_conf()")
    wrong = postgres_url.replace("postgresql://fleetmon@", "postgresql://fleetmon_pw:wrong-Pa55@")
    (tmp_path / "fleetmon.yaml").write_text(f"database_url: '{wrong}'\n")
    line = one_line_error(fleetmon(tmp_path, "status"))
    assert "refused the login" in line and line.endswith("check the user and password of database_url")
    assert "wrong-Pa55" not in line and "fleetmon_pw:***@" in line


def test_an_unknown_dialect_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "fleetmon.yaml").write_text("database_url: 'oracle://fleetmon:S3cr3t-pw@127.0.0.1/fleetmon'\n")
    line = one_line_error(fleetmon(tmp_path, "status"))
    assert line.endswith("database_url: unknown database dialect 'oracle': use sqlite or postgresql") and "S3cr3t" not in line


def test_a_read_only_store_is_read_by_status_and_inventory_list_and_refuses_writes_in_one_line(fleet: Path) -> None:
    need_mount_namespace()
    read_only = "mount --bind data data\nmount -o remount,bind,ro data"
    status = fleetmon(fleet, "status", mounts=read_only)
    assert status.returncode == 0, status.stderr
    assert "all devices" in status.stdout and status.stderr == ""
    listed = fleetmon(fleet, "inventory", "list", mounts=read_only)
    assert listed.returncode == 0, listed.stderr
    assert "7 devices" in listed.stdout
    sheet = fleet / "fleet.csv"
    sheet.write_text(sheet.read_text().replace("DS-7616NI-K2", "DS-7616NI-Q2"))
    line = one_line_error(fleetmon(fleet, "inventory", "import", "fleet.csv", mounts=read_only))
    assert line.startswith(f"Error: the store {fleet / 'data' / 'fleetmon.db'} is read-only here (")
    assert sorted(p.name for p in (fleet / "data").iterdir()) == ["fleetmon.db"]  # no migration, no journal left


def test_a_full_disk_is_one_line(tmp_path: Path) -> None:
    need_mount_namespace()
    (tmp_path / "fleetmon.yaml").write_text("data_dir: data\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    assert fleetmon(tmp_path, "inventory", "sample", "--devices", "200", "-o", "fleet.csv").returncode == 0
    full = "mount -t tmpfs -o size=96k tmpfs data\nhead -c 80k /dev/zero > data/ballast"
    line = one_line_error(fleetmon(tmp_path, "inventory", "import", "fleet.csv", mounts=full))
    assert "disk is full" in line or "no space left" in line
    assert line.endswith("free some space, then run the command again")
