"""What the picture checks remember of each camera: its first and last pictures, kept in a temporary file."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.image_checks_confusion import draw_world, snapshot, view
from fleetmon.probes.image_quality import ImageThresholds, assess, fingerprint
from fleetmon.probes.picture_memory import PictureMemory, pack, unpack

CAMERAS = 10_000


@pytest.fixture
def memory() -> Iterator[PictureMemory]:
    kept = PictureMemory()
    yield kept
    kept.close()


def open_files() -> list[str]:
    """What this process's descriptors point at (the one that listed them is gone when read)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:
            continue
    return paths


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def judge(memory: PictureMemory, device_id: str, jpeg: bytes) -> str:
    """One snapshot as the snapshot prober judges it: against what the memory recalls, then kept."""
    result = assess(jpeg, *memory.recall(device_id), ImageThresholds())
    memory.keep(device_id, result.fingerprint)
    return result.verdict


def test_a_stuck_then_turned_camera_is_found_from_what_the_memory_recalls(memory: PictureMemory) -> None:
    rng = np.random.default_rng(3)
    world = draw_world(rng)
    live = [snapshot(view(world), rng, second) for second in range(3)]
    turned = snapshot(view(world, dx=90, angle=8.0), rng, 4)
    verdicts = [judge(memory, "cam-1", jpeg) for jpeg in (*live, live[-1], turned)]
    assert verdicts == ["normal", "normal", "normal", "frozen", "moved"]


def test_the_first_picture_stays_the_reference_and_the_last_is_the_previous(memory: PictureMemory) -> None:
    rng = np.random.default_rng(5)
    world = draw_world(rng)
    first, second = (fingerprint(snapshot(view(world, dx=dx), rng, dx)) for dx in (0, 40))
    memory.keep("cam-1", first)
    memory.keep("cam-1", second)
    previous, reference = memory.recall("cam-1")
    assert previous is not None and reference is not None
    assert (previous.digest, previous.patches, previous.cells) == (second.digest, second.patches, second.cells)
    assert reference.thumb == first.thumb and (reference.sharpness, reference.flat_share) == (first.sharpness, first.flat_share)
    assert memory.recall("cam-2") == (None, None), "another camera knows nothing of cam-1's pictures"


def test_a_fingerprint_comes_back_as_it_was_kept() -> None:
    rng = np.random.default_rng(9)
    kept = fingerprint(snapshot(view(draw_world(rng)), rng, 0))
    assert unpack(pack(kept)) == kept
    with pytest.raises(ValueError, match="bytes"):
        unpack(pack(kept) + b"x")


def test_a_province_of_pictures_lives_in_an_unlinked_file_not_in_the_process() -> None:
    """10,000 cameras' fingerprints (~20 MB) cost the process a few MB at most (SQLite's page
    cache), and the file they are in has no name left: a crash leaves nothing behind."""
    rng = np.random.default_rng(11)
    sample = fingerprint(snapshot(view(draw_world(rng)), rng, 0))
    before, resident = set(open_files()), resident_bytes()
    memory = PictureMemory()
    for n in range(CAMERAS):
        memory.keep(f"cam-{n}", sample)
    grown = resident_bytes() - resident
    assert all(picture is not None for picture in memory.recall(f"cam-{CAMERAS - 1}"))
    assert grown < 8 * 2**20, f"{grown / 2**20:.1f} MiB resident for {CAMERAS} cameras' pictures"
    opened = set(open_files()) - before
    assert any(path.endswith("(deleted)") for path in opened), opened
    memory.close()
    assert set(open_files()) - before == set(), "closed, the file is gone"


@pytest.fixture
def file_size_limit() -> Iterator[None]:
    """Files this process writes may not pass 1 MB while the test runs: a full disk, as a write sees it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of the process dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)


def test_a_full_disk_costs_the_earlier_pictures_not_the_checks(file_size_limit: None, caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(13)
    world = draw_world(rng)
    first, later = (fingerprint(snapshot(view(world), rng, second)) for second in (0, 1))
    memory = PictureMemory()
    for n in range(CAMERAS):  # ~20 MB: past SQLite's 2 MB cache, so the file must grow past its limit
        memory.keep(f"cam-{n}", first)
    assert "picture memory: its temporary file failed" in caplog.text
    assert caplog.text.count("picture memory") == 1, "one warning, not one per camera"
    last = f"cam-{CAMERAS - 1}"  # kept after the file failed: in the process now
    memory.keep(last, later)
    previous, reference = memory.recall(last)
    assert previous is not None and previous.digest == later.digest
    assert reference is not None and reference.thumb == first.thumb
    memory.close()
