"""The e-mail with a sign-in link, sent over SMTP (FEEDSVC_SMTP_*) by `feedsvc.smtp`, which
sends the e-mail alerts too.

One message to one mail server per link, sent from the request. The link is
built on FEEDSVC_BASE_URL, never on the request's Host header, which a client
chooses: a link to a host of the client's choosing would hand them the secret. So
e-mail links are offered only with FEEDSVC_SMTP_HOST and FEEDSVC_BASE_URL set.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app, render_template

from feedsvc import smtp
from feedsvc.smtp import MailNotSent
from feedsvc.web.pages.responses import now

__all__ = ["MailNotSent", "links_enabled", "send_sign_in_link"]


def links_enabled() -> bool:
    config = current_app.config
    return bool(config["SMTP_HOST"] and config["SMTP_FROM"] and config["BASE_URL"])


def send_sign_in_link(to: str, link: str, minutes: int) -> None:
    """Sends `link` (valid `minutes` long) to `to`; MailNotSent when that fails."""
    config = current_app.config
    site_name = str(current_app.jinja_env.globals.get("site_name", ""))
    message = EmailMessage()
    message["Subject"] = f"Ihr Anmeldelink: {site_name}"
    message["From"] = config["SMTP_FROM"]
    message["To"] = Address(addr_spec=to)
    message["Date"] = format_datetime(now())
    message["Message-ID"] = make_msgid(domain=smtp.site_domain(config["BASE_URL"]))
    # RFC 3834: no out-of-office replies to a machine.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_template("publish/sign_in_link.txt", link=link, minutes=minutes))
    settings = smtp.settings_from(config)
    if settings is None:
        raise MailNotSent("FEEDSVC_SMTP_HOST is not set")
    smtp.send_one(settings, message)
