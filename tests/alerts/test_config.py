"""The tickets: and notifications: config: defaults cover every fault kind, the documented example is valid."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import yaml

from fleetmon.alerts.faults import FaultKind
from fleetmon.alerts.messages import CHECKS, KIND_LABELS
from fleetmon.config import DEFAULT_TICKET_RULES, FaultKindName, SecretRef, parse_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "TICKETS.md"


def test_every_fault_kind_has_a_default_rule_a_label_and_advice_in_both_languages() -> None:
    kinds = {k.value for k in FaultKind}
    assert set(DEFAULT_TICKET_RULES) == kinds == set(get_args(FaultKindName))
    for language in ("vi", "en"):
        assert set(KIND_LABELS[language]) == set(CHECKS[language]) == kinds | {"preventive"}


def test_the_documented_example_config_is_valid_and_keeps_its_secrets_out_of_sight() -> None:
    text = DOCS.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml")[1:]]
    for block in blocks:
        parse_config(yaml.safe_load(block), "docs/TICKETS.md")  # every example is valid
    config = parse_config(yaml.safe_load(blocks[-1]), "docs/TICKETS.md")  # the full one, under Configuration
    assert config.tickets.rule("device_down").after == 300 and config.tickets.rule("footage_short").enabled is False
    secrets = config.notifications.secrets()
    assert set(secrets) == {"channels.doi-ky-thuat.password", "channels.tx-telegram.token", "channels.helpdesk.token"}
    assert all(isinstance(s, SecretRef) and "<secret from" in repr(s) for s in secrets.values())


def test_an_unknown_key_or_channel_is_an_error_naming_it() -> None:
    from fleetmon.config import ConfigError

    with pytest.raises(ConfigError, match=r"tickets.rules.device_down.afterr: unknown key"):
        parse_config({"tickets": {"rules": {"device_down": {"afterr": "5m"}}}})
    with pytest.raises(ConfigError, match=r"no channel named 'mail'"):
        parse_config({"notifications": {"teams": {"field": {"channels": ["mail"]}}}})
