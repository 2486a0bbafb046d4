"""fleetmon.yaml: the example works as written, mistakes name their key, secrets never print."""

from __future__ import annotations

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
