"""One request's context, and the one gate every page passes: session, role, CSRF, language, scope.

`page(...)` wraps a plain function of a `Ctx`: it checks the signed session against the user's
current `session_epoch` (a password change or disable ends old sessions), the role, and for
every POST the form's CSRF token, then runs the function on a worker thread (the store is
synchronous). Area access is not decided here but by the `Scope` the context carries.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import anyio.from_thread
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from fleetmon.config import Config
from fleetmon.console import audit, i18n
from fleetmon.console import users as users_store
from fleetmon.console.fleet import DeviceState, FleetSource, Recent
from fleetmon.console.scope import Scope
from fleetmon.console.throttle import LoginThrottle
from fleetmon.console.users import Role, User
from fleetmon.inventory.model import Device

Endpoint = Callable[[Request], Awaitable[Response]]
NOTHING = Scope(("\0no area",))


@dataclass(slots=True)
class Console:
    """What every request shares: config, store, where states come from, the login throttle."""

    config: Config
    engine: Engine
    source: FleetSource
    throttle: LoginThrottle
    upload_dir: Path
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    charts: Recent = field(default_factory=Recent)  # availability charts, recomputed at most every few minutes


class Refused(Exception):
    """Stop the request with this status and message (shown on the error page or as JSON)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Ctx:
    request: Request
    console: Console
    user: User | None
    language: str
    form: FormData | None = None

    # -- who and what -------------------------------------------------------------------------
    @property
    def me(self) -> User:
        assert self.user is not None
        return self.user

    @property
    def scope(self) -> Scope:
        if self.user is None:
            return NOTHING
        if self.user.role is Role.AREA_VIEWER:
            scope = Scope.of_area(self.user.area)
            return NOTHING if scope.whole_fleet else scope  # an area viewer without an area sees nothing, never everything
        if self.user.role is Role.BUDGET_OFFICER:
            return Scope.of_area(self.user.area)  # an area's officer: that subtree, as in the monthly mail
        return Scope()

    @property
    def address(self) -> str:
        return self.request.client.host if self.request.client else ""

    def _(self, message: str, **values: Any) -> str:
        text = i18n.translations(self.language).gettext(message)
        return text % values if values else text

    def devices(self) -> dict[str, Device]:
        """The devices this user may see: every page reads devices through here."""
        return self.scope.devices(self.console.source.devices())

    def device(self, device_id: str) -> Device:
        found = self.scope.device(self.console.source.devices(), device_id)
        if found is None:
            raise Refused(404, self._("No such device."))
        return found

    def states(self) -> dict[str, DeviceState]:
        return self.console.source.states()

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def arg(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).strip()

    def audit(self, conn: Connection, action: str, target: str, detail: str = "") -> None:
        audit.record(conn, self.me.name, action, target, detail, self.address)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.console.config.web.timezone)

    # -- answers ------------------------------------------------------------------------------
    def csrf(self) -> str:
        token = self.request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            self.request.session["csrf"] = token
        return token

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.update(user=self.user, csrf=self.csrf(), tz=self.tz, request=self.request, path=self.request.url.path,
                      query=self.request.url.query, flash=self.request.session.pop("flash", None))
        return HTMLResponse(i18n.render(self.language, template, values), status_code=status)

    def redirect(self, url: str, flash: str = "") -> RedirectResponse:
        if flash:
            self.request.session["flash"] = flash
        return RedirectResponse(url, status_code=303)


def _language(request: Request, user: User | None, config: Config) -> str:
    asked = request.query_params.get("lang", "")
    if asked in i18n.LANGUAGES:
        request.session["lang"] = asked
        return asked
    chosen = request.session.get("lang")
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    if user is not None and user.language in i18n.LANGUAGES:
        return user.language
    return config.web.language


def session_user(request: Request, engine: Engine) -> User | None:
    """The signed-in user, if the session names one that is active and has not changed password since."""
    uid, epoch = request.session.get("uid"), request.session.get("epoch")
    if not isinstance(uid, int) or not isinstance(epoch, int):
        return None
    with engine.connect() as conn:
        user = users_store.by_id(conn, uid)
    if user is None or not user.active or user.session_epoch != epoch:
        request.session.pop("uid", None)
        return None
    return user


def csrf_ok(request: Request, form: Mapping[str, Any]) -> bool:
    expected = request.session.get("csrf")
    given = form.get("csrf")
    return isinstance(expected, str) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def page(*roles: Role, anonymous: bool = False, api: bool = False) -> Callable[[Callable[[Ctx], Response]], Endpoint]:
    """Make a page: signed in (unless `anonymous`), one of `roles` (any role if none), CSRF-checked on POST."""

    def wrap(handler: Callable[[Ctx], Response]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            form = None
            if request.method == "POST":
                limit = int(console.config.web.upload_limit_mb * 1024 * 1024)
                if int(request.headers.get("content-length") or 0) > limit:
                    return _refusal(request, console, None, Refused(413, "too large"), api)
                form = await request.form(max_part_size=limit)
                if not csrf_ok(request, form):
                    return _refusal(request, console, None, Refused(403, "csrf"), api)

            def run() -> Response:
                user = session_user(request, console.engine)
                ctx = Ctx(request, console, user, _language(request, user, console.config), form)
                if user is None and not anonymous:
                    if api:
                        return JSONResponse({"error": "sign in first"}, status_code=401)
                    here = request.url.path + ("?" + request.url.query if request.url.query else "")
                    return RedirectResponse("/login?next=" + quote(here), status_code=303)
                if user is not None and roles and user.role not in roles:
                    return _refusal(request, console, user, Refused(403, ctx._("Your role may not open this page.")), api)
                try:
                    return handler(ctx)
                except Refused as refused:
                    return _refusal(request, console, user, refused, api)

            try:
                return await run_in_threadpool(run)
            finally:
                if form is not None:
                    await form.close()  # uploaded files' temporary spools

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def _refusal(request: Request, console: Console, user: User | None, refused: Refused, api: bool) -> Response:
    ctx = Ctx(request, console, user, _language(request, user, console.config))
    message = str(refused)
    if message == "csrf":
        message = ctx._("The form has expired or did not come from this site. Go back, reload the page and try again.")
    elif message == "too large":
        message = ctx._("The upload is too large.")
    if api:
        return JSONResponse({"error": message}, status_code=refused.status)
    return ctx.render("error.html", status=refused.status, message=message)


def on_loop(function: Callable[[], Any]) -> Any:
    """Run `function` on the event loop from a request's worker thread (the monitor's view lives there)."""
    try:
        return anyio.from_thread.run_sync(function)
    except RuntimeError:  # not in a worker thread (a direct call in a test): the caller is on the right thread
        return function()
