"""`fleetmon users add|passwd|disable|enable|list`: who may sign in to the web console, in which role."""

from __future__ import annotations

import getpass
from collections.abc import Callable

import click
from sqlalchemy import Connection

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.console import audit, users
from fleetmon.console.users import Role, User, UserError


def _me() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _password(given: str | None) -> str:
    if given is not None:
        return given
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("users")
def users_group() -> None:
    """Console users: local accounts with argon2 password hashes (see docs/CONSOLE.md)."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--area", default="", help="For an area viewer or a budget officer: the area path it may see (and everything under it).")
@click.option("--language", type=click.Choice(["vi", "en"]), default=None)
@click.option("--email", default="", help="For a budget officer: where the monthly report goes (reports.email in the config).")
@click.option("--password", "password", default=None, envvar="FLEETMON_USER_PASSWORD",
              help="Default: asked for (or $FLEETMON_USER_PASSWORD, for scripts).")
@pass_app
def add(app: AppContext, name: str, role: str, area: str, language: str | None, email: str, password: str | None) -> None:
    """Add a user."""
    secret = _password(password)
    with app.engine.begin() as conn:
        try:
            user = users.add(conn, name, secret, Role(role), area, language or "", email)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(conn, _me(), "user.add", user.name, f"role {user.role.value}" + (f", area {user.area}" if user.area else ""))
    click.echo(f"added {user.name} ({user.role.value}{', ' + user.area if user.area else ''})")


@users_group.command("passwd")
@click.argument("name")
@click.option("--password", "password", default=None, envvar="FLEETMON_USER_PASSWORD")
@pass_app
def passwd(app: AppContext, name: str, password: str | None) -> None:
    """Set a user's password; the user's open sessions end."""
    secret = _password(password)
    user = _change(app, lambda conn: users.set_password(conn, name, secret), "user.passwd", lambda u: "password set")
    click.echo(f"password of {user.name} changed")


def _change(app: AppContext, change: Callable[[Connection], User], action: str, detail: Callable[[User], str]) -> User:
    """Make one change to a user and log it in the audit log, in one transaction; a refusal is one line."""
    with app.engine.begin() as conn:
        try:
            user = change(conn)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(conn, _me(), action, user.name, detail(user))
    return user


@users_group.command("email")
@click.argument("name")
@click.argument("address")
@pass_app
def email(app: AppContext, name: str, address: str) -> None:
    """Set the address a user's monthly report goes to ('' for none)."""
    user = _change(app, lambda conn: users.set_email(conn, name, address), "user.email",
                   lambda u: "email set" if u.email else "email removed")
    click.echo(f"{user.name}: monthly report {'to ' + user.email if user.email else 'not mailed'}")


def _set_active(app: AppContext, name: str, active: bool) -> None:
    user = _change(app, lambda conn: users.set_active(conn, name, active), "user.enable" if active else "user.disable", lambda u: "")
    click.echo(f"{user.name} {'enabled' if active else 'disabled'}")


@users_group.command("disable")
@click.argument("name")
@pass_app
def disable(app: AppContext, name: str) -> None:
    """Stop a user signing in (and end the user's sessions); the audit log keeps the name."""
    _set_active(app, name, False)


@users_group.command("enable")
@click.argument("name")
@pass_app
def enable(app: AppContext, name: str) -> None:
    """Let a disabled user sign in again."""
    _set_active(app, name, True)


@users_group.command("list")
@pass_app
def list_users(app: AppContext) -> None:
    """Users, their role and area."""
    with app.engine.connect() as conn:
        found = users.all_users(conn)
    if not found:
        click.echo("no users; add the first administrator with: fleetmon users add NAME --role administrator")
        return
    for u in found:
        click.echo(f"{u.name:<20} {u.role.value:<15} {'active' if u.active else 'disabled':<9} {u.area}"
                   + (f"  <{u.email}>" if u.email else ""))
