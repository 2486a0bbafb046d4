"""Delivering one message over one channel: email (SMTP), webhook (JSON), Telegram (Bot API), Alertmanager (v2 API).

Every failure becomes a `DeliveryError` whose text is safe to log and store: no password or token,
and no URL (a Telegram URL holds its bot token).
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import httpx

from fleetmon.alerts.outbox import Pending
from fleetmon.config import AlertmanagerChannel, EmailChannel, SmtpConfig, TelegramChannel, WebhookChannel

AnyChannel = EmailChannel | WebhookChannel | TelegramChannel | AlertmanagerChannel
TIMEOUT_SECONDS = 15.0
TELEGRAM_LIMIT = 4096  # characters in one Bot API message


_BOT_PATH = re.compile(r"/bot[^/\s]+/")


class _HideBotToken(logging.Filter):
    """httpx logs each request's URL at info level; a Bot API URL carries the bot's token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_BOT_PATH.sub("/bot<secret>/", a) if isinstance(a, str) else
                                _BOT_PATH.sub("/bot<secret>/", str(a)) if type(a).__name__ == "URL" else a
                                for a in (record.args if isinstance(record.args, tuple) else (record.args,)))
        record.msg = _BOT_PATH.sub("/bot<secret>/", str(record.msg))
        return True


logging.getLogger("httpx").addFilter(_HideBotToken())


class DeliveryError(Exception):
    """A message not delivered this time; it will be retried."""


def message_id(message: Pending) -> str:
    return f"<fleetmon-outbox-{message.id}@fleetmon>"


def send_email(server: SmtpConfig, mail: EmailMessage) -> None:
    """Send `mail` through `server` (blocking); every failure is a `DeliveryError` without the password."""
    try:
        with smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.username and server.password is not None:
                smtp.login(server.username, server.password.resolve().get_secret_value())
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(f"SMTP server {server.host}:{server.port} refused the login of {server.username}") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP server {server.host}:{server.port} answered {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP server {server.host}:{server.port}: {type(exc).__name__}") from None


def _email(channel: EmailChannel, message: Pending) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = channel.sender, ", ".join(channel.to), message.subject
    mail["Message-ID"], mail["Date"] = message_id(message), formatdate(usegmt=True)
    mail.set_content(message.body)
    send_email(channel, mail)


async def _post(client: httpx.AsyncClient, what: str, url: str, json: object, headers: dict[str, str] | None = None) -> None:
    try:
        reply = await client.post(url, json=json, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}") from None
    if reply.status_code >= 300:
        raise DeliveryError(f"{what}: HTTP {reply.status_code}")


async def send(channel: AnyChannel, message: Pending, client: httpx.AsyncClient) -> None:
    if isinstance(channel, EmailChannel):
        await asyncio.to_thread(_email, channel, message)
    elif isinstance(channel, WebhookChannel):
        headers = {"Idempotency-Key": f"fleetmon-outbox-{message.id}"}
        if channel.token is not None:
            headers["Authorization"] = f"Bearer {channel.token.resolve().get_secret_value()}"
        body = {"id": message.id, "subject": message.subject, "text": message.body, **message.payload}
        await _post(client, "webhook", channel.url, body, headers)
    elif isinstance(channel, TelegramChannel):
        token = channel.token.resolve().get_secret_value()
        text = f"{message.subject}\n\n{message.body}"[:TELEGRAM_LIMIT]
        await _post(client, "Telegram", f"{channel.base_url.rstrip('/')}/bot{token}/sendMessage",
                    {"chat_id": channel.chat_id, "text": text, "disable_web_page_preview": True})
    else:
        await _post(client, "Alertmanager", f"{channel.url.rstrip('/')}/api/v2/alerts", [message.payload["alert"]])


async def push_alerts(channel: AlertmanagerChannel, alerts: list[dict[str, object]], client: httpx.AsyncClient) -> None:
    """Re-send open tickets: Alertmanager resolves an alert that is not repeated within its resolve_timeout."""
    if alerts:
        await _post(client, "Alertmanager", f"{channel.url.rstrip('/')}/api/v2/alerts", alerts)
