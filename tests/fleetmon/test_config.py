"""fleetmon.yaml: the example works as written, mistakes name their key, secrets never print."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetmon.cli import main
from fleetmon.config import ConfigError, load_config, parse_config


def test_init_writes_an_example_that_check_config_accepts_once_secrets_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fleetmon.yaml"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(path)]).exit_code == 0

    missing = runner.invoke(main, ["--config", str(path), "check-config"])
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        "credentials.hikvision.password: environment variable FLEETMON_HIKVISION_PASSWORD is not set",
        "credentials.hikvision.snmp.community: cannot read secret file /etc/fleetmon/hikvision-community: No such file or directory",
        "credentials.dahua.password: environment variable FLEETMON_DAHUA_PASSWORD is not set",
        "credentials.dahua.snmp.auth_key: environment variable FLEETMON_SNMP_AUTH_KEY is not set",
        "credentials.dahua.snmp.priv_key: environment variable FLEETMON_SNMP_PRIV_KEY is not set",
    ]

    community = tmp_path / "community"
    community.write_text("s3cret-community\n")
    path.write_text(path.read_text().replace("/etc/fleetmon/hikvision-community", str(community)))
    for name, value in {
        "FLEETMON_HIKVISION_PASSWORD": "hik-pass-123",
        "FLEETMON_DAHUA_PASSWORD": "dahua-pass-456",
        "FLEETMON_SNMP_AUTH_KEY": "auth-key-789",
        "FLEETMON_SNMP_PRIV_KEY": "priv-key-000",
    }.items():
        monkeypatch.setenv(name, value)
    ok = runner.invoke(main, ["--config", str(path), "check-config"])
    assert ok.exit_code == 0, ok.output
    assert "config ok" in ok.output

    config = load_config(path)
    assert config.data_dir == tmp_path / "fleetmon-data"
    assert config.probes.onvif.interval == 300
    credentials = config.profile("dahua").resolve()  # type: ignore[union-attr]
    assert credentials.password.get_secret_value() == "dahua-pass-456"  # type: ignore[union-attr]
    shown = repr(config) + str(credentials) + repr(config.profile("hikvision").resolve())  # type: ignore[union-attr]
    for secret in ("hik-pass-123", "dahua-pass-456", "auth-key-789", "priv-key-000", "s3cret-community"):
        assert secret not in shown


def test_each_mistake_names_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "dat_dir": "x",
                "probes": {"snmp": {"interval": "5 minutes", "timeout": 2}},
                "metrics": {"port": 70000},
                "credentials": {"p": {"password": {"env": "A", "file": "/b"}}},
                "default_credentials": "nope",
            },
            "f.yaml",
        )
    text = str(caught.value)
    assert "f.yaml: dat_dir: unknown key" in text
    assert "f.yaml: probes.snmp.interval: Value error, '5 minutes' is not a duration" in text
    assert "f.yaml: metrics.port: Input should be less than or equal to 65535" in text
    assert "f.yaml: credentials.p.password: Value error, give exactly one of env, file or value" in text


def test_no_config_file_means_working_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLEETMON_CONFIG", raising=False)
    config = load_config(None)
    assert config.database == "sqlite:///fleetmon-data/fleetmon.db"
    assert [lvl.key for lvl in config.areas.levels] == ["province", "district", "commune"]
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")


DB_SECRET = "Db-Pa55-9f3e"


def check_config(tmp_path: Path, text: str) -> tuple[int, str]:
    """`fleetmon check-config` on a config holding `text`: its exit code and everything it printed."""
    path = tmp_path / "fleetmon.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "check-config"])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.mark.parametrize("url", [
    f"postgresql://fleetmon:{DB_SECRET}@db.local:5432/fleetmon",
    f"postgresql://fleetmon@db.local:5432/fleetmon?password={DB_SECRET}&sslmode=require",
    f"host=db.local port=5432 user=fleetmon password={DB_SECRET} dbname=fleetmon",
    f"host=db.local user=fleetmon password='{DB_SECRET}' dbname=fleetmon",
], ids=["url", "query-string", "dsn", "dsn-quoted"])
def test_check_config_masks_the_database_password(tmp_path: Path, url: str) -> None:
    code, output = check_config(tmp_path, f"database_url: \"{url}\"\n")
    assert code == 0, output
    assert DB_SECRET not in output
    assert "database postgresql://fleetmon" in output and "***" in output
    assert DB_SECRET in load_config(tmp_path / "fleetmon.yaml").database  # what the store is opened with


def test_a_database_url_with_a_bad_port_or_dialect_is_refused_at_load(tmp_path: Path) -> None:
    code, output = check_config(tmp_path, f"database_url: postgresql://fleetmon:{DB_SECRET}@db.local:notaport/fleetmon\n")
    assert code == 1 and "database_url: not a database URL: the port is not a number" in output and DB_SECRET not in output
    code, output = check_config(tmp_path, f"database_url: mysqll://fleetmon:{DB_SECRET}@db.local/fleetmon\n")
    assert code == 1 and "unknown database dialect 'mysqll'" in output and DB_SECRET not in output


def test_a_yaml_syntax_error_does_not_echo_the_line(tmp_path: Path) -> None:
    code, output = check_config(tmp_path, f"credentials:\n  p:\n    password: \"{DB_SECRET}\n  q: [\n")
    assert code == 1 and "not valid YAML: line " in output
    assert DB_SECRET not in output


def test_the_database_url_can_come_from_the_environment_or_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://fleetmon:{DB_SECRET}@db.local/fleetmon"
    monkeypatch.setenv("FLEETMON_DATABASE_URL", url)
    code, output = check_config(tmp_path, "database_url: {env: FLEETMON_DATABASE_URL}\n")
    assert code == 0 and "database postgresql://fleetmon:***@db.local/fleetmon" in output and DB_SECRET not in output
    assert load_config(tmp_path / "fleetmon.yaml").database == url
    secret = tmp_path / "database-url"
    secret.write_text(url.replace("db.local", "db.local:notaport") + "\n")
    secret.chmod(0o600)
    code, output = check_config(tmp_path, f"database_url: {{file: {secret}}}\n")
    assert code == 1 and f"database_url (<secret from file {secret}>): not a database URL: the port is not a number" in output
    assert DB_SECRET not in output
    monkeypatch.delenv("FLEETMON_DATABASE_URL")
    code, output = check_config(tmp_path, "database_url: {env: FLEETMON_DATABASE_URL}\n")
    assert code == 1 and "database_url: environment variable FLEETMON_DATABASE_URL is not set" in output


def test_a_secret_file_open_to_others_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "community"
    secret.write_text("c0mmunity\n")
    secret.chmod(0o644)
    text = f"credentials:\n  p:\n    snmp: {{version: '2c', community: {{file: {secret}}}}}\n"
    code, output = check_config(tmp_path, text)
    assert code == 0, output
    assert f"warning: credentials.p.snmp.community: secret file {secret} is open to other users (mode 0644): chmod 600 {secret}" in output
    profile = load_config(tmp_path / "fleetmon.yaml").profile("p")
    assert profile is not None
    logging.getLogger().addHandler(caplog.handler)  # the CLI's logging set-up replaced it
    profile.resolve()
    assert any("chmod 600" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    secret.chmod(0o600)
    code, output = check_config(tmp_path, text)
    assert code == 0 and "warning" not in output


def test_a_numeric_password_is_refused_saying_to_quote_it(tmp_path: Path) -> None:
    code, output = check_config(tmp_path, "credentials:\n  p:\n    password: 0123456\n")
    assert code == 1
    assert "credentials.p.password: Value error, a secret written as a bare number or yes/no: put it in quotes" in output
    assert "valid dictionary" not in output
    code, output = check_config(tmp_path, "credentials:\n  p:\n    password: '0123456'\n")
    assert code == 0, output


def test_check_config_reads_every_notification_and_console_secret(tmp_path: Path) -> None:
    """A bot token or session key that cannot be read is found before `fleetmon run` needs it."""
    code, out = check_config(tmp_path, """
notifications:
  channels:
    phones: {type: telegram, token: {file: /no/such/bot-token}, chat_id: "-100123"}
  teams:
    field: {channels: [phones]}
web:
  session_secret: {env: FLEETMON_TEST_NO_SUCH_SESSION_KEY}
""")
    assert code == 1
    assert "notifications.channels.phones.token" in out and "web.session_secret" in out
