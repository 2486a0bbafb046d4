"""`fleetmon report` writes the file an officer asked for, and says plainly what it cannot show yet."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from click.testing import CliRunner
from sqlalchemy import Engine

from fleetmon.cli import main
from tests.exporters.reports.conftest import fill


def _config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "fleetmon.yaml"
    path.write_text(f"database_url: {store_url}\nreports:\n  repeated_failures: 1\n", encoding="utf-8")
    return path


def test_report_command_writes_each_format(engine: Engine, store_url: str, tmp_path: Path) -> None:
    fill(engine)
    config = _config(tmp_path, store_url)
    runner = CliRunner()
    for name in ("r.html", "r.xlsx", "r.csv"):
        result = runner.invoke(main, ["--config", str(config), "report", "--period", "2026-09", "--area", "Thanh Hóa / Thọ Xuân",
                                      "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "4 devices" in result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Phiếu mở trong kỳ" in page and "Chưa có số liệu phiếu" not in page and "Xuân Lập" in page
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    repeated = [row[0] for row in book["Thiết bị hỏng lặp lại"].iter_rows(min_row=2, values_only=True)]
    assert repeated == ["cam-2", "cam-1"]  # the config's threshold of one outage


def test_report_in_english_and_the_errors_a_user_can_make(engine: Engine, store_url: str, tmp_path: Path) -> None:
    fill(engine)
    config = _config(tmp_path, store_url)
    runner = CliRunner()
    out = tmp_path / "r.txt"
    base = ["--config", str(config), "report"]
    result = runner.invoke(main, [*base, "--period", "2026-09", "--format", "html", "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Tickets opened in the period" in out.read_text(encoding="utf-8")  # from the tickets table, even when empty
    bad_period = runner.invoke(main, [*base, "--period", "September", "-o", str(out)])
    assert bad_period.exit_code == 2 and "2026-Q4" in bad_period.output
    bad_area = runner.invoke(main, [*base, "--period", "2026-09", "--area", "Hà Nội", "-o", str(tmp_path / "x.html")])
    assert bad_area.exit_code == 2 and "no area 'Hà Nội'" in bad_area.output
    assert not (tmp_path / "x.html").exists()
