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
    blocks = [b for b in blocks if not b.lstrip().startswith("# alertmanager.yml")]  # Alertmanager's own config
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


def test_every_message_renders_in_both_languages_with_and_without_a_unit() -> None:
    from datetime import UTC, datetime

    from fleetmon.alerts.messages import HEADLINES, render, render_digest
    from fleetmon.alerts.tickets import Ticket
    from fleetmon.inventory.model import Device, DeviceKind

    at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    ticket = Ticket(id=7, subject="cam-1", kind="device_down", state="open", severity="high", team="field", device_id="cam-1",
                    area="Thanh Hóa / Thọ Xuân", site="Chợ", title="cam-1: offline", detail="reachability: timeout",
                    affected=("cam-2",), assignee="Ông Bình", fault_since=at, opened_at=at, sla_from=at, acknowledged_at=None,
                    started_at=None, resolved_at=None, closed_at=None, fault_cleared_at=None, reopened=0, escalated_at=None,
                    repair_overdue_at=None, close_requested_at=None, repair=None)
    unit = Device(id="cam-1", kind=DeviceKind.CAMERA, host="10.0.0.1", address="Thôn 3", latitude=19.9, longitude=105.4)
    for language in ("vi", "en"):
        for event in HEADLINES[language]:
            for device in (unit, None):
                message = render(ticket, event, device, language=language, link="https://x/t/")
                assert message.subject.startswith("[fleetmon]") and "https://x/t/7" in message.body
        assert "#7" in render_digest([(ticket, "opened")] * 3, language=language).body
    assert "Kính gửi Ông Bình" in render(ticket, "ask_owner", unit).body
