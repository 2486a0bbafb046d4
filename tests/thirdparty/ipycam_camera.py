"""A third-party virtual ONVIF camera (ipycam) on loopback only, fed by ffmpeg's `testsrc2` scene.

Run as a child process by the fixture in `conftest.py`:

    python -m tests.thirdparty.ipycam_camera --onvif-port P --rtsp-port R --user U --password-file F

ipycam's own `IPCamera.start()` binds every interface, joins the WS-Discovery multicast group and
looks for go2rtc; here the same parts are started by hand on 127.0.0.1 only: its HTTP server (ONVIF
device and media services with WS-Security, the JPEG snapshot) and its native RTSP server. No
discovery, no WebRTC, no go2rtc.

The scene is what a street camera shows, compressed in time: ffmpeg's `testsrc2` (moving parts,
its own running clock) under a smooth sky with a dark block driving across ("street"; the scenes
are drawn by `bench.image_checks_confusion.scene_filter`), low temporal noise, `--speed` seconds
of scene per second, and ipycam's date/time overlay (wall clock) drawn on top by the camera itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from ipycam import CameraConfig, IPCamera, IPCameraHTTPHandler, NativeRTSPServer
from ipycam.camera import ReusableThreadingTCPServer

from bench.image_checks_confusion import scene_filter

LOOPBACK = "127.0.0.1"


def scene(name: str, width: int, height: int, fps: int, speed: float, noise: int) -> subprocess.Popen[bytes]:
    """ffmpeg drawing the scene as raw BGR frames, each `speed / fps` seconds of scene time apart."""
    rate = Fraction(fps) / Fraction(speed).limit_denominator(1000)
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", scene_filter(name, width, height, rate, noise),
               "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)


def damaged(frame: np.ndarray, fault: str) -> np.ndarray:
    """The picture as a failing camera would send it (before the camera draws its date/time)."""
    if fault == "blurred":  # defocus
        return cv2.GaussianBlur(frame, (0, 0), 4.0)
    if fault == "covered":  # a bag over most of the lens, its edge out of focus
        covered = frame.copy()
        covered[:, : frame.shape[1] * 85 // 100] = (40, 45, 50)
        return cv2.GaussianBlur(covered, (0, 0), 2.0)
    return frame.copy()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--onvif-port", type=int, required=True)
    parser.add_argument("--rtsp-port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", type=Path, required=True)
    parser.add_argument("--serial", default="IPY-0001")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=4)
    parser.add_argument("--speed", type=float, default=1.0, help="seconds of scene per second")
    parser.add_argument("--noise", type=int, default=1, help="temporal noise, grey levels (0: none)")
    parser.add_argument("--scene", choices=["testsrc2", "street", "wall"], default="street")
    parser.add_argument("--fault", choices=["frozen", "blurred", "covered"], help="what goes wrong with the picture...")
    parser.add_argument("--fault-after", type=float, default=0.0, help="...this many seconds after the start")
    args = parser.parse_args()

    config = CameraConfig(
        name="ipycam under test", manufacturer="PythonCam", model="VirtualCam-1", serial_number=args.serial,
        local_ip=LOOPBACK, onvif_port=args.onvif_port, rtsp_port=args.rtsp_port,
        username=args.user, password=args.password_file.read_text().strip(),
        main_width=args.width, main_height=args.height, main_fps=args.fps, main_bitrate="1M",
        sub_width=args.width // 2, sub_height=args.height // 2, sub_fps=args.fps, sub_bitrate="512K",
        hw_accel="cpu", show_timestamp=True,
    )
    camera = IPCamera(config)
    IPCameraHTTPHandler.camera = camera
    http = ReusableThreadingTCPServer((LOOPBACK, args.onvif_port), IPCameraHTTPHandler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    rtsp = NativeRTSPServer(port=args.rtsp_port, host=LOOPBACK)
    rtsp.add_stream(config.main_stream_name, config.main_width, config.main_height, config.main_fps, config.main_bitrate)
    rtsp.add_stream(config.sub_stream_name, config.sub_width, config.sub_height, config.sub_fps, config.sub_bitrate)
    if not rtsp.start():
        return 1
    camera.rtsp_server = rtsp
    camera._start_rtsp_fanout()
    camera._streaming_mode, camera._use_mjpeg_fallback, camera._running = "native_rtsp", False, True

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    source = scene(args.scene, args.width, args.height, args.fps, args.speed, args.noise)
    assert source.stdout is not None
    size = args.width * args.height * 3
    print("ready", flush=True)
    started = time.monotonic()
    frame = np.zeros((args.height, args.width, 3), np.uint8)
    try:
        while not stop.is_set():
            data = source.stdout.read(size)
            if len(data) < size:
                return 1
            broken = args.fault is not None and time.monotonic() - started >= args.fault_after
            if not (broken and args.fault == "frozen"):  # a stuck sensor: the camera still draws its clock
                frame = np.frombuffer(data, np.uint8).reshape(args.height, args.width, 3).copy()
            camera.stream(damaged(frame, args.fault) if broken else frame.copy())
    finally:
        source.kill()
        source.wait()
        camera._stop_rtsp_fanout()
        rtsp.stop()
        http.shutdown()
        http.server_close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    sys.exit(main())
