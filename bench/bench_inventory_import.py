"""Import time of the sample province (14,053 cameras) from XLSX and CSV, into SQLite.

The peer is the floor no importer can beat: openpyxl (or the csv module) merely reading the
same file's cells, measured in the same run. The ratio says what checking, planning and
writing add on top of reading.

    python bench/bench_inventory_import.py [--cameras 14053] [--repeat 3] [--postgres URL]
"""

from __future__ import annotations

import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import arguments, median_times
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import write_sheet
from fleetmon.store.inventory import device_dicts


def _read_only(path: Path) -> None:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig") as handle:
            for _ in csv.reader(handle):
                pass
        return
    workbook = load_workbook(path, read_only=True, data_only=True)
    for _ in workbook.worksheets[0].iter_rows(values_only=True):
        pass
    workbook.close()


def _import(path: Path, url: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "fleetmon", "inventory", "import", str(path)], check=True,
                       capture_output=True, env={**os.environ, "FLEETMON_CONFIG": str(_config(path.parent, url))})

    return run


def _config(folder: Path, url: str) -> Path:
    config = folder / f"{abs(hash(url))}.yaml"
    config.write_text(f"database_url: '{url}'\n", encoding="utf-8")
    return config


def main() -> None:
    parser = arguments(__doc__, cameras=14_053, repeat=3)
    parser.add_argument("--postgres", help="also import into this PostgreSQL database URL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fleetmon-bench-"))
    fleet = sample_fleet(args.cameras)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{len(fleet)} devices ({args.cameras} cameras)\n")
    print("| sheet | store | first import (s) | re-import, no change (s) | peer: read cells only (s) | ratio first/peer |")
    print("|---|---|---|---|---|---|")
    stores = [("SQLite", lambda name: f"sqlite:///{folder / name}.db")]
    if args.postgres:
        stores.append(("PostgreSQL", lambda _name: args.postgres))
    for suffix in (".xlsx", ".csv"):
        path = folder / f"fleet{suffix}"
        write_sheet(path, device_dicts(fleet))
        peer, _ = median_times(partial(_read_only, path), args.repeat)
        for store, url_for in stores:
            firsts = []
            for i in range(args.repeat):
                url = url_for(f"{suffix[1:]}-{i}")
                if store == "PostgreSQL":
                    _reset_postgres(url)
                firsts.append(median_times(_import(path, url), 1)[0])
            again, _ = median_times(_import(path, url), args.repeat)
            first = statistics.median(firsts)
            print(f"| {suffix[1:].upper()} | {store} | {first:.2f} | {again:.2f} | {peer:.2f} | {first / peer:.1f} |")


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from fleetmon.store.engine import create_store_engine

    engine = create_store_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    main()
