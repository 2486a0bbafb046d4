"""The previous month's maintenance report by email to budget officers, once per month.

Who: every active budget officer with an email address gets the report of their area (the whole
fleet for an officer without one), in their language; each `reports.email.to` entry gets its own.
What: the HTML report as the body (with a short text part), the PDF and XLSX attached.
Once: each (month, address, area) is claimed in `report_mailings` before it is sent and stamped
when sent. A failed send gives its claim back for the next try; a claim left by a crash between
claim and send is taken again after `STALE_CLAIM`. So a restart, a second worker or `fleetmon
report --email` run by hand never sends a month twice.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, delete, insert, update
from sqlalchemy.exc import IntegrityError

from fleetmon.alerts.channels import DeliveryError, send_email
from fleetmon.config import Config
from fleetmon.console import users
from fleetmon.console.users import Role
from fleetmon.exporters.reports.formats import MEDIA_TYPES, render
from fleetmon.exporters.reports.i18n import text_for
from fleetmon.exporters.reports.model import Report
from fleetmon.exporters.reports.request import file_name, make_report
from fleetmon.store.schema import report_mailings

log = logging.getLogger("fleetmon.reports")
STALE_CLAIM = timedelta(hours=1)
# Python 3.11 folds a long non-ASCII Subject ("... Thanh Hóa / Sầm Sơn / Quảng Tiến") into broken
# encoded words; lines up to SMTP's 998 keep a subject in one piece, which every mail reader takes.
POLICY = email.policy.default.clone(max_line_length=998)


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    area: str  # "" : the whole fleet
    language: str
    who: str  # the user's name, or "config" for a `reports.email.to` entry


@dataclass(frozen=True, slots=True)
class Outcome:
    recipient: Recipient
    result: str  # "sent", "already sent", or why it was not sent


def recipients(engine: Engine, config: Config) -> list[Recipient]:
    """Active budget officers with an address, then the configured list; each (address, area) once."""
    default = config.reports.language
    with engine.connect() as conn:
        officers = [u for u in users.all_users(conn) if u.role is Role.BUDGET_OFFICER and u.active and u.email]
    found = [Recipient(u.email, u.area, u.language or default, u.name) for u in officers]
    found += [Recipient(r.email, r.area, r.language or default, "config") for r in config.reports.email.to]
    unique: dict[tuple[str, str], Recipient] = {}
    for r in found:
        unique.setdefault((r.email.lower(), r.area), r)
    return list(unique.values())


def due_period(now: datetime, config: Config) -> str | None:
    """The month whose mail is due at `now` (the previous one, from `day` at `hour` on), else None."""
    mail = config.reports.email
    local = now.astimezone(ZoneInfo(config.reports.timezone))
    if (local.day, local.hour) < (mail.day, mail.hour):
        return None
    return previous_month(now, config)


def previous_month(now: datetime, config: Config) -> str:
    local = now.astimezone(ZoneInfo(config.reports.timezone)).date()
    return (local.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _claim(engine: Engine, period: str, r: Recipient, now: datetime) -> bool:
    """Take this mail for sending; False when it was sent, or is being sent, by someone else."""
    key = and_(report_mailings.c.period == period, report_mailings.c.recipient == r.email, report_mailings.c.area == r.area)
    with engine.begin() as conn:
        conn.execute(delete(report_mailings).where(key, report_mailings.c.sent_at.is_(None),
                                                   report_mailings.c.claimed_at < now - STALE_CLAIM))
    try:
        with engine.begin() as conn:
            conn.execute(insert(report_mailings).values(period=period, recipient=r.email, area=r.area, claimed_at=now))
    except IntegrityError:
        return False
    return True


def _settle(engine: Engine, period: str, r: Recipient, sent_at: datetime | None) -> None:
    """Stamp the claim as sent, or give it back (`sent_at` None) for the next try."""
    key = and_(report_mailings.c.period == period, report_mailings.c.recipient == r.email, report_mailings.c.area == r.area)
    with engine.begin() as conn:
        if sent_at is None:
            conn.execute(delete(report_mailings).where(key, report_mailings.c.sent_at.is_(None)))
        else:
            conn.execute(update(report_mailings).where(key).values(sent_at=sent_at))


def compose(report: Report, r: Recipient, config: Config) -> EmailMessage:
    """The mail: a text summary, the HTML report as the alternative part, the files attached."""
    mail_config = config.reports.email
    t = text_for(r.language)
    scope = report.scope or t("whole_fleet")
    mail = EmailMessage(policy=POLICY)
    mail["From"], mail["To"] = mail_config.smtp.sender, r.email
    mail["Subject"] = f"[fleetmon] {t('title')} {report.period_label}: {scope}"
    mail["Date"], mail["Message-ID"] = formatdate(usegmt=True), make_msgid("fleetmon-report")
    mail.set_content("\n".join([f"{t('title')}", f"{t('period')}: {t.day(report.first)} – {t.day(report.last)}",
                                f"{t('scope')}: {scope}", f"{t('devices')}: {report.total.devices}",
                                f"{t('availability')}: {t.percent(report.total.hours.availability)}", ""]))
    mail.add_alternative(render(report, "html", r.language).decode("utf-8"), subtype="html")
    for fmt in mail_config.formats:
        maintype, _, subtype = MEDIA_TYPES[fmt].partition(";")[0].partition("/")
        mail.add_attachment(render(report, fmt, r.language), maintype=maintype, subtype=subtype, filename=file_name(report, fmt))
    return mail


def send_month(engine: Engine, config: Config, period: str, now: datetime | None = None) -> list[Outcome]:
    """Send `period`'s report to every recipient that has not had it yet (blocking: reports take seconds)."""
    now = now or datetime.now(UTC)
    outcomes: list[Outcome] = []
    built: dict[str, Report] = {}  # one report per area, whatever the number of its officers
    for r in recipients(engine, config):
        if not _claim(engine, period, r, now):
            outcomes.append(Outcome(r, "already sent"))
            continue
        try:
            if r.area not in built:
                with engine.connect() as conn:
                    built[r.area] = make_report(conn, config.reports, period, r.area or None, now=now)
            send_email(config.reports.email.smtp, compose(built[r.area], r, config))
        except Exception as exc:  # any failure (no such area any more, SMTP down): give the claim back, try next time
            _settle(engine, period, r, None)
            reason = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
            log.warning("monthly report %s to %s (%s) not sent: %s", period, r.email, r.area or "whole fleet", reason)
            outcomes.append(Outcome(r, f"not sent: {reason}"))
            continue
        _settle(engine, period, r, now)
        log.info("monthly report %s sent to %s (%s)", period, r.email, r.area or "whole fleet")
        outcomes.append(Outcome(r, "sent"))
    return outcomes


async def start_report_mail(config: Config, engine: Engine, stack: AsyncExitStack,
                            clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """In `fleetmon run`: every `check_every`, send the month's report mails that are due and not yet sent."""
    if not config.reports.email.enabled:
        return

    async def loop() -> None:
        while True:
            period = due_period(clock(), config)
            if period is not None:
                try:
                    await asyncio.to_thread(send_month, engine, config, period, clock())
                except Exception:  # the store away for a moment: the next round tries again
                    log.exception("monthly report mail")
            await asyncio.sleep(config.reports.email.check_every)

    task = asyncio.create_task(loop(), name="report-mail")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    log.info("monthly report mail: day %d at %02d:00 (%s), %d recipients now", config.reports.email.day,
             config.reports.email.hour, config.reports.timezone, len(await asyncio.to_thread(recipients, engine, config)))
