"""E-mail alerts of a subscription (docs/pages.md#subscribing-by-e-mail): the sign-up form at
`/subscriptions/<key>/email`, and under `/email/` the links of the mails: confirming a
sign-up, unsubscribing (RFC 8058 one-click) and changing how often mails come.

- **Double opt-in.** The form stores a sign-up and queues one mail with a confirmation
  link (`store.mail_alerts.sign_up`); the delivery worker sends it. The answer is the same
  whether the address has subscribed before or not, and it never shows an address. The
  link opens a page with a button: only its POST confirms, so mail scanners that open
  every link confirm nothing (as the desk's sign-in links).
- **Throttled** per address and per client address (FEEDSVC_MAIL_SIGN_UPS_PER_*, within
  FEEDSVC_MAIL_SIGN_UP_WINDOW): 429 with Retry-After, nothing stored.
- **No CSRF secret.** Public pages have no session (cookies exist only under /publish).
  The links of mails carry their secret in the path, which a page elsewhere cannot know,
  and RFC 8058's POST comes from mail providers, without any cookie or form field. A
  sign-up changes nothing until its mail is confirmed; forms that browsers say come from
  another site (`Sec-Fetch-Site`, `Origin`) are refused all the same, so that a page
  elsewhere cannot sign addresses up from its visitors' browsers, past the per-client
  limit.

Every answer is private and never stored, and pages of a link send no Referer: the link's
secret stays in the address bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, request
from flask.blueprints import BlueprintSetupState
from pydantic import ValidationError

from feedsvc import db, paths, smtp
from feedsvc.models import Subscription
from feedsvc.publishing.subscriptions import NotSubscribed, SubscriptionIn, filter_title, subscribe
from feedsvc.store import mail_alerts, subscriptions
from feedsvc.store.mail_alerts import DIGEST, IMMEDIATE, MODES, SignUpLimits
from feedsvc.web import urls
from feedsvc.web.auth import client_address
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.responses import now, private_page

blueprint = Blueprint("email_alerts", __name__)


@blueprint.record_once
def _template_helpers(state: BlueprintSetupState) -> None:
    # Overviews offer "Per E-Mail abonnieren" only where mails can be sent.
    state.app.jinja_env.globals["email_alerts_enabled"] = alerts_enabled


MAIL_OFF = (
    "E-Mail-Benachrichtigungen sind auf diesem Server nicht eingerichtet. "
    "Abonnieren Sie die Meldungen bitte als Feed."
)
UNKNOWN_SUBSCRIPTION = "Dieses Abonnement gibt es nicht. Bitte stellen Sie Ihre Auswahl neu zusammen."
UNKNOWN_FILTER = "Diese Auswahl gibt es nicht (mehr): Eine Stadt, eine Region oder ein Thema ist unbekannt."
ADDRESS_MISSING = "Bitte geben Sie Ihre E-Mail-Adresse ein."
ADDRESS_TOO_LONG = "Diese E-Mail-Adresse ist zu lang: Sie darf höchstens 320 Zeichen haben."
ADDRESS_INVALID = (
    "Das ist keine E-Mail-Adresse, an die wir schreiben können. Bitte prüfen Sie die Eingabe: "
    "eine Adresse wie name@beispiel.de, ohne Leerzeichen und Umlaute."
)
MODE_INVALID = "Bitte wählen Sie, ob Sie sofort oder einmal am Tag benachrichtigt werden möchten."
FROM_ELSEWHERE = (
    "Dieses Formular wurde nicht von unserer Seite gesendet. Bitte bestellen Sie die "
    "Benachrichtigungen auf der Seite des Abonnements."
)
CONFIRM_INVALID = (
    "Dieser Bestätigungslink ist abgelaufen, wurde schon benutzt oder ist unbekannt. "
    "Bestellen Sie die Benachrichtigungen bitte neu."
)
LINK_INVALID = (
    "Dieser Link gilt nicht (mehr): Die Benachrichtigungen sind abbestellt, oder der Link ist "
    "unvollständig. Kopieren Sie ihn bitte ganz aus der E-Mail."
)
MODE_LABELS = {IMMEDIATE: "sofort bei jeder neuen Meldung", DIGEST: "einmal am Tag als Zusammenfassung"}
# A typed address longer than this is shown back shortened: it is no address anyway.
SHOWN_BACK = 320


def alerts_enabled() -> bool:
    """Whether mails can be sent: a mail server, and a base URL for the links in them."""
    config = current_app.config
    return smtp.settings_from(config) is not None and bool(config["BASE_URL"])


def _head(title: str) -> Head:
    return Head(title=title, description="", canonical=urls.absolute(request.path), noindex=True)


def _page(
    template: str, title: str, status: int = 200, *, secret_in_path: bool = False, **context: object
) -> Response:
    response = private_page(template, status=status, head=_head(title), title=title, **context)
    if secret_in_path:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _notice(title: str, message: str, status: int = 200, **context: object) -> Response:
    return _page("pages/email_notice.html", title, status, secret_in_path=True, message=message, **context)


def _digest_hour() -> int:
    hour: int = current_app.config["MAIL_DIGEST_HOUR"]
    return hour


# --- signing up -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """What the form asked for, checked: a normalised address and a mode."""

    address: str
    mode: str


def _read_form() -> Wanted | dict[str, str]:
    """The form's address and mode, or German messages by field."""
    errors: dict[str, str] = {}
    typed = request.form.get("email", "")
    address = mail_alerts.normalise_address(typed)
    if not address:
        errors["email"] = ADDRESS_MISSING
    elif len(address) > 320:
        errors["email"] = ADDRESS_TOO_LONG
    elif not mail_alerts.is_address(address):
        # Line breaks (a header injection), a second address, broken encodings (U+FFFD), …
        errors["email"] = ADDRESS_INVALID
    mode = request.form.get("mode", "")
    if mode not in MODES:
        errors["mode"] = MODE_INVALID
    return errors or Wanted(address, mode)


def _from_this_site() -> bool:
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return False
    origin = request.headers.get("Origin", "")
    return not origin or origin == "null" or origin.rstrip("/") == urls.base_url()


def _form(subscription: Subscription, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    typed = request.form.get("email", "") if request.method == "POST" else ""
    mode = request.form.get("mode", IMMEDIATE) if request.method == "POST" else IMMEDIATE
    return _page(
        "pages/email_sign_up.html",
        f"Per E-Mail benachrichtigt werden: {filter_title(subscription)}",
        status,
        subscription=subscription,
        subscription_title=filter_title(subscription),
        subscription_path=paths.subscription_path(subscription.key),
        email=typed[:SHOWN_BACK],
        mode=mode if mode in MODES else IMMEDIATE,
        modes=MODE_LABELS,
        digest_hour=_digest_hour(),
        errors=errors or {},
    )


def _limits() -> SignUpLimits:
    config = current_app.config
    return SignUpLimits(
        per_address=config["MAIL_SIGN_UPS_PER_ADDRESS"],
        per_client=config["MAIL_SIGN_UPS_PER_CLIENT"],
        window=timedelta(seconds=config["MAIL_SIGN_UP_WINDOW"]),
    )


def too_many(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    if minutes > 90:
        hours = math.ceil(minutes / 60)
        wait = f"{hours} Stunden"
    else:
        wait = "1 Minute" if minutes == 1 else f"{minutes} Minuten"
    return (
        "Für diese Adresse oder von Ihrem Anschluss aus wurden gerade zu viele Benachrichtigungen "
        f"bestellt. Bitte versuchen Sie es in {wait} noch einmal."
    )


@blueprint.get("/subscriptions/<key>/email")
def sign_up_form(key: str) -> Response:
    subscription = _subscription(key)
    return _form(subscription)


@blueprint.post("/subscriptions/<key>/email")
def sign_up(key: str) -> Response:
    subscription = _subscription(key)
    if not _from_this_site():
        return error_response(403, private=True, message=FROM_ELSEWHERE)
    wanted = _read_form()
    if not isinstance(wanted, Wanted):
        return _form(subscription, 422, wanted)
    session = db.session()
    moment = now()
    client = mail_alerts.client_hash(client_address())
    until = mail_alerts.refused_until(session, wanted.address, client, moment, _limits())
    if until is not None:
        seconds = max(1, math.ceil((until - moment).total_seconds()))
        page = _form(subscription, 429, {"email": too_many(seconds)})
        page.headers["Retry-After"] = str(seconds)
        return page
    subscription_id = subscription.id
    db.begin_writing(session)
    found = session.get(Subscription, subscription_id)
    if found is None:  # gone with its last city a moment ago
        abort(404)
    lifetime = timedelta(seconds=current_app.config["MAIL_CONFIRM_MAX_AGE"])
    mail_alerts.sign_up(session, found, wanted.address, wanted.mode, client, moment, lifetime)
    session.commit()
    return Response(status=303, headers={"Location": "/email/requested"})


@blueprint.post("/email/new")
def for_filter() -> Response:
    """The sign-up form of a filter the site's pages name (a city, a topic): its subscription,
    made if it is new (which changes nothing anybody sees), then its form."""
    if not alerts_enabled():
        return error_response(404, private=True, message=MAIL_OFF)
    if not _from_this_site():
        return error_response(403, private=True, message=FROM_ELSEWHERE)
    form = request.form
    try:
        data = SubscriptionIn.model_validate(
            {
                "cities": form.getlist("cities"),
                "regions": form.getlist("regions"),
                "topics": form.getlist("topics"),
            }
        )
    except ValidationError:
        return error_response(422, private=True, message=UNKNOWN_FILTER)
    session = db.session()
    db.begin_writing(session)
    outcome = subscribe(session, data, now())
    if isinstance(outcome, NotSubscribed):
        session.rollback()
        return error_response(422, private=True, message=UNKNOWN_FILTER)
    key = outcome.subscription.key
    session.commit()
    return Response(status=303, headers={"Location": f"{paths.subscription_path(key)}/email"})


@blueprint.get("/email/requested")
def requested() -> Response:
    """What every sign-up is answered with, known address or not."""
    if not alerts_enabled():
        return error_response(404, private=True, message=MAIL_OFF)
    hours = math.ceil(current_app.config["MAIL_CONFIRM_MAX_AGE"] / 3600)
    return _notice(
        "Bitte bestätigen Sie Ihre Bestellung",
        "Wir haben Ihnen eine E-Mail mit einem Bestätigungslink geschickt. Erst wenn Sie ihn "
        "öffnen und die Bestellung bestätigen, erhalten Sie Benachrichtigungen. Der Link gilt "
        f"{hours} Stunden. Kommt keine E-Mail, sehen Sie bitte auch im Spam-Ordner nach.",
    )


def _subscription(key: str) -> Subscription:
    if not alerts_enabled():
        abort(error_response(404, private=True, message=MAIL_OFF))
    found = subscriptions.by_key(db.session(), key)
    if found is None:
        abort(error_response(404, private=True, message=UNKNOWN_SUBSCRIPTION))
    return found


# --- the links in the mails ------------------------------------------------------------------------------


@blueprint.get("/email/confirm/<string(maxlength=100):secret>")
def confirm_page(secret: str) -> Response:
    """A button that confirms: opening the link confirms nothing."""
    return _notice(
        "Bestellung bestätigen",
        "Bestätigen Sie bitte, dass Sie die Benachrichtigungen erhalten möchten:",
        action=request.path,
        button="Bestellung bestätigen",
    )


@blueprint.post("/email/confirm/<string(maxlength=100):secret>")
def confirm(secret: str) -> Response:
    session = db.session()
    db.begin_writing(session)
    subscriber = mail_alerts.confirm(session, secret, now())
    if subscriber is None:
        session.rollback()
        return _notice("Link ungültig", CONFIRM_INVALID, 410)
    token, subscription = subscriber.token, subscriber.subscription
    mode = subscriber.mode
    session.commit()
    when = (
        f"einmal am Tag um {_digest_hour()} Uhr eine Zusammenfassung"
        if mode == DIGEST
        else "zu jeder neuen Pressemitteilung sofort eine E-Mail"
    )
    return _notice(
        "Bestellung bestätigt",
        f"Sie erhalten ab jetzt {when}: {filter_title(subscription)}. Abbestellen können Sie "
        "jederzeit mit dem Link am Ende jeder E-Mail.",
        links=[("Einstellungen ändern", f"/email/manage/{token}"),
               ("Zum Abonnement", paths.subscription_path(subscription.key))],
    )  # fmt: skip


@blueprint.get("/email/unsubscribe/<string(maxlength=100):token>")
def unsubscribe_page(token: str) -> Response:
    subscriber = mail_alerts.subscriber_by_token(db.session(), token)
    if subscriber is None:
        return _notice("Link ungültig", LINK_INVALID, 410)
    return _notice(
        "Benachrichtigungen abbestellen",
        f"Möchten Sie keine E-Mails mehr zu „{filter_title(subscriber.subscription)}“ erhalten? "
        "Mit dem Abbestellen löschen wir Ihre Adresse und was wir Ihnen geschickt haben.",
        action=request.path,
        button="Abbestellen",
    )


@blueprint.post("/email/unsubscribe/<string(maxlength=100):token>")
def unsubscribe(token: str) -> Response:
    """Unsubscribes at once: the button of the page above, and RFC 8058's one-click POST
    (`List-Unsubscribe=One-Click`) that mail programs send. Known or not, the answer is
    the same: afterwards no mail goes to the address for this subscription."""
    session = db.session()
    db.begin_writing(session)
    subscriber = mail_alerts.subscriber_by_token(session, token)
    if subscriber is not None:
        mail_alerts.unsubscribe(session, subscriber)
    session.commit()
    return _notice(
        "Abbestellt",
        "Sie erhalten zu diesem Abonnement keine E-Mails mehr. Ihre Adresse und was wir Ihnen "
        "geschickt haben, sind gelöscht.",
    )


@blueprint.get("/email/manage/<string(maxlength=100):token>")
def manage_page(token: str) -> Response:
    subscriber = mail_alerts.subscriber_by_token(db.session(), token)
    if subscriber is None:
        return _notice("Link ungültig", LINK_INVALID, 410)
    return _manage(token, subscriber.mode, filter_title(subscriber.subscription), subscriber.subscription.key)


@blueprint.post("/email/manage/<string(maxlength=100):token>")
def manage(token: str) -> Response:
    mode = request.form.get("mode", "")
    session = db.session()
    found = mail_alerts.subscriber_by_token(session, token)
    if found is None:
        return _notice("Link ungültig", LINK_INVALID, 410)
    if mode not in MODES:
        title, key = filter_title(found.subscription), found.subscription.key
        return _manage(token, found.mode, title, key, 422, MODE_INVALID)
    db.begin_writing(session)
    subscriber = mail_alerts.subscriber_by_token(session, token)
    if subscriber is None:  # unsubscribed a moment ago
        session.rollback()
        return _notice("Link ungültig", LINK_INVALID, 410)
    mail_alerts.set_mode(subscriber, mode, now())
    title, key = filter_title(subscriber.subscription), subscriber.subscription.key
    session.commit()
    return _manage(token, mode, title, key, saved=True)


def _manage(
    token: str, mode: str, title: str, key: str, status: int = 200, error: str = "", *, saved: bool = False
) -> Response:
    return _page(
        "pages/email_manage.html",
        "Ihre E-Mail-Benachrichtigungen",
        status,
        secret_in_path=True,
        token=token,
        mode=mode,
        modes=MODE_LABELS,
        digest_hour=_digest_hour(),
        subscription_title=title,
        subscription_path=paths.subscription_path(key),
        error=error,
        saved=saved,
    )
