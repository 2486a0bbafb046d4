"""Process-wide settings of the service: the cycle collector's thresholds."""

from __future__ import annotations

import gc
import subprocess
import sys

from fleetmon.process import GC_THRESHOLDS, tune_gc


def test_tune_gc_sets_the_service_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > before[0]  # fewer young collections than CPython's default
    finally:
        gc.set_threshold(*before)


def test_a_fresh_interpreter_keeps_the_default_until_the_service_starts() -> None:
    """Only `fleetmon run` and `fleetmon demo` tune the collector; importing fleetmon changes nothing."""
    code = "import gc, fleetmon.cli, fleetmon.process as p; print(gc.get_threshold() != p.GC_THRESHOLDS)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
