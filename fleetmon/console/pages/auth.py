"""Sign in, sign out, and the user's own settings (language, password)."""

from __future__ import annotations

import math
import secrets

from starlette.responses import Response

from fleetmon.console import users
from fleetmon.console.i18n import LANGUAGES
from fleetmon.console.web import Ctx, Refused, page


def _safe_next(target: str) -> str:
    """Only a path of this site (no scheme, no //host): a login link cannot send anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@page(anonymous=True)
def login(ctx: Ctx) -> Response:
    nxt = _safe_next(ctx.arg("next", "/") if ctx.form is None else ctx.field("next", "/"))
    if ctx.form is None:
        if ctx.user is not None:
            return ctx.redirect(nxt)
        return ctx.render("login.html", next=nxt, name="")
    name, password = ctx.field("name"), ctx.form.get("password")
    password = password if isinstance(password, str) else ""
    throttle = ctx.console.throttle
    wait = throttle.wait_seconds(name, ctx.address)
    if wait > 0:
        message = ctx._("Too many failed sign-ins for this account or from this address. Wait %(seconds)d seconds and try again.",
                        seconds=math.ceil(wait))
        return ctx.render("login.html", status=429, next=nxt, name=name, error=message)
    with ctx.console.engine.begin() as conn:
        user = users.authenticate(conn, name, password)
    if user is None:
        throttle.failed(name, ctx.address)
        return ctx.render("login.html", status=401, next=nxt, name=name, error=ctx._("Wrong user name or password."))
    throttle.succeeded(name)
    session = ctx.request.session
    lang = session.get("lang")
    session.clear()
    session.update(uid=user.id, epoch=user.session_epoch, csrf=secrets.token_urlsafe(32))
    if lang:
        session["lang"] = lang
    return ctx.redirect(nxt)


@page()
def logout(ctx: Ctx) -> Response:
    ctx.request.session.clear()
    return ctx.redirect("/login")


@page()
def settings(ctx: Ctx) -> Response:
    if ctx.form is None:
        return ctx.render("settings.html", languages=LANGUAGES)
    with ctx.console.engine.begin() as conn:
        if ctx.field("language") in LANGUAGES:
            users.set_language(conn, ctx.me.name, ctx.field("language"))
            ctx.request.session["lang"] = ctx.field("language")
            return ctx.redirect("/settings", ctx._("Saved."))
        current = ctx.form.get("current")
        if users.authenticate(conn, ctx.me.name, current if isinstance(current, str) else "") is None:
            raise Refused(403, ctx._("The current password is wrong."))
        new = ctx.form.get("password")
        try:
            user = users.set_password(conn, ctx.me.name, new if isinstance(new, str) else "")
        except users.UserError as exc:
            raise Refused(400, str(exc)) from None
        ctx.audit(conn, "user.passwd", user.name, "own password")
    ctx.request.session.update(epoch=user.session_epoch)
    return ctx.redirect("/settings", ctx._("Password changed."))
