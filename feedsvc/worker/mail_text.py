"""The e-mails of subscriptions, in German: the confirmation of a sign-up, an alert of a new
or corrected release, a retraction notice and the daily digest.

Each is multipart/alternative (plain text, then HTML), built with the standard library's
`email` package from the templates in `templates/mail/` (Jinja, HTML escaped). A pure
function of its values: no database, no clock, no network. Every mail but the
confirmation carries the headers of a list mail: `List-Id`, and RFC 8058 one-click
unsubscribe (`List-Unsubscribe` with the HTTPS link, `List-Unsubscribe-Post`), so mail
programs offer "unsubscribe" and a POST to the link ends the alerts at once. Every mail
is `Auto-Submitted: auto-generated` (RFC 3834: no out-of-office replies), with a
Message-ID of the site's domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from feedsvc.formats.common import BERLIN, lead_image_html
from feedsvc.formats.model import Entry
from feedsvc.smtp import site_domain

_templates = Environment(
    loader=PackageLoader("feedsvc", "templates/mail"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _local(moment: datetime) -> str:
    """`25.11.2026, 13:00 Uhr`, in Europe/Berlin."""
    return f"{moment.astimezone(BERLIN):%d.%m.%Y, %H:%M} Uhr"


_templates.filters["local"] = _local
_templates.globals["lead_image_html"] = lead_image_html


@dataclass(frozen=True)
class Site:
    """Who sends: the site's name, its base URL (no trailing slash) and FEEDSVC_SMTP_FROM."""

    name: str
    base_url: str
    sender: str

    @property
    def domain(self) -> str:
        return site_domain(self.base_url)


@dataclass(frozen=True)
class Recipient:
    """A subscriber as its mails name it: the address, what it subscribed to, its links."""

    address: str
    subscription_key: str
    subscription_title: str
    subscription_url: str
    unsubscribe_url: str
    manage_url: str


def one_line(text: str) -> str:
    """Text as a header may carry it: on one line (a title's line breaks would end the header)."""
    return " ".join(text.split())


def confirmation(
    site: Site,
    to: str,
    *,
    subscription_title: str,
    subscription_url: str,
    confirm_url: str,
    digest: bool,
    valid_until: datetime,
    now: datetime,
) -> EmailMessage:
    values = {
        "site": site,
        "subscription_title": subscription_title,
        "subscription_url": subscription_url,
        "confirm_url": confirm_url,
        "digest": digest,
        "valid_until": valid_until,
    }
    subject = f"Bitte bestätigen: E-Mail-Benachrichtigungen zu {subscription_title}"
    return _message(site, to, subject, "confirm", values, now, listed=None)


def alert(
    site: Site, recipient: Recipient, entry: Entry, *, corrected: bool, note: str | None, now: datetime
) -> EmailMessage:
    """A new release, or (`corrected`) a major correction of one with the note it gave."""
    subject = f"Korrigiert: {entry.title}" if corrected else entry.title
    values = {"entry": entry, "corrected": corrected, "note": note or ""}
    return _message(site, recipient.address, subject, "alert", _with(site, recipient, values), now, recipient)


def retraction(
    site: Site, recipient: Recipient, entry: Entry, *, reason: str | None, now: datetime
) -> EmailMessage:
    values = {"entry": entry, "reason": reason or ""}
    subject = f"Zurückgezogen: {entry.title}"
    return _message(
        site, recipient.address, subject, "retracted", _with(site, recipient, values), now, recipient
    )


def digest(site: Site, recipient: Recipient, entries: Sequence[Entry], *, now: datetime) -> EmailMessage:
    count = len(entries)
    label = "1 neue Pressemitteilung" if count == 1 else f"{count} neue Pressemitteilungen"
    subject = f"{label}: {recipient.subscription_title}"
    values = {"entries": list(entries), "label": label}
    return _message(
        site, recipient.address, subject, "digest", _with(site, recipient, values), now, recipient
    )


def _with(site: Site, recipient: Recipient, values: dict[str, Any]) -> dict[str, Any]:
    return {"site": site, "recipient": recipient, **values}


def _message(
    site: Site,
    to: str,
    subject: str,
    template: str,
    values: dict[str, Any],
    now: datetime,
    listed: Recipient | None,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = site.sender
    message["To"] = Address(addr_spec=to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=site.domain)
    message["Auto-Submitted"] = "auto-generated"
    if listed is not None:
        # RFC 2919: one list per subscription, named by what it holds.
        message["List-Id"] = (
            f"{one_line(listed.subscription_title)[:100]} <{listed.subscription_key}.{site.domain}>"
        )
        message["List-Unsubscribe"] = f"<{listed.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_templates.get_template(f"{template}.txt").render(values))
    message.add_alternative(_templates.get_template(f"{template}.html").render(values), subtype="html")
    return message
