"""Alertmanager's webhook as a ticket source: alerts other systems raise (a UPS on battery, a
link monitor) become `external` faults, and tickets like any other.

Each firing alert is a fault of subject `am:<device or fingerprint>/<alertname>`; its resolved
notification clears it. fleetmon's own alerts pushed to Alertmanager (`FleetmonTicket`) are
ignored, so routing them back cannot loop. Faults are written under the engine's turn lock;
the engine's timer check opens, resolves and reopens their tickets with the `external` rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from fleetmon.alerts.engine import set_fault, take_turn
from fleetmon.alerts.faults import FaultKind
from fleetmon.alerts.outbox import ALERTNAME

log = logging.getLogger(__name__)


class PayloadError(ValueError):
    """Not an Alertmanager webhook payload."""


def _moment(value: Any, fallback: datetime) -> datetime:
    if not isinstance(value, str) or value.startswith("0001-"):  # Go's zero time: not set
        return fallback
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return found if found.tzinfo else fallback


def ingest(conn: Connection, payload: Any, now: datetime) -> int:
    """Apply a webhook payload (version 4); the number of alerts taken."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("alerts"), list):
        raise PayloadError("not an Alertmanager webhook payload (no alerts list)")
    take_turn(conn, "alertmanager-webhook", now)
    taken = 0
    for alert in payload["alerts"]:
        labels = alert.get("labels") if isinstance(alert, Mapping) else None
        if not isinstance(labels, Mapping) or labels.get("alertname") == ALERTNAME:
            continue
        name = str(labels.get("alertname") or "alert")
        device = str(labels.get("device") or "")
        key = device or str(alert.get("fingerprint") or "")
        if not key:
            continue
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), Mapping) else {}
        words = str(annotations.get("summary") or annotations.get("description") or "")
        firing = alert.get("status") == "firing"
        at = _moment(alert.get("startsAt" if firing else "endsAt"), now)
        detail = f"{name} — {words}" if words else name
        set_fault(conn, f"am:{key}/{name}"[:300], FaultKind.EXTERNAL, device[:64] or None, detail if firing else None, at)
        taken += 1
    return taken
