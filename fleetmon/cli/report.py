"""`fleetmon report`: the maintenance report of a period for budget officers, as a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from fleetmon.cli.context import AppContext, pass_app
from fleetmon.exporters.reports.formats import FORMATS, format_for, render
from fleetmon.exporters.reports.i18n import LANGUAGES, text_for
from fleetmon.exporters.reports.period import FORMS, PeriodError
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
@click.option("--period", required=True, help=f"The period: {FORMS}.")
@click.option("--area", help="Area path to report on ('Thanh Hóa / Thọ Xuân'); default: the whole fleet.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="File format (default: from the file name, else html).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="File to write.")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Language (default: reports.language in the config, vi).")
@click.option("--repeated", type=click.IntRange(min=1), help="Outages in the period that mark a unit as failing repeatedly.")
@pass_app
def report(app: AppContext, period: str, area: str | None, fmt: str | None, output: Path, lang: str | None, repeated: int | None) -> None:
    """Availability, faults, units to replace and next period's budget, per area and site."""
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
