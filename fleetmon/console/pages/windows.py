"""Maintenance windows: list, add and remove (through `fleetmon.alerts.windows`), audited."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from fleetmon.alerts import windows
from fleetmon.console.users import Role
from fleetmon.console.web import Ctx, Refused, page

PLANNERS = (Role.ADMINISTRATOR, Role.TECHNICIAN)
REPEATS = {"": None, "daily": 86400, "weekly": 7 * 86400}


@page()
def listing(ctx: Ctx) -> Response:
    now = ctx.console.clock()
    with ctx.console.engine.connect() as conn:
        found = windows.load(conn)
    shown = [w for w in ctx.scope.windows(found, ctx.console.source.devices())
             if w.ends_at > now or (w.repeat_seconds and (w.until is None or w.until > now))]
    return ctx.render("windows.html", windows=shown, now=now, scopes=windows.SCOPES, can_plan=ctx.me.role in PLANNERS)


def _moment(ctx: Ctx, name: str) -> datetime:
    text = ctx.field(name)
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(400, ctx._("%(field)s is not a date and time.", field=name)) from None
    return (found if found.tzinfo else found.replace(tzinfo=ctx.tz)).astimezone(UTC)  # the form's times are the console's


@page(*PLANNERS)
def add(ctx: Ctx) -> Response:
    scope, target = ctx.field("scope"), ctx.field("target")
    starts, ends = _moment(ctx, "starts"), _moment(ctx, "ends")
    repeat = REPEATS.get(ctx.field("repeat"))
    if not target:
        raise Refused(400, ctx._("Say what the window covers."))
    with ctx.console.engine.begin() as conn:
        try:
            window_id = windows.add(conn, scope, target, starts, ends, repeat_seconds=repeat, reason=ctx.field("reason"),
                                    created_by=ctx.me.name)
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        [window] = [w for w in windows.load(conn) if w.id == window_id]
        ctx.audit(conn, "window.add", f"#{window_id}", window.describe())
    return ctx.redirect("/windows", ctx._("Window added."))


@page(*PLANNERS)
def remove(ctx: Ctx) -> Response:
    window_id = int(ctx.request.path_params["window_id"])
    with ctx.console.engine.begin() as conn:
        found = [w for w in windows.load(conn) if w.id == window_id]
        if not found or not windows.remove(conn, window_id):
            raise Refused(404, ctx._("No such window."))
        ctx.audit(conn, "window.remove", f"#{window_id}", found[0].describe())
    return ctx.redirect("/windows", ctx._("Window removed."))
