"""The shipped Prometheus rules and the documented scrape config, checked by promtool itself:
syntax, and behaviour over simulated days (exporters/rules/tests/*.yml)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.peers import need_binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "fleetmon" / "exporters" / "rules"
RULE_TESTS = sorted((RULES / "tests").glob("*.yml"))
DOC = ROOT / "docs" / "PROMETHEUS.md"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([need_binary("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_rules_are_valid() -> None:
    done = promtool("check", "rules", *map(str, sorted(RULES.glob("*.yml"))), cwd=RULES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("case", RULE_TESTS, ids=lambda p: p.name)
def test_rules_behave_over_simulated_days(case: Path) -> None:
    done = promtool("test", "rules", case.name, cwd=case.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_promtool_case() -> None:
    alerts = set(re.findall(r"^\s+- alert: (\w+)", (RULES / "fleetmon.rules.yml").read_text(), re.M))
    tested = {name for case in RULE_TESTS for name in re.findall(r"alertname: (\w+)", case.read_text())}
    assert alerts and alerts == tested


def scrape_configs_in_doc() -> list[str]:
    return re.findall(r"```yaml\n(# prometheus\.yml.*?)```", DOC.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(scrape_configs_in_doc())))
def test_documented_scrape_config_is_valid(index: int, tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text(scrape_configs_in_doc()[index])
    shutil.copy(RULES / "fleetmon.rules.yml", tmp_path)
    done = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_doc_shows_scrape_configs() -> None:
    assert len(scrape_configs_in_doc()) >= 2  # one worker, and several workers scraped by area
