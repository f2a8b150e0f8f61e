"""The e-mail with a sign-in link, sent over SMTP (FEEDSVC_SMTP_*) with the standard library.

One message to one mail server per link: smtplib is all that needs. The link is
built on FEEDSVC_BASE_URL, never on the request's Host header, which a client
chooses: a link to a host of the client's choosing would hand them the secret. So
e-mail links are offered only with FEEDSVC_SMTP_HOST and FEEDSVC_BASE_URL set.
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app, render_template

from feedsvc.web.pages.responses import now

# Seconds to wait for the mail server at each step, well within a request's time.
SMTP_TIMEOUT = 10


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message; the reason is the message."""


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
    message["Message-ID"] = make_msgid(domain=config["SMTP_HOST"])
    # RFC 3834: no out-of-office replies to a machine.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_template("publish/sign_in_link.txt", link=link, minutes=minutes))
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except OSError as error:  # smtplib's own errors are OSErrors too
        raise MailNotSent(f"{type(error).__name__}: {error}") from error
