"""The web console: fleet status, tickets, windows, inventory import and users, served by `fleetmon run`.

Server-rendered (Starlette + Jinja2, no script), Vietnamese by default, usable on a phone. It sits
beside `fleetmon.alerts` and `fleetmon.exporters`: it reads the core and works tickets through
`fleetmon.alerts`' public functions, so the console and the CLI obey the same rules.

    web.py     the gate every page passes: session, role, CSRF, language
    scope.py   the one place area access is decided
    fleet.py   states and counts by area and site, history, availability
    pages/     one module per subject
    service.py `start_console`, called once from `fleetmon run`
"""
