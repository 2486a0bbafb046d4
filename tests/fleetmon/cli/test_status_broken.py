"""`fleetmon status` lists what a technician must fix: what, where, since when, why, and its ticket, worst first.

Through the real command on a store written the way the monitor and the ticket engine write it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from fleetmon.health.model import Cause, Health, Transition
from fleetmon.store import statelog
from fleetmon.store.schema import tickets

ROOT = Path(__file__).resolve().parents[3]
SHEET = """Device ID,Kind,Host,Area,Site,Parent,Address,Protocols
nvr-1,nvr,127.0.0.2,Thanh Hóa / Thọ Xuân / Xuân Lập,Chợ Xuân Lập,,12 Lê Lợi,onvif
cam-1,camera,127.0.0.3,Thanh Hóa / Thọ Xuân / Xuân Lập,Chợ Xuân Lập,nvr-1,,onvif
cam-2,camera,127.0.0.4,Thanh Hóa / Thọ Xuân / Xuân Lập,Chợ Xuân Lập,nvr-1,,onvif
cam-3,camera,127.0.0.5,Hà Nội / Ba Đình,Phố Kim Mã,,3 Kim Mã,onvif
cam-4,camera,127.0.0.6,Hà Nội / Ba Đình,Phố Kim Mã,,,onvif
"""
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()


def fleetmon(folder: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "fleetmon", *args], cwd=folder, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """The NVR down with its two cameras unreachable behind it, one camera degraded, one up; the NVR has a ticket."""
    (tmp_path / "fleetmon.yaml").write_text("data_dir: data\n", encoding="utf-8")
    (tmp_path / "fleet.csv").write_text(SHEET, encoding="utf-8")
    fleetmon(tmp_path, "inventory", "import", "fleet.csv")
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'fleetmon.db'}")
    with engine.begin() as conn:
        statelog.write(conn, [
            Transition("nvr-1", T0, Health.UNKNOWN, Health.UP, "answering"),
            Transition("cam-1", T0, Health.UNKNOWN, Health.UP, "answering"),
            Transition("cam-2", T0, Health.UNKNOWN, Health.UP, "answering"),
            Transition("cam-3", T0, Health.UNKNOWN, Health.UP, "answering"),
            Transition("cam-4", T0, Health.UNKNOWN, Health.UP, "answering"),
            Transition("nvr-1", T0 + 600, Health.UP, Health.DOWN, "onvif: connection refused", Cause.DEVICE),
            Transition("cam-1", T0 + 600, Health.UP, Health.UNREACHABLE, "behind nvr-1", Cause.NETWORK),
            Transition("cam-2", T0 + 600, Health.UP, Health.UNREACHABLE, "behind nvr-1", Cause.NETWORK),
            Transition("cam-3", T0 + 1200, Health.UP, Health.DEGRADED, "stream: 3 fps, below 10", Cause.DEVICE),
        ])
        at = datetime.fromtimestamp(T0 + 600, UTC)
        conn.execute(insert(tickets).values(
            subject="nvr-1", kind="down", open_key="nvr-1|down", state="acknowledged", severity="critical", team="tech",
            device_id="nvr-1", area="Thanh Hóa / Thọ Xuân / Xuân Lập", site="Chợ Xuân Lập", title="nvr-1 down",
            affected="cam-1\ncam-2", assignee="lan", fault_since=at, opened_at=at, sla_from=at))
    engine.dispose()
    return tmp_path


def test_status_lists_the_broken_worst_first_with_where_why_and_ticket(fleet: Path) -> None:
    out = fleetmon(fleet, "status")
    assert "all devices" in out  # the summary stays
    broken = out[out.index("BROKEN"):]
    assert broken.index("DOWN") < broken.index("DEGRADED")
    down = broken[broken.index("DOWN"):broken.index("DEGRADED")]
    assert "nvr-1" in down and "since 2026-11-20 08:10 UTC" in down and "ticket #1 acknowledged, lan" in down
    assert "12 Lê Lợi" in down and "Chợ Xuân Lập" in down and "why: onvif: connection refused" in down
    assert "unreachable behind it (2): cam-1, cam-2" in down
    assert "UNREACHABLE" not in broken  # shown once, under their parent
    assert "stream: 3 fps" in broken and "no ticket" in broken
    assert "cam-4" not in broken


def test_status_json_and_area(fleet: Path) -> None:
    found = json.loads(fleetmon(fleet, "status", "--json"))
    assert [b["device_id"] for b in found] == ["nvr-1", "cam-3"]
    assert found[0]["ticket"] == {"id": 1, "state": "acknowledged", "assignee": "lan", "severity": "critical"}
    assert [b["device_id"] for b in found[0]["behind"]] == ["cam-1", "cam-2"]
    assert found[1]["why"] == "stream: 3 fps, below 10" and found[1]["address"] == "3 Kim Mã"
    only = json.loads(fleetmon(fleet, "status", "--json", "--area", "Hà Nội"))
    assert [b["device_id"] for b in only] == ["cam-3"]
    text = fleetmon(fleet, "status", "--area", "Thanh Hóa / Thọ Xuân")
    assert "nvr-1" in text and "cam-3" not in text and "Hà Nội" not in text
