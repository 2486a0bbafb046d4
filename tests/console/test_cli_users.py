"""`fleetmon users` as an administrator types it: the first admin, then others; the audit log keeps each change."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from click.testing import CliRunner

from fleetmon.cli import main
from fleetmon.console import audit
from fleetmon.console.app import create_app
from fleetmon.console.service import make_console, session_secret
from fleetmon.store.engine import open_store
from tests.console.conftest import csrf_of, serving


def test_add_the_first_admin_then_sign_in_with_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleetmon.db'}"
    config_file = tmp_path / "fleetmon.yaml"
    config_file.write_text(yaml.safe_dump({"database_url": url, "data_dir": "data"}), encoding="utf-8")
    runner = CliRunner()

    def fleetmon(*args: str, password: str = "") -> tuple[int, str]:
        result = runner.invoke(main, ["--config", str(config_file), *args], input=f"{password}\n{password}\n" if password else None)
        return result.exit_code, result.output

    assert "add the first administrator" in fleetmon("users", "list")[1]
    code, out = fleetmon("users", "add", "hoa", "--role", "administrator", password="mật khẩu dài lắm")
    assert code == 0 and "added hoa (administrator)" in out
    assert fleetmon("users", "add", "short", "--role", "technician", password="short")[0] == 1
    code, out = fleetmon("users", "add", "police-tx", "--role", "area_viewer", password="another long one")
    assert code == 1 and "needs an area" in out
    code, out = fleetmon("users", "add", "police-tx", "--role", "area_viewer", "--area", "Thanh Hóa/Thọ Xuân", password="another long one")
    assert code == 0
    assert fleetmon("users", "disable", "police-tx")[0] == 0
    assert fleetmon("users", "passwd", "hoa", password="a new long password")[0] == 0
    listing = fleetmon("users", "list")[1]
    assert "police-tx" in listing and "disabled" in listing and "Thanh Hóa / Thọ Xuân" in listing

    from fleetmon.config import load_config

    config = load_config(config_file)
    engine = open_store(url)
    with engine.connect() as conn:
        trail = [(e.action, e.target) for e in reversed(audit.recent(conn))]
    assert trail == [("user.add", "hoa"), ("user.add", "police-tx"), ("user.disable", "police-tx"), ("user.passwd", "hoa")]
    secret = session_secret(config)
    assert secret == session_secret(config) and (config.data_dir / "console-secret").stat().st_mode & 0o077 == 0
    with serving(create_app(make_console(config, engine), secret)) as base, httpx.Client(base_url=base, follow_redirects=True) as client:
        page = client.get("/login")
        answer = client.post("/login", data={"name": "hoa", "password": "a new long password", "csrf": csrf_of(page.text)})
        assert answer.status_code == 200 and "hoa" in answer.text and "quản trị viên" in answer.text
