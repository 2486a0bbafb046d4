"""Users (administrators only) and the audit log."""

from __future__ import annotations

from starlette.responses import Response

from fleetmon.console import audit, users
from fleetmon.console.i18n import LANGUAGES
from fleetmon.console.users import Role, UserError
from fleetmon.console.web import Ctx, Refused, page


@page(Role.ADMINISTRATOR)
def listing(ctx: Ctx) -> Response:
    with ctx.console.engine.connect() as conn:
        found = users.all_users(conn)
    return ctx.render("users.html", users=found, roles=[r.value for r in Role], languages=LANGUAGES)


@page(Role.ADMINISTRATOR)
def change(ctx: Ctx) -> Response:
    """POST /users/add, /users/{name}/passwd, /users/{name}/disable, /users/{name}/enable."""
    action = ctx.request.path_params.get("action", "add")
    name = ctx.request.path_params.get("name") or ctx.field("name")
    password = ctx.form.get("password") if ctx.form is not None else None
    password = password if isinstance(password, str) else ""
    with ctx.console.engine.begin() as conn:
        try:
            if action == "add":
                role = ctx.field("role")
                if role not in {r.value for r in Role}:
                    raise UserError("choose a role")
                user = users.add(conn, name, password, Role(role), ctx.field("area"), ctx.field("language"))
                detail = f"role {user.role.value}" + (f", area {user.area}" if user.area else "")
            elif action == "passwd":
                user = users.set_password(conn, name, password)
                detail = "password set"
            elif action in ("disable", "enable"):
                if name == ctx.me.name and action == "disable":
                    raise UserError("you cannot disable yourself")
                user = users.set_active(conn, name, action == "enable")
                detail = action + "d"
            else:
                raise Refused(404, ctx._("No such action."))
        except UserError as exc:
            raise Refused(400, str(exc)) from None
        ctx.audit(conn, f"user.{action}", user.name, detail)
    return ctx.redirect("/users", ctx._("Saved."))


@page(Role.ADMINISTRATOR)
def audit_log(ctx: Ctx) -> Response:
    with ctx.console.engine.connect() as conn:
        entries = audit.recent(conn, 500, ctx.arg("actor"))
    return ctx.render("audit.html", entries=entries, actor=ctx.arg("actor"))
