"""Reading the sample province's XLSX: calamine against openpyxl's read-only stream, in one run.

What an import spends before it checks a row. Each figure is the median wall and CPU time of
this process over `--repeat` reads of the same file:

    openpyxl     the read-only, streaming reader (what imports used before calamine; still used
                 for workbooks holding formulas or error values)
    calamine     the Rust reader imports now use
    parts scan   the check of the zip's parts that runs before either (sizes, cell lengths, formulas)

    python bench/bench_xlsx_readers.py [--cameras 14053] [--repeat 5]
"""

from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.common import arguments, median_times
from fleetmon.inventory.sample import sample_fleet
from fleetmon.inventory.sheets import _calamine_rows, _check_xlsx_parts, _open_first_sheet, write_sheet
from fleetmon.store.inventory import device_dicts


def main() -> None:
    args = arguments(__doc__, cameras=14_053, repeat=5).parse_args()
    with tempfile.TemporaryDirectory(prefix="fleetmon-bench-") as folder:
        path = Path(folder) / "fleet.xlsx"
        devices = write_sheet(path, device_dicts(sample_fleet(args.cameras)))
        print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
              f"{devices} devices, {path.stat().st_size:,} bytes\n")
        readers = {"openpyxl (read-only stream)": lambda: list(_open_first_sheet(path, data_only=True)),
                   "calamine": lambda: _calamine_rows(path),
                   "parts scan": lambda: _check_xlsx_parts(path)}
        figures = {name: median_times(read, args.repeat) for name, read in readers.items()}
        peer = figures["openpyxl (read-only stream)"][0]
        print("| reader | wall (s) | CPU (s) | ratio to openpyxl (wall) |")
        print("|---|---|---|---|")
        for name, (wall, cpu) in figures.items():
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {wall / peer:.2f} |")


if __name__ == "__main__":
    main()
