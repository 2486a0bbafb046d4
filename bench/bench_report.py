"""Time of the monthly maintenance report of the sample province (14,053 cameras and their
recorders and switches), from a month of state changes in the store, in every format.

The history is made up but shaped like a bad month: every unit carries a state in from the
month before, has a few outages of its own or behind its recorder, some degraded spells, and
the monitor is down twice for everyone (two gaps written as unknown, as `take_over` writes them).

    python bench/bench_report.py [--cameras 14053] [--outages 2.0] [--postgres URL] [--repeat 1]
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select

from fleetmon.config import ReportsConfig
from fleetmon.exporters.reports.build import build_report
from fleetmon.exporters.reports.formats import render
from fleetmon.exporters.reports.period import parse_period
from fleetmon.health.model import Cause, Health, Transition
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.sample import sample_fleet
from fleetmon.store import statelog
from fleetmon.store.engine import open_store
from fleetmon.store.inventory import apply_plan
from fleetmon.store.schema import state_changes

PERIOD = "2026-10"


def _history(device_ids: list[str], start: float, end: float, outages: float, rng: random.Random) -> list[Transition]:
    month = end - start
    gaps = [(start + month * 0.3, start + month * 0.3 + 3600), (start + month * 0.7, start + month * 0.7 + 6 * 3600)]
    out: list[Transition] = []
    for device_id in device_ids:
        events: list[tuple[float, Health, str, Cause]] = [(start - 20 * 86400, Health.UP, "answering", Cause.NONE)]
        for _ in range(int(rng.expovariate(1 / outages)) if outages else 0):
            at = rng.uniform(start, end - 86400)
            if rng.random() < 0.7:
                events.append((at, Health.DOWN, "none of its service ports answer", Cause.DEVICE))
            else:
                events.append((at, Health.UNREACHABLE, "behind nvr, which is offline", Cause.NETWORK))
            back = Cause.POWER if rng.random() < 0.2 else Cause.NONE
            events.append((at + rng.uniform(600, 12 * 3600), Health.UP, "answering again", back))
        if rng.random() < 0.1:
            at = rng.uniform(start, end - 86400)
            events.append((at, Health.DEGRADED, "picture frozen: the same frame; clock 120 s ahead: footage times are wrong", Cause.NONE))
            events.append((at + rng.uniform(3600, 86400), Health.UP, "answering", Cause.NONE))
        for gap_start, gap_end in gaps:
            events.append((gap_start, Health.UNKNOWN, "not watched: the monitor was not running", Cause.MONITOR))
            events.append((gap_end, Health.UP, "answering", Cause.NONE))
        events.sort(key=lambda e: e[0])
        old = Health.UNKNOWN
        for at, state, reason, cause in events:
            out.append(Transition(device_id, at, old, state, reason, cause))
            old = state
    return out


def _fill(engine: Engine, cameras: int, outages: float) -> int:
    fleet = sample_fleet(cameras)
    period = parse_period(PERIOD)
    with engine.begin() as conn:
        apply_plan(conn, ImportPlan(added=fleet), "bench")
    transitions = _history([d.id for d in fleet], period.start.timestamp(), period.end.timestamp(), outages, random.Random(7))
    with engine.begin() as conn:
        for offset in range(0, len(transitions), 20_000):
            statelog.write(conn, transitions[offset : offset + 20_000])
    return len(fleet)


def _timed(run: Callable[[], Any], repeat: int) -> tuple[str, Any]:
    """Wall and CPU seconds (median of `repeat`): on a shared machine the CPU time is the steadier figure."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return f"{statistics.median(walls):.2f} | {statistics.median(cpus):.2f}", result


def _bench(name: str, engine: Engine, repeat: int, out: Path) -> None:
    period = parse_period(PERIOD)

    def build() -> Any:
        with engine.connect() as conn:
            return build_report(conn, ReportsConfig(), period, "Thanh Hóa")

    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(state_changes)).scalar_one()
    seconds, report = _timed(build, repeat)
    print(f"| {name} | build (read the log, compute) | {seconds} | {report.total.devices} devices, {rows} log rows, "
          f"{len(report.areas)} areas, {len(report.sites)} sites |")
    for fmt in ("html", "xlsx", "csv", "pdf"):
        def write(fmt: str = fmt) -> bytes:
            return render(report, fmt, "vi")

        seconds, data = _timed(write, repeat)
        (out / f"report.{fmt}").write_bytes(data)
        print(f"| {name} | render {fmt} | {seconds} | {len(data) / 1e6:.1f} MB |")
        if fmt == "xlsx":
            seconds, cells = _openpyxl_peer(data, repeat)
            print(f"| {name} | peer: openpyxl writing the same {cells} cells alone (no formats) | {seconds} | |")


def _openpyxl_peer(xlsx: bytes, repeat: int) -> tuple[str, int]:
    """The floor under the XLSX renderer: openpyxl writing the report's cell values, nothing else."""
    book = load_workbook(io.BytesIO(xlsx))
    sheets = [(ws.title, [list(row) for row in ws.iter_rows(values_only=True)]) for ws in book.worksheets]
    cells = sum(1 for _, rows in sheets for row in rows for v in row if v is not None)

    def write() -> bytes:
        wb = Workbook()
        assert wb.active is not None
        wb.remove(wb.active)
        for title, rows in sheets:
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append(row)
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    seconds, _ = _timed(write, repeat)
    return seconds, cells


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=14_053)
    parser.add_argument("--outages", type=float, default=2.0, help="mean outages per unit in the month")
    parser.add_argument("--postgres", help="also run on this (empty) PostgreSQL database URL")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fleetmon-bench-report-"))
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; "
          f"period {PERIOD}; output in {folder}\n")
    print("| store | step | wall s | CPU s (this process) | size |")
    print("|---|---|---|---|---|")
    stores = [("SQLite", f"sqlite:///{folder / 'bench.db'}")]
    if args.postgres:
        stores.append(("PostgreSQL", args.postgres))
    for name, url in stores:
        engine = open_store(url)
        started = time.perf_counter()
        devices = _fill(engine, args.cameras, args.outages)
        print(f"| {name} | fill: {devices} devices and their month (not part of the report) | {time.perf_counter() - started:.1f} | | |")
        _bench(name, engine, args.repeat, folder)
        engine.dispose()


if __name__ == "__main__":
    main()

