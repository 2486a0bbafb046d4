"""What the benchmarks share: free ports, a process's CPU and memory, medians, the options every
bench takes, and each bench's own section of docs/BENCHMARKS.md.

Benchmarks import this module and fleetmon, never the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "BENCHMARKS.md"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port free on `host` now; good enough for a peer started right after."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of process `pid` (this one by default), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def median_times(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds (this process) of `repeat` calls of `run`."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def arguments(doc: str, *, cameras: int | None = None, repeat: int | None = None, concurrency: int | None = None,
              seconds: float | None = None, serve: bool = False) -> argparse.ArgumentParser:
    """A parser described by the bench's docstring, with the shared options given a default here."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if cameras is not None:
        parser.add_argument("--cameras", type=int, default=cameras,
                            help="cameras of the sample province (its NVRs and uplinks come with them)")
    if repeat is not None:
        parser.add_argument("--repeat", type=int, default=repeat, help="runs per figure; the median is kept")
    if concurrency is not None:
        parser.add_argument("--concurrency", type=int, default=concurrency, help="probes in flight")
    if seconds is not None:
        parser.add_argument("--seconds", type=float, default=seconds, help="length of each load run")
    if serve:
        parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child process serving on this port
    return parser


def write_section(section: str, text: str, document: Path = BENCHMARKS) -> None:
    """Replace the section headed `section` (or append it); the rest of the document belongs to others."""
    current = document.read_text(encoding="utf-8") if document.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    document.write_text(updated, encoding="utf-8")
