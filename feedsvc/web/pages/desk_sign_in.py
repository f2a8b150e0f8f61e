"""Signing in to the desk and out of it: with e-mail address and password, with a
one-time link sent by e-mail, or with an API token (docs/pages.md#signing-in).

Every way of signing in is throttled (`store.sign_in_throttle`): too many failures
for an account or from an address within the window are answered with 429 and
Retry-After, without checking anything, until the window has passed them. A wrong
password and an unknown address get the same answer, after the same work, and a
request for a link is answered the same whether the address has an account or not.

Transactions: the checks read; what is written (a failure counted, the session
started) is written after `begin_writing`, so a slow password check never holds
SQLite's write lock, and the link's e-mail is sent after the commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import Response, current_app, flash, request, url_for

from feedsvc import db
from feedsvc.db import begin_writing
from feedsvc.store import accounts
from feedsvc.store import sign_in_throttle as throttle
from feedsvc.store.sign_in_throttle import Counter, Limits, Purpose
from feedsvc.store.tokens import token_by_secret
from feedsvc.store.write_access import writes_at_all
from feedsvc.web import urls
from feedsvc.web.auth import client_address
from feedsvc.web.pages import desk, publish_session
from feedsvc.web.pages.desk_mail import MailNotSent, links_enabled, send_sign_in_link
from feedsvc.web.pages.responses import now, private_page

blueprint = desk.blueprint("desk_sign_in", __name__)

# Longer than any secret we hand out; anything longer is no token and no link.
MAX_SECRET_LENGTH = 200
MISSING_CREDENTIALS = "Bitte geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein."
WRONG_CREDENTIALS = (
    "E-Mail-Adresse oder Passwort stimmen nicht, oder das Konto ist deaktiviert. "
    "Bitte prüfen Sie Ihre Eingabe."
)
MISSING_TOKEN = "Bitte geben Sie Ihr API-Token ein."
UNKNOWN_TOKEN = "Dieses Token ist unbekannt, widerrufen oder nicht zum Veröffentlichen berechtigt."
MISSING_EMAIL = "Bitte geben Sie Ihre E-Mail-Adresse ein."
LINKS_OFF = (
    "Anmeldelinks per E-Mail sind auf diesem Server nicht eingerichtet. "
    "Bitte melden Sie sich mit Passwort an."
)
LINK_SENT = (
    "Wenn zu dieser Adresse ein aktives Konto gehört, ist ein Anmeldelink unterwegs. "
    "Er gilt {minutes} Minuten und nur einmal."
)
MAIL_FAILED = (
    "Die E-Mail mit dem Anmeldelink konnte gerade nicht versandt werden. Bitte versuchen Sie es "
    "später noch einmal oder melden Sie sich mit Passwort an."
)
LINK_INVALID = (
    "Dieser Anmeldelink ist abgelaufen, wurde schon benutzt oder ist unbekannt. "
    "Fordern Sie bitte einen neuen an."
)
SIGNED_OUT = "Sie sind abgemeldet."


def too_many_attempts(minutes: int) -> str:
    unit = "Minute" if minutes == 1 else "Minuten"
    return (
        "Zu viele fehlgeschlagene Anmeldeversuche. Aus Sicherheitsgründen ist die Anmeldung "
        f"vorübergehend gesperrt. Bitte versuchen Sie es in {minutes} {unit} noch einmal."
    )


def throttle_limits() -> Limits:
    config = current_app.config
    return Limits(
        per_account=config["SIGN_IN_MAX_FAILURES"],
        per_address=config["SIGN_IN_MAX_FAILURES_PER_ADDRESS"],
        window=timedelta(seconds=config["SIGN_IN_FAILURE_WINDOW"]),
    )


def _link_minutes() -> int:
    seconds: int = current_app.config["SIGN_IN_LINK_MAX_AGE"]
    return math.ceil(seconds / 60)


def sign_in_page(status: int = 200, *, email: str = "", **errors: str) -> Response:
    """The sign-in page; `errors` by form: `password_error`, `link_error`, `token_error`."""
    return private_page(
        "publish/sign_in.html",
        status=status,
        head=desk.head("Anmelden"),
        email=email,
        links=links_enabled(),
        link_minutes=_link_minutes(),
        **errors,
    )


@dataclass(frozen=True)
class Refusal:
    """An attempt refused by throttling: what the page says, and the Retry-After in seconds."""

    message: str
    seconds: int

    def applied_to(self, page: Response) -> Response:
        page.headers["Retry-After"] = str(self.seconds)
        return page


def refusal(counters: list[Counter]) -> Refusal | None:
    """The refusal of an attempt whose counters reached their limit, or None when it may be made."""
    until = throttle.refused_until(db.session(), counters, now(), throttle_limits().window)
    if until is None:
        return None
    seconds = max(1, math.ceil((until - now()).total_seconds()))
    return Refusal(too_many_attempts(math.ceil(seconds / 60)), seconds)


def _link_page(status: int = 200, error: str = "") -> Response:
    return private_page("publish/link.html", status=status, head=desk.head("Anmelden"), error=error)


def count_attempt(counters: list[Counter]) -> None:
    """Counts an attempt, in a write transaction of its own, and commits it."""
    db_session = db.session()
    begin_writing(db_session)
    moment = now()
    throttle.record(db_session, counters, moment)
    throttle.prune(db_session, moment, throttle_limits().window)
    db_session.commit()


@blueprint.post("/sign-in/password")
def password() -> Response:
    email = request.form.get("email", "")
    given = request.form.get("password", "")
    if not email.strip() or not given:
        return sign_in_page(422, email=email, password_error=MISSING_CREDENTIALS)
    normalised = accounts.normalise_email(email)
    account = throttle.account_counter(throttle_limits(), Purpose.SIGN_IN, normalised)
    counters = [throttle.address_counter(throttle_limits(), Purpose.SIGN_IN, client_address()), account]
    refused = refusal(counters)
    if refused is not None:
        return refused.applied_to(sign_in_page(429, email=email, password_error=refused.message))
    db_session = db.session()
    user = accounts.authenticate(db_session, normalised, given)
    if user is None:
        count_attempt(counters)
        return sign_in_page(422, email=email, password_error=WRONG_CREDENTIALS)
    begin_writing(db_session)
    accounts.rehash_if_needed(user, given)
    throttle.forget(db_session, account)  # the address's failures stay
    publish_session.begin(user, "password")
    db_session.commit()
    return desk.see_other("publish.dashboard")


@blueprint.post("/sign-in")
def token() -> Response:
    secret = request.form.get("token", "").strip()
    if not secret:
        return sign_in_page(422, token_error=MISSING_TOKEN)
    counters = [throttle.address_counter(throttle_limits(), Purpose.SIGN_IN, client_address())]
    refused = refusal(counters)
    if refused is not None:
        return refused.applied_to(sign_in_page(429, token_error=refused.message))
    db_session = db.session()
    found = token_by_secret(db_session, secret) if len(secret) <= MAX_SECRET_LENGTH else None
    if found is None or not writes_at_all(found):
        count_attempt(counters)
        return sign_in_page(422, token_error=UNKNOWN_TOKEN)
    begin_writing(db_session)
    publish_session.begin(found, "token")
    db_session.commit()
    return desk.see_other("publish.dashboard")


@blueprint.post("/sign-in/link")
def request_link() -> Response:
    email = request.form.get("email", "")
    if not links_enabled():
        return sign_in_page(404, email=email, link_error=LINKS_OFF)
    normalised = accounts.normalise_email(email)
    if not normalised:
        return sign_in_page(422, link_error=MISSING_EMAIL)
    counters = [
        throttle.address_counter(throttle_limits(), Purpose.LINK_REQUEST, client_address()),
        throttle.account_counter(throttle_limits(), Purpose.LINK_REQUEST, normalised),
    ]
    refused = refusal(counters)
    if refused is not None:
        return refused.applied_to(sign_in_page(429, email=email, link_error=refused.message))
    db_session = db.session()
    user = accounts.user_by_email(db_session, normalised)
    begin_writing(db_session)
    moment = now()
    # Every request counts: each may send an e-mail.
    throttle.record(db_session, counters, moment)
    throttle.prune(db_session, moment, throttle_limits().window)
    accounts.prune_sign_in_links(db_session, moment)
    recipient = secret = None
    if user is not None and user.is_active:
        lifetime = timedelta(seconds=current_app.config["SIGN_IN_LINK_MAX_AGE"])
        recipient, secret = user.email, accounts.create_sign_in_link(db_session, user, moment, lifetime)
    db_session.commit()
    if recipient is not None and secret is not None:
        link = urls.absolute(url_for("desk_sign_in.link", secret=secret))
        try:
            send_sign_in_link(recipient, link, _link_minutes())
        except MailNotSent as error:
            current_app.logger.warning("sign-in link not sent: %s", error)
            return sign_in_page(503, email=email, link_error=MAIL_FAILED)
    flash(LINK_SENT.format(minutes=_link_minutes()))
    return desk.see_other("publish.dashboard")


@blueprint.get("/sign-in/link/<string(maxlength=200):secret>")
def link(secret: str) -> Response:
    """The page a link opens: a button that signs in. Opening the link signs nobody in, so
    mail scanners that open every link cannot use it up."""
    return _link_page()


@blueprint.post("/sign-in/link/<string(maxlength=200):secret>")
def use_link(secret: str) -> Response:
    counters = [throttle.address_counter(throttle_limits(), Purpose.SIGN_IN, client_address())]
    refused = refusal(counters)
    if refused is not None:
        return refused.applied_to(_link_page(429, refused.message))
    db_session = db.session()
    begin_writing(db_session)
    moment = now()
    user = accounts.use_sign_in_link(db_session, secret, moment)
    if user is None:
        throttle.record(db_session, counters, moment)
        db_session.commit()
        return _link_page(410, LINK_INVALID)
    throttle.forget(db_session, throttle.account_counter(throttle_limits(), Purpose.SIGN_IN, user.email))
    publish_session.begin(user, "link")
    db_session.commit()
    return desk.see_other("publish.dashboard")


@blueprint.post("/sign-out")
def sign_out() -> Response:
    db_session = db.session()
    begin_writing(db_session)
    publish_session.end()
    db_session.commit()
    flash(SIGNED_OUT)
    return desk.see_other("publish.dashboard")
