"""A third-party virtual ONVIF camera (ipycam) on loopback only, fed by ffmpeg's `testsrc2` scene.

Run as a child process by the fixture in `conftest.py`:

    python -m tests.thirdparty.ipycam_camera --onvif-port P --rtsp-port R --user U --password-file F

ipycam's own `IPCamera.start()` binds every interface, joins the WS-Discovery multicast group and
looks for go2rtc; here the same parts are started by hand on 127.0.0.1 only: its HTTP server (ONVIF
device and media services with WS-Security, the JPEG snapshot) and its native RTSP server. No
discovery, no WebRTC, no go2rtc.

The scene is what a street camera shows, compressed in time: `testsrc2` (a smooth gradient
background, moving parts, its own running clock) with low temporal noise, `--speed` seconds of
scene per second, and ipycam's date/time overlay (wall clock) drawn on top by the camera itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
from ipycam import CameraConfig, IPCamera, IPCameraHTTPHandler, NativeRTSPServer
from ipycam.camera import ReusableThreadingTCPServer

LOOPBACK = "127.0.0.1"


def scene_filter(name: str, width: int, height: int, rate: Fraction, noise: int) -> str:
    """An ffmpeg lavfi graph for the scene (see the module docstring); frames `1 / rate` scene seconds apart."""
    fps = f"{rate.numerator}/{rate.denominator}"
    if name == "testsrc2":
        graph = f"testsrc2=size={width}x{height}:rate={fps}"
    else:  # "street": a smooth sky over busy ground, a dark block driving across; "wall": sky and block only
        sky = height * 6 // 10 if name == "street" else height
        block_w, block_h = width // 7, height // 9
        graph = (f"gradients=s={width}x{sky}:rate={fps}:speed=0.00001:c0=0x4a6fa5:c1=0xb8c4d0:nb_colors=2:"
                 f"x0=0:y0=0:x1=0:y1={sky}")
        if sky < height:
            graph += f"[sky];testsrc2=s={width}x{height - sky}:rate={fps}[ground];[sky][ground]vstack"
        graph += (f"[view];color=c=0x303030:s={block_w}x{block_h}:rate={fps}[block];"
                  f"[view][block]overlay=x=mod(t*7\\,W+w)-w:y={sky - block_h - height // 20}:eval=frame:shortest=1")
    if noise:
        graph += f",noise=alls={noise}:allf=t"
    return graph + "[out0]"


def scene(name: str, width: int, height: int, fps: int, speed: float, noise: int) -> subprocess.Popen[bytes]:
    """ffmpeg drawing the scene as raw BGR frames, each `speed / fps` seconds of scene time apart."""
    rate = Fraction(fps) / Fraction(speed).limit_denominator(1000)
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", scene_filter(name, width, height, rate, noise),
               "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)


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
    try:
        while not stop.is_set():
            data = source.stdout.read(size)
            if len(data) < size:
                return 1
            camera.stream(np.frombuffer(data, np.uint8).reshape(args.height, args.width, 3).copy())
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
