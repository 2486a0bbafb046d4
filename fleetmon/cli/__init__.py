"""The `fleetmon` command. Each sub-command lives in its own module beside this one."""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path
from typing import Any

import click

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.config import CONFIG_ENV, DEFAULT_CONFIG_FILE, ConfigError
from fleetmon.inventory.sheets import SheetError
from fleetmon.logs import setup_logging
from fleetmon.store.areas import AreaError
from fleetmon.store.engine import StoreError, store_error

# What a user can get wrong (the config and its secrets, a sheet, an area path, the store: down, wrong
# password, read-only, disk full): said in one line on stderr with exit code 1 by every command. The
# store's library errors become StoreError in `store_error`. Any other exception is a bug and keeps its traceback.
USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, SheetError, AreaError, StoreError)


class _Commands(click.Group):
    """The top group: the one place the project's own errors become click's one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            translated = store_error(exc, app.store_url if app is not None else None)
            if translated is None:
                raise
            raise click.ClickException(str(translated)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=CONFIG_ENV,
    help=f"Config file (default: ./{DEFAULT_CONFIG_FILE} if present, else built-in defaults).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """fleetmon: health monitor for police camera fleets (ONVIF, SNMP, Prometheus, maintenance tickets, reports)."""
    # Warnings and errors only, as logfmt on stderr; `run` and `demo` choose their own level. This
    # also undoes onvif-zeep-async's `logging.basicConfig(level=INFO)` at import, which would print
    # every HTTP request a probe makes.
    setup_logging("warning")
    ctx.obj = AppContext(config_path)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CONFIG_FILE)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to overwrite it")
    text = importlib.resources.files("fleetmon").joinpath("templates/fleetmon.example.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {path}; check it with: fleetmon --config {path} check-config")


@main.command("check-config")
@pass_app
def check_config(app: AppContext) -> None:
    """Validate the config, and that every secret it names can be read."""
    config = app.config
    problems, warnings = [], []
    secrets = {f"credentials.{name}.{key}": secret for name, profile in config.credentials.items()
               for key, secret in profile.secrets().items()}
    secrets |= {f"notifications.{key}": secret for key, secret in config.notifications.secrets().items()}
    if config.reports.email.smtp.password is not None:
        secrets["reports.email.smtp.password"] = config.reports.email.smtp.password
    if config.web.session_secret is not None:
        secrets["web.session_secret"] = config.web.session_secret
    if config.database_url is not None:
        secrets["database_url"] = config.database_url
    for where, secret in secrets.items():
        exposed = secret.exposure()
        if exposed:
            warnings.append(f"warning: {where}: {exposed}")
        try:
            secret.resolve(warn=False)
        except ConfigError as exc:
            problems.append(f"{where}: {exc}")
    database = "?"
    try:
        database = config.database_shown  # an env/file URL is checked here, once read
    except ConfigError as exc:
        if not any(line.startswith("database_url:") for line in problems):
            problems.append(str(exc))
    for line in warnings + problems:
        click.echo(line, err=True)
    if problems:
        sys.exit(1)
    click.echo(
        f"config ok: data in {config.data_dir}, database {database}, "
        f"{len(config.credentials)} credential profile(s), area levels "
        + " > ".join(level.key for level in config.areas.levels)
    )


def _register() -> None:
    from fleetmon.cli import areas, demo, discover, inventory, probe, run, simulate, status, tickets, users

    for command in (inventory.inventory, areas.area, demo.demo, status.status, probe.probe, simulate.simulate, run.run,
                    discover.discover, tickets.tickets_group, tickets.windows_group, users.users_group):
        main.add_command(command)
    main.add_command(importlib.import_module("fleetmon.cli.report").report)


_register()
