"""Finding the real third-party peers the tests run against (snmpd, PostgreSQL, Prometheus...).

A missing peer skips its tests on a developer's machine, but fails them under CI (CI=true):
the test script installs every peer, so a missing one there is a broken setup, not a reason
to pass quietly.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).resolve().parent / "data"


def missing(reason: str) -> None:
    """Skip, or fail under CI, because a real peer is not available."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"real peer missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def need_binary(name: str, *extra_dirs: str) -> str:
    """Absolute path of a peer's executable, looked up on PATH and in `extra_dirs`."""
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in extra_dirs if (Path(d) / name).is_file()), None
    )
    if found is None:
        missing(f"{name} is not installed (the test script installs it)")
    assert found is not None
    return found


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port free on `host` now; good enough for peers started right after."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def data_file(*parts: str) -> Path:
    """A file of `tests/data/` (the recordings and fixtures the suite ships with)."""
    path = TEST_DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the checkout")
    return path


async def stop_process(process: asyncio.subprocess.Process, seconds: float = 60) -> int:
    """Stop a child as a service manager would (SIGTERM, SIGKILL after `seconds`), wait for it; its exit code."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode
