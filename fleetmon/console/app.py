"""The console as an ASGI app: routes, signed session cookies, security headers, static files."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleetmon.console import actions
from fleetmon.console.pages import api, auth, inventory, reports, status, tickets, users, windows
from fleetmon.console.web import Console

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "fleetmon_session"

# Everything comes from fleetmon itself: no script at all, styles from /static, pictures inline.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


async def home(request: Request) -> Response:
    return RedirectResponse("/status", status_code=303)


def create_app(console: Console, session_secret: str) -> Starlette:
    """The app over `console`; `session_secret` signs the session cookies."""
    web = console.config.web
    routes = [
        Route("/", home),
        Route("/login", auth.login, methods=["GET", "POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/settings", auth.settings, methods=["GET", "POST"]),
        Route("/status", status.status),
        Route("/site", status.site),
        Route("/devices/{device_id:str}", status.device),
        Route("/tickets", tickets.board),
        Route("/tickets/{ticket_id:int}", tickets.show),
        Route("/tickets/{ticket_id:int}/{action:str}", tickets.act, methods=["POST"]),
        Route("/windows", windows.listing),
        Route("/windows/add", windows.add, methods=["POST"]),
        Route("/windows/{window_id:int}/remove", windows.remove, methods=["POST"]),
        Route("/inventory", inventory.upload_form),
        Route("/inventory/check", inventory.check, methods=["POST"]),
        Route("/inventory/apply", inventory.apply, methods=["POST"]),
        Route("/reports", reports.form),
        Route("/reports/file", reports.download),
        Route("/users", users.listing),
        Route("/users/add", users.change, methods=["POST"]),
        Route("/users/{name:str}/{action:str}", users.change, methods=["POST"]),
        Route("/audit", users.audit_log),
        Route("/api/status", api.status),
        Route("/api/devices/{device_id:str}", api.device),
        Route("/api/tickets", api.tickets_list),
        Route("/api/tickets/{ticket_id:int}", api.ticket),
        Route("/api/csrf", actions.csrf),
        Route("/api/tickets/{ticket_id:int}/{action:str}", actions.ticket_action, methods=["POST"]),
        Route("/api/windows", actions.windows_api, methods=["GET", "POST"]),
        Route("/api/windows/{window_id:int}", actions.window_remove, methods=["DELETE"]),
        Route("/export/devices.csv", api.export_devices),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=session_secret, session_cookie=SESSION_COOKIE, max_age=int(web.session_lifetime),
                   same_site="strict", https_only=web.secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console = console
    return app
