"""A third-party ONVIF camera for the tests: ipycam (MIT; "Pure Python Virtual IP Camera with ONVIF
support"), written by nobody here, run in a child process on 127.0.0.1 (see `ipycam_camera.py`).

Its ONVIF device and media services ask for a WS-Security UsernameToken, its snapshot for HTTP
Basic, its native RTSP server answers DESCRIBE; the picture is an ffmpeg scene with moving parts,
a smooth sky and an on-screen date/time. ipycam and ffmpeg are installed by `scripts/setup.sh`;
without them these tests skip, and fail under CI.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.peers import free_port, missing, need_binary

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 40.0  # ipycam imports OpenCV and numpy; a loaded 2-core machine takes a while


@dataclass(frozen=True, slots=True)
class ThirdPartyCamera:
    """Where the camera listens and how to log in (the password is test data, not a secret)."""

    onvif_port: int
    rtsp_port: int
    username: str
    password: str
    serial: str
    host: str = "127.0.0.1"
    manufacturer: str = "PythonCam"  # what ipycam reports in GetDeviceInformation
    model: str = "VirtualCam-1"

    @property
    def snapshot_url(self) -> str:
        return f"http://{self.host}:{self.onvif_port}/snapshot.jpg"

    def snapshot(self) -> bytes:
        response = httpx.get(self.snapshot_url, auth=(self.username, self.password), timeout=10, trust_env=False)
        response.raise_for_status()
        return response.content


def need_ipycam() -> None:
    need_binary("ffmpeg")
    if importlib.util.find_spec("ipycam") is None or importlib.util.find_spec("cv2") is None:
        missing("ipycam (and opencv-python-headless) are not installed (scripts/setup.sh installs them)")


@contextmanager
def run_ipycam(folder: Path, *, scene: str = "street", speed: float = 1.0, fps: int = 3, noise: int = 1,
               serial: str = "IPY-0001", password: str = "ipy-Secret-42", fault: str | None = None,
               fault_after: float = 0.0) -> Iterator[ThirdPartyCamera]:
    """ipycam in a child process until the block ends; ready once it serves a snapshot."""
    need_ipycam()
    camera = ThirdPartyCamera(onvif_port=free_port(), rtsp_port=free_port(), username="admin", password=password,
                              serial=serial)
    secret = folder / f"ipycam-{camera.onvif_port}.password"
    secret.write_text(password, encoding="utf-8")
    log = folder / f"ipycam-{camera.onvif_port}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.thirdparty.ipycam_camera", "--onvif-port", str(camera.onvif_port),
             "--rtsp-port", str(camera.rtsp_port), "--user", camera.username, "--password-file", str(secret),
             "--serial", serial, "--scene", scene, "--speed", str(speed), "--fps", str(fps), "--noise", str(noise),
             *(("--fault", fault, "--fault-after", str(fault_after)) if fault else ())],
            cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(camera, process, log)
        yield camera
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(camera: ThirdPartyCamera, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"ipycam exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            camera.snapshot()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"ipycam gave no snapshot in {START_SECONDS:g} s: "
                                   f"{log.read_text(errors='replace')[-2000:]}") from None
            time.sleep(0.3)


@pytest.fixture(scope="module")
def street_camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThirdPartyCamera]:
    """The street scene at its natural pace, for the probe and run tests of one module."""
    with run_ipycam(tmp_path_factory.mktemp("ipycam")) as camera:
        yield camera
