"""The picture checks on a third-party camera's scene: no false faults over 30 minutes of it, and
its own picture going wrong still found.

ipycam serves the scene at 60x its pace: 30 minutes of it (moving parts, a smooth sky, a running
clock, ipycam's own date/time overlay) pass in 30 seconds, snapshotted by fleetmon's snapshot probe
about every 20 s of scene, each judged as `fleetmon run` judges it (the previous and the first
snapshot kept as the monitor keeps them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bench.image_checks_confusion import confusion, markdown, thirdparty_set
from fleetmon.probes.http.snapshot import SnapshotResult, probe_snapshot
from fleetmon.probes.picture_memory import PictureMemory
from fleetmon.probes.result import ProbeStatus
from fleetmon.probes.target import Credentials, Target
from tests.peers import need_binary
from tests.thirdparty.conftest import ThirdPartyCamera, run_ipycam

SCENE_MINUTES = 30
SPEED = 60.0  # seconds of scene per second
EVERY = 0.35  # seconds between snapshots: ~20 s of scene


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


async def watch(camera: ThirdPartyCamera, client: httpx.AsyncClient, seconds: float,
                memory: PictureMemory | None = None) -> list[SnapshotResult]:
    """Snapshots for `seconds`, each judged against the previous one and the first, as the monitor
    does (with `memory`, what an earlier watch kept)."""
    target = Target(device_id="ipycam", host=camera.host, timeout=10.0,
                    credentials=Credentials(camera.username, SecretStr(camera.password)))
    memory = PictureMemory() if memory is None else memory
    results = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = await probe_snapshot(target, client, camera.snapshot_url, *memory.recall("ipycam"))
        assert result.status is ProbeStatus.OK, result.error
        assert result.fingerprint is not None
        memory.keep("ipycam", result.fingerprint)
        results.append(result)
        await asyncio.sleep(EVERY)
    return results


def faults(results: list[SnapshotResult]) -> list[tuple[int, list[str]]]:
    return [(n, r.problems) for n, r in enumerate(results) if r.problems]


@pytest.mark.parametrize("scene", ["street", "testsrc2", "wall"])
async def test_thirty_minutes_of_a_scene_raise_no_picture_fault(tmp_path: Path, client: httpx.AsyncClient, scene: str) -> None:
    with run_ipycam(tmp_path, scene=scene, speed=SPEED, fps=4) as camera:
        results = await watch(camera, client, SCENE_MINUTES * 60 / SPEED)
    assert len(results) >= 40, "too few snapshots to say anything"
    judged = results if scene != "wall" else results[1:]  # a view of nothing but sky: see below
    assert faults(judged) == [], "\n".join(f"{n}: {r.assessment.explain() if r.assessment else ''}" for n, r in enumerate(results))
    assert all(len(r.checks) == 5 for r in results[1:]), "every check ran on every snapshot after the first"


async def test_a_view_of_nothing_but_sky_is_judged_against_itself(tmp_path: Path, client: httpx.AsyncClient) -> None:
    """Without a baseline one snapshot of plain sky looks like a covered or defocused lens (the fixed
    thresholds); from the second snapshot on the camera is judged against its own, and is fine."""
    with run_ipycam(tmp_path, scene="wall", speed=SPEED, fps=4) as camera:
        results = await watch(camera, client, 3.0)
    assert results[0].verdict in ("covered", "blurred")
    assert [r.verdict for r in results[1:]] == ["normal"] * (len(results) - 1), [r.problems for r in results]


@pytest.mark.parametrize(("fault", "verdict"), [("frozen", "frozen"), ("blurred", "blurred"), ("covered", "covered")])
async def test_the_camera_going_wrong_is_still_found(tmp_path: Path, client: httpx.AsyncClient, fault: str, verdict: str) -> None:
    """Its reference taken while it is fine; then a stuck sensor (the date/time overlay still
    running), a defocused lens, a bag over the lens."""
    with run_ipycam(tmp_path, scene="street", speed=SPEED, fps=4, fault=fault, fault_after=5.0) as camera:
        memory = PictureMemory()
        before = await watch(camera, client, 2.5, memory)
        await asyncio.sleep(3.0)
        after = await watch(camera, client, 4.0, memory)
    assert faults(before) == []
    assert len(after) >= 5
    assert [r.verdict for r in after[1:]] == [verdict] * (len(after) - 1), [r.problems for r in after]


@pytest.mark.parametrize("scene", ["street", "testsrc2"])
def test_labelled_snapshots_of_ffmpeg_scenes_are_sorted_right(scene: str) -> None:
    """The third-party confusion table of docs/IMAGE_CHECKS.md, held: nothing normal flagged, every
    fault found (a covered lens over a view of sky may read as blurred: found, under another name)."""
    need_binary("ffmpeg")
    table = confusion(samples=thirdparty_set(scene, per_class=12))
    print(f"\n{scene}\n{markdown(table)}")
    assert table["normal"]["normal"] == 12
    for label in ("blank", "frozen", "blurred"):
        assert table[label][label] == 12, (label, table[label])
    assert table["covered"]["normal"] == 0, table["covered"]
    assert table["moved"]["moved"] >= 9, table["moved"]
