"""Vietnamese by default, English on request: gettext catalogues compiled with Babel, one Jinja environment per language.

Templates write English message ids (`{{ _("Tickets") }}`); `locale/{vi,en}/LC_MESSAGES/messages.po`
translate them and the compiled `.mo` files ship with the package. Python code marks the words
it passes to templates with `N_` so that extraction finds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

LOCALE_DIR = Path(__file__).with_name("locale")
TEMPLATES_DIR = Path(__file__).with_name("templates")
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


# Words the code hands to templates: states, severities, roles, fault kinds, funding sources.
WORDS: dict[str, str] = {
    "up": N_("up"), "degraded": N_("degraded"), "down": N_("down"), "unreachable": N_("unreachable"), "unknown": N_("unknown"),
    "open": N_("open"), "acknowledged": N_("acknowledged"), "in_progress": N_("in progress"), "resolved": N_("resolved"),
    "closed": N_("closed"),
    "critical": N_("critical"), "high": N_("high"), "medium": N_("medium"), "low": N_("low"),
    "administrator": N_("administrator"), "technician": N_("technician"), "area_viewer": N_("area viewer"),
    "budget_officer": N_("budget officer"),
    "state_budget": N_("state budget"), "social": N_("social funding"), "household_shared": N_("household camera"),
    "device_down": N_("device down"), "site_offline": N_("site offline"), "disk_failed": N_("disk failed"),
    "disk_full": N_("disk full"), "recording_stopped": N_("recording stopped"), "footage_short": N_("footage too short"),
    "clock_skew": N_("clock skew"), "picture": N_("picture fault"), "stream_dead": N_("stream dead"),
    "reboot_loop": N_("reboot loop"), "flapping": N_("flapping"), "unit_swapped": N_("unit swapped"),
    "login_refused": N_("login refused"), "other": N_("other"),
    "area": N_("area"), "site": N_("site"), "device": N_("device"),
    "camera": N_("camera"), "nvr": N_("recorder"), "switch": N_("switch"),
    # a ticket's history, as fleetmon.alerts writes it (in English, in the store)
    "fault seen again": N_("fault seen again"), "fault cleared": N_("fault cleared"), "power cut": N_("power cut"),
    "opened": N_("opened"), "owner asked": N_("owner asked"), "reopened": N_("reopened"), "to technician": N_("to technician"),
    "escalated": N_("escalated"), "repair overdue": N_("repair overdue"), "assigned": N_("assigned"), "started": N_("started"),
    "repair recorded": N_("repair recorded"),
    "monitoring no longer sees it": N_("monitoring no longer sees it"),
    "units came back with reset uptimes: the site lost power": N_("units came back with reset uptimes: the site lost power"),
    "the fault stayed away for the confirmation period": N_("the fault stayed away for the confirmation period"),
}

# A ticket event's detail with values in it, as fleetmon.alerts writes it, and the message it reads as.
EVENT_DETAILS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"asked (?P<owner>.+) to check power and router first"), N_("asked %(owner)s to check power and router first")),
    (re.compile(r"not acknowledged within (?P<minutes>[\d.]+) min"), N_("not acknowledged within %(minutes)s min")),
    (re.compile(r"not repaired within (?P<hours>[\d.]+) h"), N_("not repaired within %(hours)s h")),
    (re.compile(r"upkeep plan (?P<plan>.+): every (?P<days>[\d.]+) days"), N_("upkeep plan %(plan)s: every %(days)s days")),
    (re.compile(r"healthy since (?P<since>.+) UTC"), N_("healthy since %(since)s UTC")),
)


@cache
def translations(language: str) -> NullTranslations:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def word(language: str) -> Callable[[str], str]:
    gettext = translations(language).gettext
    return lambda key: gettext(WORDS.get(key, key)) if key else ""


def event_detail(language: str) -> Callable[[str], str]:
    """A ticket event's detail in `language`; text the engine did not write (a technician's note) as it is."""
    gettext = translations(language).gettext

    def read(detail: str) -> str:
        for pattern, message in EVENT_DETAILS:
            if found := pattern.fullmatch(detail):
                return gettext(message) % found.groupdict()
        return gettext(WORDS[detail]) if detail in WORDS else detail

    return read


@cache
def environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["word"] = word(language)
    env.globals["event_detail"] = event_detail(language)
    env.globals["lang"] = language
    env.filters["vnd"] = vnd
    env.filters["when"] = when
    return env


def render(language: str, template: str, values: Mapping[str, Any]) -> str:
    return environment(language).get_template(template).render(**values)


def vnd(amount: int | None) -> str:
    """12.500.000 ₫, the Vietnamese way."""
    return "-" if amount is None else f"{amount:,}".replace(",", ".") + " ₫"


@pass_context
def when(context: Context, value: Any) -> str:
    """A moment in the console's time zone (`tz` of the page), with its offset: 2026-12-01 08:00 +07."""
    if value is None:
        return "-"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    tz = context.get("tz") or UTC
    shown = value.astimezone(tz)
    minutes = int((shown.utcoffset() or timedelta(0)).total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    offset = "UTC" if not minutes else ("+" if minutes > 0 else "-") + f"{hours:02d}" + (f":{rest:02d}" if rest else "")
    return f"{shown:%Y-%m-%d %H:%M} {offset}"
