"""No secret of the config (device passwords, SNMP community, SMTP password, session key) reaches any page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.console.conftest import SESSION_SECRET, Client, World

# Pages and the browser behave the same on either store: SQLite is enough here.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

SECRETS = ("cam-password-XYZ", "snmp-community-XYZ", "smtp-password-XYZ", SESSION_SECRET, "argon2")


def test_no_secret_appears_in_any_page(signed_in: Callable[[str], Client], world: World) -> None:
    client = signed_in("admin")
    seen: set[str] = set()
    queue = ["/status", "/export/devices.csv", "/api/status", "/api/tickets", "/api/devices/xl-cam-1", "/status?lang=en"]
    while queue and len(seen) < 80:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url)
        assert answer.status_code == 200, url
        for secret in SECRETS:
            assert secret not in answer.text, (secret, url)
            assert secret not in str(answer.headers), (secret, url)
        queue += [link.replace("&amp;", "&") for link in re.findall(r'href="(/[^"]*)"', answer.text)
                  if not link.startswith(("/static", "/export"))]
    assert {"/tickets", "/windows", "/users", "/inventory", "/audit", "/devices/xl-cam-1"} <= seen
