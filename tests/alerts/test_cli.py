"""`fleetmon tickets` and `fleetmon windows` as a technician types them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from sqlalchemy import Engine

from fleetmon.cli import main
from tests.alerts.conftest import Fleet, camera, config


def test_a_technician_works_a_ticket_from_the_command_line(tmp_path: Path, sqlite_url: str, store: Engine) -> None:
    config_file = tmp_path / "fleetmon.yaml"
    config_file.write_text(yaml.safe_dump({"database_url": sqlite_url, "tickets": {"close_after_healthy": "1m"}}), encoding="utf-8")
    fleet = Fleet(store, {"cam-9": camera("cam-9")}, config())
    fleet.sweep()
    fleet.wait(900, down=["cam-9"])
    runner = CliRunner()

    def fleetmon(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--config", str(config_file), *args])
        return result.exit_code, result.output

    code, listing = fleetmon("tickets", "list")
    assert code == 0 and "cam-9: unit offline" in listing and "open" in listing
    [ticket] = json.loads(fleetmon("tickets", "list", "--json")[1])
    number = str(ticket["id"])
    assert fleetmon("tickets", "ack", number, "--by", "tâm")[0] == 0
    assert fleetmon("tickets", "assign", number, "Nguyễn Thị Hoa", "--by", "tâm")[0] == 0
    assert fleetmon("tickets", "start", number, "--by", "hoa")[0] == 0
    repair = ["--cause", "PoE adapter burnt", "--action", "replaced the adapter", "--parts", "PoE 48 V adapter",
              "--cost", "450000", "--hours", "1.5", "--funding", "social", "--by", "hoa"]
    code, refused = fleetmon("tickets", "close", number, *repair)
    assert code == 1 and "monitoring still sees the fault" in refused
    fleet.wait(180)
    code, closed = fleetmon("tickets", "close", number, *repair)
    assert code == 0 and "closed" in closed and "450.000 ₫" in closed
    code, shown = fleetmon("tickets", "show", number)
    assert code == 0 and "state closed" in shown and "paid by social" in shown and "assignee Nguyễn Thị Hoa" in shown
    assert "acknowledged" in shown and "started" in shown and "repair recorded" in shown
    assert json.loads(fleetmon("tickets", "show", number, "--json")[1])["repair"]["cost_vnd"] == 450_000


def test_windows_are_added_listed_and_removed(tmp_path: Path) -> None:
    config_file = tmp_path / "fleetmon.yaml"
    config_file.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'fleetmon.db'}"}), encoding="utf-8")
    runner = CliRunner()

    def fleetmon(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--config", str(config_file), *args])
        return result.exit_code, result.output

    code, added = fleetmon("windows", "add", "--area", "Thanh Hóa / Thọ Xuân", "--start", "2099-01-01T08:00+07:00", "--duration", "4h",
                           "--every", "weekly", "--reason", "cắt điện theo lịch")
    assert code == 0 and "2099-01-01 01:00 - 2099-01-01 05:00 UTC, every 168 h" in added
    code, listing = fleetmon("windows", "list")
    assert "Thanh Hóa / Thọ Xuân" in listing and "cắt điện theo lịch" in listing
    assert fleetmon("windows", "add", "--device", "cam-1", "--start", "2099-01-01T08:00", "--end", "2099-01-01T07:00")[0] == 1
    assert fleetmon("windows", "add", "--start", "2099-01-01T08:00", "--duration", "1h")[0] == 2  # no scope
    assert fleetmon("windows", "remove", "1")[0] == 0
    assert fleetmon("windows", "list")[1].strip() == "no maintenance windows"


def test_tickets_are_listed_by_area_subtree(tmp_path: Path, sqlite_url: str, store: Engine) -> None:
    config_file = tmp_path / "fleetmon.yaml"
    config_file.write_text(yaml.safe_dump({"database_url": sqlite_url}), encoding="utf-8")
    fleet = Fleet(store, {d.id: d for d in (camera("cam-xl", site="Chợ"), camera("cam-qx", area="Thanh Hóa / Quảng Xương_1", site="UBND"))},
                  config())
    fleet.sweep()
    fleet.wait(900, down=["cam-xl", "cam-qx"])
    runner = CliRunner()

    def listed(area: str) -> list[str]:
        result = runner.invoke(main, ["--config", str(config_file), "tickets", "list", "--json", "--area", area])
        assert result.exit_code == 0, result.output
        return [t["subject"] for t in json.loads(result.output)]

    assert listed("Thanh Hóa") == ["cam-qx", "cam-xl"]
    assert listed("Thanh Hóa/Thọ Xuân") == ["cam-xl"]  # any separator, the whole subtree
    assert listed("Thanh Hóa / Quảng Xương_1") == ["cam-qx"] and listed("Thanh Hóa / Quảng Xương") == []
