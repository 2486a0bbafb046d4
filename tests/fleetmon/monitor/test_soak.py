"""A soak of the whole service in accelerated time: memory, file descriptors and lag stay flat.

`bench/soak_service.py` runs the real `fleetmon run` (every probe kind, the state-change log,
tickets, the console) against `fleetmon simulate`, with faults re-drawn all along, an inventory
re-import half-way and every district's /metrics scraped, every interval divided by ten, and
samples the worker from /proc and from its own /metrics. Flat is judged on the run's second half,
after the first sweeps of every kind have warmed up the caches: the end (last tenth) against the
middle (45-55 %).

The default run: 320 devices for 70 s (about 12 simulated minutes). The slow set
(`scripts/test.sh -m slow`): about 1,500 devices for 36 minutes, six hours of simulated time. Timeouts
are not divided by ten, so ONVIF's 16 probes in flight carry about 1,500 cameras in its 30-second
interval; at 2,983 devices the sweeps ran past it (the 14,976-device soak at ten times the rate was
saturated altogether: docs/BENCHMARKS.md).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Soak:
    cameras: int
    minutes: float
    rss_growth_mib: float  # allowed from the middle to the end of the run
    fd_growth: int


FAST = Soak(cameras=300, minutes=70 / 60, rss_growth_mib=24, fd_growth=40)
HOURS = Soak(cameras=1_400, minutes=36, rss_growth_mib=24, fd_growth=40)


def window(samples: list[dict[str, Any]], key: str, start: float, end: float) -> list[float]:
    total = samples[-1]["t"]
    return [s["w1"][key] for s in samples if "w1" in s and key in s["w1"] and start <= s["t"] / total <= end]


def worst(samples: list[dict[str, Any]], prefix: str) -> float:
    return max((v for s in samples if "w1" in s for k, v in s["w1"].items() if k.startswith(prefix)), default=0.0)


@pytest.mark.parametrize("soak", [
    pytest.param(FAST, id="70-seconds"),
    pytest.param(HOURS, marks=[pytest.mark.slow, pytest.mark.timeout(int(HOURS.minutes * 60) + 900)], id="six-simulated-hours"),
])
def test_memory_descriptors_and_lag_stay_flat_over_a_soak(tmp_path: Path, soak: Soak) -> None:
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "bench/soak_service.py", "--cameras", str(soak.cameras), "--minutes", f"{soak.minutes:g}",
         "--accelerate", "10", "--sample", "2", "--port-offset", "7000", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=soak.minutes * 60 + 600)
    assert done.returncode == 0 and out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    print(done.stdout)
    result = json.loads(out.read_text())
    samples, events = result["samples"], [what for _, what in result["events"]]

    assert not [e for e in events if "exited" in e or "failed" in e.lower()], events
    assert result["scrapes"] > 0 and result["scrape_errors"] == 0
    assert worst(samples, "fleetmon_sweep_overruns") == 0, "a sweep ran past its interval"
    assert worst(samples, "fleetmon_scheduler_lag_seconds") < 1.0  # the shortest interval is 6 s
    assert worst(samples, "fleetmon_event_loop_lag_seconds") < 1.0
    assert worst(samples, "fleetmon_transitions_dropped") == 0
    assert samples[-1]["w1"]["fleetmon_sweeps.onvif"] >= 2, "the run was too short to see ONVIF sweep twice"

    mib = 2**20
    middle, end = window(samples, "rss", 0.45, 0.55), window(samples, "rss", 0.9, 1.0)
    growth = (statistics.median(end) - statistics.median(middle)) / mib
    assert growth < soak.rss_growth_mib, f"RSS grew {growth:.0f} MiB over the second half"
    fds_middle, fds_end = window(samples, "fds", 0.45, 0.55), window(samples, "fds", 0.9, 1.0)
    assert statistics.median(fds_end) - statistics.median(fds_middle) < soak.fd_growth, (fds_middle, fds_end)
