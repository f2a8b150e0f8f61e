"""Sending e-mail over SMTP (FEEDSVC_SMTP_*) with the standard library: the desk's sign-in
links and the e-mail alerts of subscriptions (`worker.mail`) go out through here.

No Flask and no database: the settings are read once into `SmtpSettings`, and a batch
of messages goes over one connection. A message the server refuses for its recipients
alone (a 5xx answer to RCPT) is reported as refused for good; anything else that fails
(no connection, a timeout, a 4xx answer) fails the rest of the batch, to be tried again.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

# Seconds to wait for the mail server at each step: well within a request's time.
TIMEOUT = 10
_ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+")


class MailNotSent(Exception):
    """The mail server could not be reached or did not take the message; the reason is the message."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = True

    @property
    def sender_address(self) -> str:
        """The bare address of FEEDSVC_SMTP_FROM (which may carry a name)."""
        return parseaddr(self.sender)[1]


def settings_from(config: Mapping[str, Any]) -> SmtpSettings | None:
    """The mail server the settings name, or None when there is none (no FEEDSVC_SMTP_HOST)."""
    if not config.get("SMTP_HOST") or not config.get("SMTP_FROM"):
        return None
    return SmtpSettings(
        host=config["SMTP_HOST"],
        port=config["SMTP_PORT"],
        sender=config["SMTP_FROM"],
        user=config.get("SMTP_USER"),
        password=config.get("SMTP_PASSWORD"),
        starttls=bool(config.get("SMTP_STARTTLS", True)),
    )


def site_domain(base_url: str) -> str:
    """The host of FEEDSVC_BASE_URL: the domain of Message-IDs and List-Ids."""
    return urlsplit(base_url).hostname or "localhost"


@dataclass(frozen=True)
class Refused:
    """A message the server refused for good (its recipient), with the server's answer."""

    index: int
    reason: str


def send(settings: SmtpSettings, messages: Sequence[EmailMessage]) -> list[Refused]:
    """Sends `messages` over one connection, in order. Returns those refused for good;
    MailNotSent when the connection fails, which leaves it open which of the messages
    before the failure arrived (the caller sends them again: at least once)."""
    refused: list[Refused] = []
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT) as connection:
            if settings.starttls:
                connection.starttls(context=ssl.create_default_context())
            if settings.user:
                connection.login(settings.user, settings.password or "")
            for index, message in enumerate(messages):
                try:
                    connection.send_message(message)
                except smtplib.SMTPRecipientsRefused as error:
                    codes = [code for code, _ in error.recipients.values()]
                    if all(code >= 500 for code in codes):
                        refused.append(Refused(index, _answer(error.recipients)))
                        connection.rset()
                        continue
                    raise
    except OSError as error:  # smtplib's own errors are OSErrors too
        raise MailNotSent(without_addresses(f"{type(error).__name__}: {error}")) from error
    return refused


def send_one(settings: SmtpSettings, message: EmailMessage) -> None:
    """Sends one message; MailNotSent when it did not go out, refused for good or not."""
    refused = send(settings, [message])
    if refused:
        raise MailNotSent(f"refused: {refused[0].reason}")


def without_addresses(text: str) -> str:
    """A server's answer as it may be logged and kept: every e-mail address in it replaced."""
    return _ADDRESS.sub("<address>", text)


def _answer(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return without_addresses(
        "; ".join(f"{code} {reply.decode('utf-8', 'replace')[:200]}" for code, reply in recipients.values())
    )
