"""The report as one HTML page (Jinja2), charts inline as SVG: no script, readable on a phone.

The PDF renders this same page, so what an officer reads on screen and on paper is one thing.
"""

from __future__ import annotations

from datetime import UTC

import jinja2
from markupsafe import Markup

from fleetmon.exporters.reports import charts
from fleetmon.exporters.reports.i18n import text_for
from fleetmon.exporters.reports.model import Report

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("fleetmon.exporters.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _charts(report: Report, lang: str) -> dict[str, Markup]:
    t = text_for(lang)
    trend = charts.availability_trend([(d.day.strftime("%d/%m"), d.availability) for d in report.days], t("chart_availability"),
                                      lambda v: t.percent(v, 1))
    faults = charts.bars([(t.fault(k), float(v)) for k, v in report.total.faults.items()], t("chart_faults"),
                         lambda v: t.number(v), charts.COLOURS[1])
    cost = charts.bars([(name, float(v)) for name, v in report.replacement_by_area.items()], t("chart_cost"),
                       lambda v: t.vnd(round(v)), charts.COLOURS[2])
    repair = ""
    if report.tickets is not None:
        repair = charts.bars([(name, float(v)) for name, v in sorted(report.tickets.cost_by_area.items(), key=lambda kv: -kv[1])],
                             t("repair_cost_by_area"), lambda v: t.vnd(round(v)), charts.COLOURS[3])
    # The SVG is built here from escaped text only, so it is safe to mark as markup.
    return {"trend": Markup(trend), "faults": Markup(faults), "cost": Markup(cost), "repair_cost": Markup(repair)}


# Lists of units longer than this are cut in the page and the PDF (a province has thousands of
# units out of warranty: nobody reads them on paper, and the PDF's layout time grows with them).
LIST_LIMIT = 100


def render_html(report: Report, lang: str = "vi", list_limit: int = LIST_LIMIT) -> str:
    return _ENV.get_template("report.html.j2").render(r=report, t=text_for(lang), charts=_charts(report, lang), list_limit=list_limit,
                                                      utc=UTC)
