"""Maintenance reports from the console: the same report `fleetmon report` writes, as a download.

Budget officers and administrators may ask for any area; an area viewer gets its own subtree only,
decided by the request's `Scope` like every other page (an area outside it is 404).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from starlette.responses import Response

from fleetmon.console.users import Role
from fleetmon.console.web import Ctx, Refused, page
from fleetmon.exporters.reports.formats import FORMATS
from fleetmon.exporters.reports.i18n import LANGUAGES
from fleetmon.exporters.reports.period import FORMS, PeriodError
from fleetmon.exporters.reports.request import file_name, make_report, report_file
from fleetmon.inventory.model import AREA_SEPARATOR
from fleetmon.store.areas import AreaError

READERS = (Role.ADMINISTRATOR, Role.BUDGET_OFFICER, Role.AREA_VIEWER)
# The HTML report is one self-contained page with its own <style>; still no script, nothing from elsewhere.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"


def _last_month(ctx: Ctx) -> str:
    today = ctx.console.clock().astimezone(ctx.tz).date()
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _areas(ctx: Ctx) -> list[str]:
    """The user's scope and every area under it that has devices, for the form's list."""
    found = {ctx.scope.label} if not ctx.scope.whole_fleet else set()
    for d in ctx.devices().values():
        for n in range(max(1, len(ctx.scope.area)), len(d.area_path) + 1):
            found.add(AREA_SEPARATOR.join(d.area_path[:n]))
    return sorted(found)


@page(*READERS)
def form(ctx: Ctx) -> Response:
    return ctx.render("reports.html", period=_last_month(ctx), areas=_areas(ctx), formats=FORMATS, languages=LANGUAGES,
                      whole_fleet=ctx.scope.whole_fleet, forms=FORMS, error="")


@page(*READERS)
def download(ctx: Ctx) -> Response:
    """GET /reports/file?period=2026-10&area=...&format=xlsx&lang=vi: the file, made on request."""
    period = ctx.arg("period") or _last_month(ctx)
    fmt = ctx.arg("format", "html")
    language = ctx.arg("lang") or ctx.language
    if fmt not in FORMATS or language not in LANGUAGES:
        raise Refused(400, ctx._("Choose a format and a language from the list."))
    area = ctx.arg("area") or ctx.scope.label
    if not ctx.scope.covers(area):
        raise Refused(404, ctx._("No such area."))
    settings = ctx.console.config.reports
    with ctx.console.engine.connect() as conn:
        try:
            built = make_report(conn, settings, period, area or None, now=ctx.console.clock())
        except PeriodError:
            return ctx.render("reports.html", status=400, period=period, areas=_areas(ctx), formats=FORMATS, languages=LANGUAGES,
                              whole_fleet=ctx.scope.whole_fleet, forms=FORMS, error=ctx._("A period is written like this: %(forms)s",
                                                                                          forms=FORMS))
        except AreaError:
            raise Refused(404, ctx._("No such area.")) from None
    if not ctx.scope.covers(built.scope):  # a merged area's old path may lead elsewhere
        raise Refused(404, ctx._("No such area."))
    data, media_type = report_file(built, fmt, language)
    name = file_name(built, fmt)
    headers = {"content-disposition": f"{'inline' if fmt == 'html' else 'attachment'}; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"}
    if fmt == "html":
        headers["content-security-policy"] = REPORT_CSP
    return Response(data, media_type=media_type, headers=headers)
