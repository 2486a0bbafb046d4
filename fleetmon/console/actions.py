"""The JSON API that changes things: ticket actions and maintenance windows, for scripts and other tools.

Authentication is the console's own: the signed session cookie from `/login`, and on every
change the session's CSRF token in an `X-CSRF-Token` header (`GET /api/csrf` hands it to a
signed-in client). No second kind of credential exists to leak or rotate, and a cross-site
request cannot read the token nor set the header. Roles are the pages' roles, area access is
the one `Scope`, every change goes through `fleetmon.alerts` (so the CLI's rules hold: closing
while the fault is seen is a 409 with the reason) and is written to the audit log in the
change's transaction.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fleetmon.alerts import windows
from fleetmon.alerts.tickets import Repair, Ticket, TicketError
from fleetmon.alerts.windows import Window
from fleetmon.console.pages.api import _ticket as ticket_json
from fleetmon.console.pages.tickets import WORKERS, apply_action, visible_ticket
from fleetmon.console.users import Role
from fleetmon.console.web import Console, Ctx, Refused, _language, session_user
from fleetmon.inventory.model import Funding

CSRF_HEADER = "x-csrf-token"
BODY_LIMIT = 64 * 1024
PLANNERS = (Role.ADMINISTRATOR, Role.TECHNICIAN)  # as the windows page
Handler = Callable[[Ctx, dict[str, Any]], Response]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def json_api(*roles: Role) -> Callable[[Handler], Callable[[Request], Any]]:
    """Signed in, one of `roles` (any if none), the CSRF header on every change, a JSON object as the body."""

    def wrap(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            body: dict[str, Any] = {}
            if request.method != "GET":
                expected, given = request.session.get("csrf"), request.headers.get(CSRF_HEADER, "")
                if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
                    return _error(403, f"missing or wrong {CSRF_HEADER} header (GET /api/csrf gives it)")
                raw = await request.body()
                if len(raw) > BODY_LIMIT:
                    return _error(413, "body too large")
                if raw.strip():
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        return _error(400, "the body is not JSON")
                    if not isinstance(parsed, dict):
                        return _error(400, "the body must be a JSON object")
                    body = parsed

            def run() -> Response:
                user = session_user(request, console.engine)
                if user is None:
                    return _error(401, "sign in first")
                if roles and user.role not in roles:
                    return _error(403, "your role may not do this")
                ctx = Ctx(request, console, user, _language(request, user, console.config))
                try:
                    return handler(ctx, body)
                except Refused as refused:
                    return _error(refused.status, str(refused))

            return await run_in_threadpool(run)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


@json_api()
def csrf(ctx: Ctx, body: dict[str, Any]) -> Response:
    """GET /api/csrf: the token the changing calls send in `X-CSRF-Token`."""
    return JSONResponse({"csrf": ctx.csrf(), "user": ctx.me.name, "role": ctx.me.role.value})


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise Refused(400, f"{name} must be text")
    return value.strip()


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(400, f"{name} must be a number")
    return float(value)


def _repair(body: dict[str, Any], me: str) -> Repair:
    funding = _text(body, "funding")
    if funding and funding not in {f.value for f in Funding}:
        raise Refused(400, "funding must be one of " + ", ".join(f.value for f in Funding))
    cost = _number(body, "cost_vnd")
    if cost is not None and cost != int(cost):
        raise Refused(400, "cost_vnd must be a whole number of đồng")
    return Repair(cause=_text(body, "cause"), action=_text(body, "action"), parts=_text(body, "parts"),
                  cost_vnd=None if cost is None else int(cost), hours=_number(body, "hours"),
                  funding=Funding(funding) if funding else None, by=me)


def _act(ctx: Ctx, ticket: Ticket, action: str, body: dict[str, Any]) -> Ticket:
    """The JSON body as an action (`apply_action`, as the form does)."""
    repair = _repair(body, ctx.me.name) if action == "close" else None
    return apply_action(ctx, ticket, action, assignee=_text(body, "assignee"), note=_text(body, "note"), repair=repair,
                        via=" (api)")


@json_api(*WORKERS)
def ticket_action(ctx: Ctx, body: dict[str, Any]) -> Response:
    """POST /api/tickets/{id}/{ack|assign|start|resolve|close}: the ticket as it is afterwards, or 409 and why not."""
    ticket = visible_ticket(ctx, int(ctx.request.path_params["ticket_id"]))
    try:
        changed = _act(ctx, ticket, ctx.request.path_params["action"], body)
    except TicketError as exc:
        return _error(409, str(exc))
    return JSONResponse(ticket_json(changed))


def _window_json(w: Window) -> dict[str, Any]:
    return {"id": w.id, "scope": w.scope, "target": w.target, "starts_at": w.starts_at.isoformat(), "ends_at": w.ends_at.isoformat(),
            "repeat_seconds": w.repeat_seconds, "until": w.until.isoformat() if w.until else None, "reason": w.reason,
            "created_by": w.created_by}


def _moment(ctx: Ctx, body: dict[str, Any], name: str, required: bool = True) -> datetime | None:
    text = _text(body, name)
    if not text and not required:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(400, f"{name} must be an ISO 8601 time, e.g. 2026-12-01T08:00+07:00") from None
    return value if value.tzinfo else value.replace(tzinfo=ctx.tz)  # a time without offset is the console's time zone


@json_api()
def windows_api(ctx: Ctx, body: dict[str, Any]) -> Response:
    """GET /api/windows: the windows in the user's area (any role); POST: add one (201 with it; planners only)."""
    if ctx.request.method == "GET":
        with ctx.console.engine.connect() as conn:
            found = ctx.scope.windows(windows.load(conn), ctx.console.source.devices())
        return JSONResponse([_window_json(w) for w in found])
    if ctx.me.role not in PLANNERS:
        raise Refused(403, "your role may not do this")
    scope, target = _text(body, "scope"), _text(body, "target")
    starts, ends, until = _moment(ctx, body, "starts_at"), _moment(ctx, body, "ends_at"), _moment(ctx, body, "until", required=False)
    assert starts is not None and ends is not None
    repeat = _number(body, "repeat_seconds")
    if not target:
        raise Refused(400, "say what the window covers (target)")
    if not ctx.scope.windows([Window(0, scope, target, starts, ends)], ctx.console.source.devices()):
        raise Refused(404, "no such area, site or device in your scope")
    with ctx.console.engine.begin() as conn:
        try:
            window_id = windows.add(conn, scope, target, starts, ends, repeat_seconds=None if repeat is None else int(repeat), until=until,
                                    reason=_text(body, "reason"), created_by=ctx.me.name)
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        [window] = [w for w in windows.load(conn) if w.id == window_id]
        ctx.audit(conn, "window.add", f"#{window_id}", window.describe() + " (api)")
    return JSONResponse(_window_json(window), status_code=201)


@json_api(*PLANNERS)
def window_remove(ctx: Ctx, body: dict[str, Any]) -> Response:
    """DELETE /api/windows/{id}: 204, or 404 if there is none in the user's area."""
    window_id = int(ctx.request.path_params["window_id"])
    with ctx.console.engine.begin() as conn:
        found = [w for w in ctx.scope.windows(windows.load(conn), ctx.console.source.devices()) if w.id == window_id]
        if not found or not windows.remove(conn, window_id):
            raise Refused(404, "no such window")
        ctx.audit(conn, "window.remove", f"#{window_id}", found[0].describe() + " (api)")
    return Response(status_code=204)
