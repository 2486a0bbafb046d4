"""The tickets board and one ticket: acknowledge, assign, start, resolve, close with the repair form.

Every action goes through `fleetmon.alerts.tickets`, so the console obeys the CLI's rules (close
refused while the fault is seen, ...); the audit log names who did it.
"""

from __future__ import annotations

from starlette.responses import Response

from fleetmon.alerts import outbox, tickets
from fleetmon.alerts.tickets import Repair, Ticket, TicketError
from fleetmon.config import SEVERITIES
from fleetmon.console.users import Role
from fleetmon.console.web import Ctx, Refused, page
from fleetmon.inventory.model import Funding, split_area_path

WORKERS = (Role.ADMINISTRATOR, Role.TECHNICIAN)
BOARD_STATES = (*tickets.ACTIVE, tickets.RESOLVED)


def board_tickets(ctx: Ctx, area: str, state: str, severity: str, limit: int = 500) -> list[Ticket]:
    """Tickets on the board, within the user's scope: the pages, the API and the export all read here."""
    states = (state,) if state in tickets.STATES else BOARD_STATES
    with ctx.console.engine.connect() as conn:
        found = tickets.find(conn, states=states, severity=severity if severity in SEVERITIES else "", limit=5000)
    found = ctx.scope.tickets(found)
    if area:
        prefix = split_area_path(area)
        found = [t for t in found if split_area_path(t.area)[: len(prefix)] == prefix]
    return found[:limit]


def visible_ticket(ctx: Ctx, ticket_id: int) -> Ticket:
    with ctx.console.engine.connect() as conn:
        try:
            ticket = tickets.get(conn, ticket_id)
        except TicketError:
            ticket = None
    if ticket is None or not ctx.scope.tickets([ticket]):
        raise Refused(404, ctx._("No such ticket."))
    return ticket


@page()
def board(ctx: Ctx) -> Response:
    area, state, severity = ctx.arg("area"), ctx.arg("state"), ctx.arg("severity")
    found = board_tickets(ctx, area, state, severity)
    named = {d.area for d in ctx.devices().values()}  # a few hundred areas: each split once, not once per device
    areas = sorted({" / ".join(path[:2]) for path in map(split_area_path, named) if path})
    return ctx.render("tickets.html", tickets=found, area=area, state=state, severity=severity, areas=areas,
                      states=tickets.STATES, severities=SEVERITIES)


@page()
def show(ctx: Ctx) -> Response:
    ticket = visible_ticket(ctx, int(ctx.request.path_params["ticket_id"]))
    with ctx.console.engine.connect() as conn:
        history = tickets.events(conn, ticket.id)
    return ctx.render("ticket.html", t=ticket, history=history, fundings=[f.value for f in Funding],
                      active=ticket.state in tickets.ACTIVE, can_work=ctx.me.can_work_tickets)


def _number(ctx: Ctx, name: str, kind: type[int] | type[float]) -> int | float | None:
    text = ctx.field(name).replace(".", "").replace(",", "") if kind is int else ctx.field(name).replace(",", ".")
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise Refused(400, ctx._("%(field)s must be a number.", field=name)) from None
    if value < 0:
        raise Refused(400, ctx._("%(field)s cannot be negative.", field=name))
    return value


@page(*WORKERS)
def act(ctx: Ctx) -> Response:
    """POST /tickets/{id}/{action}: one lifecycle step, refused with the engine's own words when it cannot be done."""
    ticket = visible_ticket(ctx, int(ctx.request.path_params["ticket_id"]))
    action = ctx.request.path_params["action"]
    try:
        changed = _apply(ctx, ticket, action)
    except TicketError as exc:
        return ctx.redirect(f"/tickets/{ticket.id}", ctx._("Refused: %(why)s", why=str(exc)))
    if action == "close" and changed.state != tickets.CLOSED:
        message = ctx._("Repair recorded; the ticket closes once the unit has stayed healthy long enough.")
    else:
        message = ctx._("Done: ticket #%(id)s is now %(state)s.", id=ticket.id, state=ctx._(_state_word(changed.state)))
    return ctx.redirect(f"/tickets/{ticket.id}", message)


def _apply(ctx: Ctx, ticket: Ticket, action: str) -> Ticket:
    """The form's fields as an action (`apply_action`)."""
    repair = None
    if action == "close":
        funding = ctx.field("funding")
        cost = _number(ctx, "cost", int)
        repair = Repair(cause=ctx.field("cause"), action=ctx.field("action"), parts=ctx.field("parts"),
                        cost_vnd=int(cost) if cost is not None else None, hours=_number(ctx, "hours", float),
                        funding=Funding(funding) if funding in {f.value for f in Funding} else None, by=ctx.me.name)
    return apply_action(ctx, ticket, action, assignee=ctx.field("assignee"), note=ctx.field("note"), repair=repair)


def apply_action(ctx: Ctx, ticket: Ticket, action: str, *, assignee: str = "", note: str = "",
                 repair: Repair | None = None, via: str = "") -> Ticket:
    """One ticket action through `fleetmon.alerts` (so the CLI's rules hold), audited; the form and the JSON API both call it."""
    me, now, config = ctx.me.name, ctx.console.clock(), ctx.console.config
    detail = ""
    with ctx.console.engine.begin() as conn:
        if action == "ack":
            changed = tickets.acknowledge(conn, ticket.id, me, now)
        elif action == "assign":
            detail = assignee or me
            changed = tickets.assign(conn, ticket.id, detail, me, now)
        elif action == "start":
            changed = tickets.start(conn, ticket.id, me, now)
        elif action == "resolve":
            detail = note
            changed = tickets.resolve(conn, ticket.id, me, now, detail)
        elif action == "close" and repair is not None:
            changed = tickets.close(conn, ticket.id, repair, me, now, config)
            if changed.state == tickets.CLOSED:
                outbox.enqueue(conn, config, [outbox.Notice(changed, "closed")], now)
            funding = repair.funding.value if repair.funding else "-"
            detail = f"{repair.cause}: {repair.action}; cost {repair.cost_vnd}; funding {funding}"
        else:
            raise Refused(404, ctx._("No such action."))
        change = f"{ticket.state} -> {changed.state}" + (f"; {detail}" if detail else "") + via
        ctx.audit(conn, f"ticket.{action}", f"#{ticket.id} {ticket.title}", change)
    return changed


def _state_word(state: str) -> str:
    from fleetmon.console.i18n import WORDS

    return WORDS.get(state, state)
