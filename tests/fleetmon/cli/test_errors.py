"""What a user gets wrong is said in one line with exit code 1, never as a Python traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetmon.cli import main


def fleetmon(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as a technician runs it in `folder`."""
    return subprocess.run([sys.executable, "-m", "fleetmon", *args], cwd=folder, capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_missing_secret_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    for step in (("init",), ("inventory", "sample", "--devices", "5", "-o", "fleet.csv"), ("inventory", "import", "fleet.csv")):
        done = fleetmon(tmp_path, *step)
        assert done.returncode == 0, done.stderr
    # The example config reads the SNMP community of the default profile from /etc/fleetmon/..., absent here.
    probed = fleetmon(tmp_path, "probe", "cam-000003")
    assert probed.returncode == 1
    assert "Traceback" not in probed.stderr
    assert probed.stderr.strip().splitlines() == [
        "Error: cannot read secret file /etc/fleetmon/hikvision-community: No such file or directory"]


@pytest.mark.parametrize(("args", "message"), [
    (["area", "rename", "Nowhere", "Somewhere"], "Error: no area 'Nowhere'"),
    (["area", "history", "Nowhere"], "Error: no area 'Nowhere'"),
    (["inventory", "export", "devices.txt"], "Error: devices.txt: unsupported format"),
], ids=["area-error", "area-error-read-only", "sheet-error"])
def test_every_command_says_the_projects_own_errors_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    config = tmp_path / "fleetmon.yaml"
    config.write_text("data_dir: data\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip().splitlines()[-1].startswith(message), result.output


def test_a_broken_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "fleetmon.yaml"
    config.write_text("data_dir: data\nnot_a_key: 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert result.exit_code == 1
    assert "not_a_key" in result.output and "Traceback" not in result.output
