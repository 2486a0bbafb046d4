"""`fleetmon probe` (the real command, in a subprocess) on a third-party ONVIF camera: ipycam.

What a technician on site must read: the camera answers ONVIF with its login, its clock is right,
its picture has no fault; a wrong password is said to be a refused login.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.thirdparty.conftest import ROOT, ThirdPartyCamera


def write_config(folder: Path, camera: ThirdPartyCamera, password: str) -> Path:
    (folder / "camera.password").write_text(password, encoding="utf-8")
    (folder / "camera.password").chmod(0o600)  # a secret file open to others is warned about
    config = folder / "fleetmon.yaml"
    config.write_text(f"""data_dir: {folder / 'data'}
credentials:
  ipycam: {{username: {camera.username}, password: {{file: {folder / 'camera.password'}}}}}
default_credentials: ipycam
""", encoding="utf-8")
    return config


def probe(folder: Path, camera: ThirdPartyCamera, password: str, *extra: str) -> tuple[int, str]:
    config = write_config(folder, camera, password)
    done = subprocess.run(
        [sys.executable, "-m", "fleetmon", "--config", str(config), "probe", camera.host, "--kind", "camera",
         "--onvif-port", str(camera.onvif_port), "--rtsp-port", str(camera.rtsp_port), "--http-port", str(camera.onvif_port),
         *extra], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


def section(report: str, probe_name: str) -> str:
    """The lines `fleetmon probe` prints for one probe, from its heading to the next blank line."""
    found = re.search(rf"^{probe_name}: .*?(?=\n\n|\Z)", report, re.M | re.S)
    assert found, f"no {probe_name} section in:\n{report}"
    return found.group(0)


def test_the_camera_answers_with_its_login_a_right_clock_and_a_good_picture(
        tmp_path: Path, street_camera: ThirdPartyCamera) -> None:
    code, report = probe(tmp_path, street_camera, street_camera.password)
    assert code == 0, report
    assert section(report, "onvif").startswith("onvif: ok"), report
    assert re.search(r"clock (ahead|behind) by [01] s", section(report, "onvif")), report
    snapshot = section(report, "snapshot")
    assert snapshot.startswith("snapshot: ok"), report
    assert "picture" not in snapshot and "PROBLEM" not in report, report
    assert report.rstrip().endswith("no problems found"), report
    assert street_camera.password not in report


def test_the_camera_says_what_it_is_and_that_its_stream_answers(tmp_path: Path, street_camera: ThirdPartyCamera) -> None:
    _, report = probe(tmp_path, street_camera, street_camera.password)
    onvif = section(report, "onvif")
    for fact in (street_camera.manufacturer, street_camera.model, street_camera.serial, "1.3.0"):  # ipycam's firmware
        assert fact in report, (fact, report)
    assert re.search(r"stream\b.*\bok", report, re.I), onvif


def test_the_json_report_holds_what_the_camera_says_it_is_and_its_stream(tmp_path: Path, street_camera: ThirdPartyCamera) -> None:
    code, report = probe(tmp_path, street_camera, street_camera.password, "--json")
    assert code == 0, report
    found = json.loads(report)
    assert found["identity"]["vendor"] == street_camera.manufacturer, found["identity"]
    assert (found["identity"]["model"], found["identity"]["serial"]) == (street_camera.model, street_camera.serial)
    assert found["stream"]["status"] == "ok", found["stream"]


def test_a_wrong_password_is_a_refused_login(tmp_path: Path, street_camera: ThirdPartyCamera) -> None:
    code, report = probe(tmp_path, street_camera, "not-the-password")
    assert code == 0, report
    onvif = section(report, "onvif")
    assert onvif.startswith("onvif: auth_failed"), report
    assert "rejecting fleetmon's login" in onvif, report
    assert "down" not in onvif and "refusing connections" not in onvif, report
    assert section(report, "reachability").startswith("reachability: ok"), report  # the camera itself is there
    assert "not-the-password" not in report


def test_after_a_refused_login_the_snapshot_says_it_was_not_tried(tmp_path: Path, street_camera: ThirdPartyCamera) -> None:
    _, report = probe(tmp_path, street_camera, "not-the-password")
    snapshot = section(report, "snapshot")
    assert "no snapshot URI" not in snapshot, report
    assert re.search(r"not tried.*login", snapshot), report
