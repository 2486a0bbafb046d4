"""What the camera checks remember between sweeps: each camera's stream and snapshot addresses."""

from __future__ import annotations

import pytest

from fleetmon.probes.camera import CameraMemory
from fleetmon.probes.onvif.probe import MediaProfile, OnvifResult
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Target


def learnt(memory: CameraMemory, target: Target, stream: str, snapshot: str) -> None:
    profile = MediaProfile(token="p1", name="main", stream_uri=stream, snapshot_uri=snapshot)
    memory.learn(OnvifResult(device_id=target.device_id, probe="onvif", status=ProbeStatus.OK,
                              duration_seconds=0.1, profiles=[profile]), target)


@pytest.mark.parametrize(("host", "stream", "snapshot"), [
    ("127.0.3.4", "rtsp://127.0.3.4:554/Streaming/Channels/101", "http://127.0.3.4/ISAPI/Streaming/channels/101/picture"),
    ("::1", "rtsp://[::1]:8554/stream/p1", "http://[::1]:8080/snap.jpg?profile=p1"),
    ("127.0.3.4", "rtsp://10.20.0.7:554/live", "http://cam.example.test/snapshot"),  # behind NAT: another host
    ("127.0.3.4", "rtsp://admin@127.0.3.4/live", "http://127.0.3.44/snapshot"),  # not quite its host
])
def test_each_camera_gets_back_the_addresses_it_named(host: str, stream: str, snapshot: str) -> None:
    memory, target = CameraMemory(), Target(device_id="cam-1", host=host)
    learnt(memory, target, stream, snapshot)

    assert (memory.stream_uri(target), memory.snapshot_uri(target)) == (stream, snapshot)

    memory.forget("cam-1")
    assert (memory.stream_uri(target), memory.snapshot_uri(target)) == (None, None)


def test_cameras_of_one_firmware_hold_their_addresses_once() -> None:
    memory = CameraMemory()
    targets = [Target(device_id=f"cam-{i}", host=f"127.0.{i // 250}.{i % 250 + 1}") for i in range(1000)]
    for t in targets:
        learnt(memory, t, f"rtsp://{t.host}:554/Streaming/Channels/101", f"http://{t.host}/ISAPI/Streaming/channels/101/picture")

    assert [memory.stream_uri(t) for t in targets[:2]] == ["rtsp://127.0.0.1:554/Streaming/Channels/101",
                                                           "rtsp://127.0.0.2:554/Streaming/Channels/101"]
    assert len({id(uri) for uri in memory._stream_uris.values()}) == 1
    assert len({id(uri) for uri in memory._snapshot_uris.values()}) == 1
