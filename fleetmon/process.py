"""Process-wide settings a fleet-sized service needs from the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import resource

log = logging.getLogger(__name__)

WANTED_OPEN_FILES = 1 << 20
# Young collections after 50,000 more tracked objects (CPython's default: 700), and each older
# generation after 20 of the younger one's (default: 10).
GC_THRESHOLDS = (50_000, 20, 20)
# glibc's mallopt parameters (malloc.h) and the values fleetmon runs with.
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
MALLOC_ARENAS = 2
MMAP_THRESHOLD_BYTES = 256 * 1024


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> int:
    """Lift the soft limit on open files towards `wanted`; returns the limit now in force.

    A sweep holds a socket per probe in flight and a simulator a socket per connection it has
    accepted and not yet seen closed: a province outgrows the usual 1,024 (or 20,000) at once.
    Root may also lift the hard limit (up to the kernel's fs.nr_open); others get the hard limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((wanted, max(hard, wanted)), (min(wanted, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            return limit[0]
        except (ValueError, OSError):
            continue
    log.warning("open files limited to %d", soft)
    return soft


def tune_gc() -> None:
    """Let the cycle collector run by the tens of thousands of objects, not by the hundred.

    A monitor of a province keeps millions of long-lived objects (inventory, health state, last
    results) and every probe adds a few more: at CPython's default thresholds a full collection,
    which walks the whole heap, came every few thousand probes. In a reachability + SNMP sweep of
    51,514 devices that was 7.1 s of 16.2 s of CPU (44 %, bench/bench_vs_exporters.py); with
    these thresholds, 0.3 s, and the same resident memory. The probes' own garbage is freed by
    reference counting, so little waits for the collector.
    """
    gc.set_threshold(*GC_THRESHOLDS)


def tune_malloc(arenas: int = MALLOC_ARENAS, mmap_threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Keep what threads free reusable by the whole process, and give big buffers back at once.

    Left alone, glibc gives each thread that allocates its own heap, up to 8 per core, and keeps
    what was freed in it for that heap alone: the threads that read the inventory, render a
    district's /metrics and write the state log left a 136,923-device worker with ~100 MB in six
    such heaps. And after the first large buffer is freed, glibc stops mapping large buffers
    separately, so a rendered page's memory stays in the heap. Two heaps and a fixed mapping
    threshold keep both in bounds (bench/soak_service.py). False where the C library is not glibc.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))
