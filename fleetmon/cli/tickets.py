"""`fleetmon tickets ...` and `fleetmon windows ...`: work maintenance tickets and plan maintenance windows."""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from fleetmon.alerts import outbox, tickets, windows
from fleetmon.alerts.tickets import ACTIVE, STATES, Repair, Ticket, TicketError
from fleetmon.cli.context import AppContext, pass_app
from fleetmon.config import SEVERITIES
from fleetmon.inventory.model import Funding


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "-"


def _vnd(amount: int | None) -> str:
    return "-" if amount is None else f"{amount:,}".replace(",", ".") + " ₫"


def _as_json(ticket: Ticket) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in Ticket.__dataclass_fields__:
        value = getattr(ticket, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Repair):
            value = {"cause": value.cause, "action": value.action, "parts": value.parts, "cost_vnd": value.cost_vnd,
                     "hours": value.hours, "funding": value.funding.value if value.funding else None, "by": value.by}
        elif isinstance(value, tuple):
            value = list(value)
        found[name] = value
    return found


@click.group("tickets")
def tickets_group() -> None:
    """Maintenance tickets opened from what the monitor sees (see docs/TICKETS.md)."""


@tickets_group.command("list")
@click.option("--area", default="", help="Only this area and those under it.")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only these states (default: all but closed).")
@click.option("--severity", type=click.Choice(SEVERITIES), default=None)
@click.option("--device", default="", help="Only tickets of this device.")
@click.option("--json", "as_json", is_flag=True, help="JSON, one object per ticket.")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@pass_app
def list_tickets(app: AppContext, area: str, states: tuple[str, ...], severity: str | None, device: str, as_json: bool, limit: int) -> None:
    """Tickets, newest first."""
    with app.engine.connect() as conn:
        found = tickets.find(conn, states=states or (*ACTIVE, tickets.RESOLVED), area=area, severity=severity or "", device=device,
                             limit=limit)
    if as_json:
        click.echo(json.dumps([_as_json(t) for t in found], ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("no tickets")
        return
    click.echo(f"{'ID':>6}  {'STATE':<12} {'SEVERITY':<9} {'SINCE':<21} {'ASSIGNEE':<16} TITLE")
    for t in found:
        click.echo(f"{t.id:>6}  {t.state:<12} {t.severity:<9} {_when(t.fault_since):<21} {t.assignee[:16]:<16} {t.title}")


@tickets_group.command("show")
@click.argument("ticket_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, ticket_id: int, as_json: bool) -> None:
    """One ticket with its history and repair record."""
    with app.engine.connect() as conn:
        ticket = _get(lambda: tickets.get(conn, ticket_id))
        history = tickets.events(conn, ticket_id)
    if as_json:
        found = _as_json(ticket)
        found["events"] = [{"at": at.isoformat(), "action": action, "actor": actor, "detail": detail}
                           for at, action, actor, detail in history]
        click.echo(json.dumps(found, ensure_ascii=False, indent=1))
        return
    t = ticket
    seen = "still seen by monitoring" if t.fault_seen else "gone since " + _when(t.fault_cleared_at)
    lines = [f"#{t.id} {t.title}", f"  state {t.state}, severity {t.severity}, team {t.team}, assignee {t.assignee or '-'}",
             f"  where: {t.area or '-'}{' / ' + t.site if t.site else ''}", f"  kind: {t.kind}, subject {t.subject}",
             f"  fault since {_when(t.fault_since)}; {seen}",
             f"  opened {_when(t.opened_at)}, acknowledged {_when(t.acknowledged_at)}, resolved {_when(t.resolved_at)}, "
             f"closed {_when(t.closed_at)}" + (f", reopened {t.reopened}x" if t.reopened else ""),
             f"  monitoring saw: {t.detail or '-'}"]
    if t.escalated_at or t.repair_overdue_at:
        lines.append(f"  SLA: escalated {_when(t.escalated_at)}, repair overdue {_when(t.repair_overdue_at)}")
    if t.affected:
        lines.append(f"  units behind it ({len(t.affected)}): {', '.join(t.affected)}")
    if t.repair:
        r = t.repair
        lines.append(f"  repair: {r.cause} -> {r.action}; parts {r.parts or '-'}; cost {_vnd(r.cost_vnd)}; "
                     f"{'-' if r.hours is None else f'{r.hours:g} h'}; paid by {r.funding.value if r.funding else '-'}; by {r.by}")
        if t.state != tickets.CLOSED:
            lines.append("  (closes by itself once the unit has stayed healthy long enough)")
    lines.append("  history:")
    lines += [f"    {_when(at)}  {action:<16} {actor:<12} {detail}" for at, action, actor, detail in history]
    click.echo("\n".join(lines))


def _get(action: Callable[[], Ticket]) -> Ticket:
    try:
        return action()
    except TicketError as exc:
        raise click.ClickException(str(exc)) from None


_BY = click.option("--by", "actor", default=_me, show_default="your login name", help="Who does it (recorded in the history).")


@tickets_group.command("ack")
@click.argument("ticket_id", type=int)
@_BY
@pass_app
def ack(app: AppContext, ticket_id: int, actor: str) -> None:
    """Acknowledge: someone has the ticket (stops its escalation)."""
    with app.engine.begin() as conn:
        t = _get(lambda: tickets.acknowledge(conn, ticket_id, actor, _now()))
    click.echo(f"#{t.id} {t.state}, assignee {t.assignee}")


@tickets_group.command("assign")
@click.argument("ticket_id", type=int)
@click.argument("assignee")
@_BY
@pass_app
def assign(app: AppContext, ticket_id: int, assignee: str, actor: str) -> None:
    """Give the ticket to a technician."""
    with app.engine.begin() as conn:
        t = _get(lambda: tickets.assign(conn, ticket_id, assignee, actor, _now()))
    click.echo(f"#{t.id} assigned to {t.assignee}")


@tickets_group.command("start")
@click.argument("ticket_id", type=int)
@_BY
@pass_app
def start(app: AppContext, ticket_id: int, actor: str) -> None:
    """Work has started on site."""
    with app.engine.begin() as conn:
        t = _get(lambda: tickets.start(conn, ticket_id, actor, _now()))
    click.echo(f"#{t.id} {t.state}")


@tickets_group.command("resolve")
@click.argument("ticket_id", type=int)
@click.option("--note", default="")
@_BY
@pass_app
def resolve(app: AppContext, ticket_id: int, note: str, actor: str) -> None:
    """Mark repaired (refused while monitoring still sees the fault)."""
    with app.engine.begin() as conn:
        t = _get(lambda: tickets.resolve(conn, ticket_id, actor, _now(), note))
    click.echo(f"#{t.id} {t.state}")


@tickets_group.command("close")
@click.argument("ticket_id", type=int)
@click.option("--cause", required=True, help="What broke, e.g. 'PoE adapter burnt'.")
@click.option("--action", "action_taken", required=True, help="What was done, e.g. 'replaced the adapter'.")
@click.option("--parts", default="", help="Parts replaced.")
@click.option("--cost", "cost_vnd", type=click.IntRange(0, 10**13), default=None, help="Cost in VND.")
@click.option("--hours", type=click.FloatRange(0, 10_000), default=None, help="Hours of work.")
@click.option("--funding", type=click.Choice([f.value for f in Funding]), default=None, help="Who pays.")
@_BY
@pass_app
def close(app: AppContext, ticket_id: int, cause: str, action_taken: str, parts: str, cost_vnd: int | None, hours: float | None,
          funding: str | None, actor: str) -> None:
    """Close with the repair record; refused while monitoring still sees the fault."""
    repair = Repair(cause=cause, action=action_taken, parts=parts, cost_vnd=cost_vnd, hours=hours,
                    funding=Funding(funding) if funding else None, by=actor)
    now = _now()
    with app.engine.begin() as conn:
        t = _get(lambda: tickets.close(conn, ticket_id, repair, actor, now, app.config))
        if t.state == tickets.CLOSED:
            outbox.enqueue(conn, app.config, [outbox.Notice(t, "closed")], now)
    if t.state == tickets.CLOSED:
        click.echo(f"#{t.id} closed; repair recorded ({_vnd(cost_vnd)})")
    else:
        wait = app.config.tickets.close_after_healthy
        click.echo(f"#{t.id}: repair recorded; it closes once the unit has been healthy for {wait / 60:g} min")


# -- maintenance windows ---------------------------------------------------------------------------

_EVERY = {"daily": 86400, "weekly": 7 * 86400}


def _moment(value: str) -> datetime:
    """ISO date and time; without an offset it is this machine's local time."""
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date and time like 2026-12-01T08:00 or '2026-12-01 08:00+07:00'") from None
    return (found if found.tzinfo else found.astimezone()).astimezone(UTC)


def _period(value: str) -> int:
    if value in _EVERY:
        return _EVERY[value]
    match = re.fullmatch(r"(\d+)\s*([hd])", value.strip())
    if not match:
        raise click.BadParameter("daily, weekly, or hours/days like 12h, 14d")
    return int(match.group(1)) * (3600 if match.group(2) == "h" else 86400)


@click.group("windows")
def windows_group() -> None:
    """Maintenance windows: planned work during which faults open no tickets."""


@windows_group.command("add")
@click.option("--area", default=None, help="Area path; the window covers the areas under it too.")
@click.option("--site", default=None, help="Site, as 'AREA PATH|SITE' or just the site name.")
@click.option("--device", default=None, help="One device id.")
@click.option("--start", "starts", required=True, help="Start, e.g. 2026-12-01T08:00 (local time unless an offset is given).")
@click.option("--end", "ends", default=None, help="End of the (first) occurrence.")
@click.option("--duration", default=None, help="Instead of --end: e.g. 2h, 1d.")
@click.option("--every", default=None, help="Recurring: daily, weekly, or e.g. 14d.")
@click.option("--until", "until", default=None, help="Recurring: no occurrence after this.")
@click.option("--reason", default="")
@_BY
@pass_app
def add_window(app: AppContext, area: str | None, site: str | None, device: str | None, starts: str, ends: str | None, duration: str | None,
               every: str | None, until: str | None, reason: str, actor: str) -> None:
    """Add a one-off or recurring window over an area, a site or a device."""
    scopes = [(s, t) for s, t in (("area", area), ("site", site), ("device", device)) if t]
    if len(scopes) != 1:
        raise click.UsageError("give exactly one of --area, --site or --device")
    if (ends is None) == (duration is None):
        raise click.UsageError("give --end or --duration")
    start_at = _moment(starts)
    end_at = _moment(ends) if ends else start_at + timedelta(seconds=_period(duration or ""))
    scope, target = scopes[0]
    with app.engine.begin() as conn:
        try:
            window_id = windows.add(conn, scope, target, start_at, end_at, repeat_seconds=_period(every) if every else None,
                                    until=_moment(until) if until else None, reason=reason, created_by=actor)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        [window] = [w for w in windows.load(conn) if w.id == window_id]
    click.echo(f"added {window.describe()}")


@windows_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also windows that have ended.")
@pass_app
def list_windows(app: AppContext, show_all: bool) -> None:
    """Windows now and ahead."""
    now = _now()
    with app.engine.connect() as conn:
        found = windows.load(conn)
    shown = [w for w in found if show_all or (w.repeat_seconds and (w.until is None or w.until > now)) or w.ends_at > now]
    for w in shown:
        click.echo(("ACTIVE  " if w.active(now) else "        ") + w.describe())
    if not shown:
        click.echo("no maintenance windows")


@windows_group.command("remove")
@click.argument("window_id", type=int)
@pass_app
def remove_window(app: AppContext, window_id: int) -> None:
    """Remove a window (faults it held back open tickets at the next check)."""
    with app.engine.begin() as conn:
        if not windows.remove(conn, window_id):
            raise click.ClickException(f"no window #{window_id}")
    click.echo(f"removed window #{window_id}")
