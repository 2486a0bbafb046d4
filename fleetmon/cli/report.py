"""`fleetmon report`: the maintenance report of a period for budget officers, as a file."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.console.report_mail import previous_month, send_month
from fleetmon.exporters.reports.formats import FORMATS, format_for, render
from fleetmon.exporters.reports.i18n import LANGUAGES, text_for
from fleetmon.exporters.reports.period import FORMS, PeriodError, parse_period
from fleetmon.exporters.reports.request import make_report
from fleetmon.store.areas import AreaError


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader (or a mail job) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command("report")
@click.option("--period", help=f"The period: {FORMS}. With --email: a month, by default the previous one.")
@click.option("--area", help="Area path to report on ('Thanh Hóa / Thọ Xuân'); default: the whole fleet.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="File format (default: from the file name, else html).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write.")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Language (default: reports.language in the config, vi).")
@click.option("--repeated", type=click.IntRange(min=1), help="Outages in the period that mark a unit as failing repeatedly.")
@click.option("--email", is_flag=True, help="Mail the month's report to budget officers (reports.email); each gets it once.")
@pass_app
def report(app: AppContext, period: str | None, area: str | None, fmt: str | None, output: Path | None, lang: str | None,
           repeated: int | None, email: bool) -> None:
    """Availability, faults, units to replace and next period's budget, per area and site."""
    if email:
        _mail(app, period)
        return
    if period is None or output is None:
        raise click.UsageError("give --period and -o FILE (or --email)")
    settings = app.config.reports
    with app.engine.connect() as conn:
        try:
            built = make_report(conn, settings, period, area, repeated)
        except PeriodError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
        except AreaError as exc:
            raise click.BadParameter(str(exc), param_hint="--area") from None
    fmt = format_for(output, fmt)
    language = lang or settings.language
    _write_atomically(output, render(built, fmt, language))
    t = text_for(language)
    click.echo(f"wrote {output} ({fmt}): {built.scope or 'whole fleet'}, {built.period_label}, {built.total.devices} devices, "
               f"availability {t.percent(built.total.hours.availability)}")


def _mail(app: AppContext, period: str | None) -> None:
    """Send the month's report to every recipient that has not had it; exit 1 when one could not be sent."""
    config = app.config
    period = period or previous_month(datetime.now(UTC), config)
    try:
        chosen = parse_period(period)
        if (chosen.first.year, chosen.first.month, chosen.first.day) != (chosen.last.year, chosen.last.month, 1):
            raise PeriodError(f"{period!r}: the mail is of one month, like 2026-10")
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    outcomes = send_month(app.engine, config, period)
    if not outcomes:
        click.echo("no recipients: give budget officers an address (fleetmon users email NAME ADDRESS) or list reports.email.to")
    for o in outcomes:
        click.echo(f"{period} {o.recipient.email} ({o.recipient.area or 'whole fleet'}): {o.result}")
    if any(o.result.startswith("not sent") for o in outcomes):
        raise SystemExit(1)
