"""`/publish/account`: whoever is signed in sees their sessions (since when, from where,
with which browser) and ends those they do not recognise; users change their password,
which ends all their other sessions (docs/pages.md#your-account).

Changing a password asks for the current one, except in a session signed in to with an
e-mail link: that link was the proof (and is how a forgotten password is replaced).
Wrong current passwords count as failed sign-ins of the account (`store.sign_in_throttle`).
"""

from __future__ import annotations

from flask import Response, flash, request

from feedsvc import db
from feedsvc.db import begin_writing
from feedsvc.store import accounts, desk_sessions
from feedsvc.store import sign_in_throttle as throttle
from feedsvc.store.accounts import Invalid, Problem
from feedsvc.store.sign_in_throttle import Purpose
from feedsvc.web.pages import desk, publish_session
from feedsvc.web.pages.desk import signed_in
from feedsvc.web.pages.desk_sign_in import SIGNED_OUT, count_attempt, refusal, throttle_limits
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.publish_session import SignedIn, lifetime
from feedsvc.web.pages.responses import now, private_page

blueprint = desk.blueprint("desk_account", __name__)

PROBLEM_MESSAGES = {
    Problem.EMAIL_MISSING: "Bitte geben Sie eine E-Mail-Adresse ein.",
    Problem.EMAIL_INVALID: (
        "Das ist keine E-Mail-Adresse, an die wir schreiben können "
        "(etwa name@stadt.de, ohne Umlaute und Leerzeichen)."
    ),
    Problem.EMAIL_TAKEN: "Zu dieser E-Mail-Adresse gibt es schon ein Konto.",
    Problem.NAME_TOO_LONG: f"Der Name darf höchstens {accounts.NAME_LENGTH} Zeichen lang sein.",
    Problem.ROLE_UNKNOWN: "Bitte wählen Sie eine Rolle.",
    Problem.CITIES_MISSING: "Eine Redaktion braucht mindestens eine Stadt.",
    Problem.CITIES_FOR_ADMIN: "Die Administration schreibt für alle Städte: Bitte wählen Sie keine aus.",
    Problem.CITY_UNKNOWN: "Unbekannte Stadt: {detail}.",
    Problem.PASSWORD_TOO_SHORT: (
        f"Das Passwort muss mindestens {accounts.MIN_PASSWORD_LENGTH} Zeichen lang sein."
    ),
    Problem.PASSWORD_TOO_LONG: (
        f"Das Passwort darf höchstens {accounts.MAX_PASSWORD_LENGTH} Zeichen lang sein."
    ),
}
NO_PASSWORD_FOR_TOKENS = "Mit einem API-Token angemeldet: Es gibt kein Passwort zu ändern."
WRONG_CURRENT_PASSWORD = "Das bisherige Passwort stimmt nicht."
PASSWORDS_DIFFER = "Die beiden neuen Passwörter stimmen nicht überein."
PASSWORD_CHANGED = "Ihr Passwort ist geändert. Alle anderen Sitzungen sind beendet."
SESSION_ENDED = "Die Sitzung ist beendet."
OTHERS_ENDED = "Alle anderen Sitzungen sind beendet."


def problem_message(invalid: Invalid) -> str:
    return PROBLEM_MESSAGES[invalid.problem].format(detail=invalid.detail)


def _needs_current_password(signed: SignedIn) -> bool:
    user = signed.user
    return user is not None and user.password_hash is not None and signed.row.method != "link"


def _account_page(signed: SignedIn, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    return private_page(
        "publish/account.html",
        status=status,
        head=desk.head("Ihr Konto"),
        sessions=desk_sessions.sessions_of(db.session(), signed.holder, now(), lifetime()),
        current_session_id=signed.row.id,
        needs_current_password=_needs_current_password(signed),
        errors=errors or {},
    )


@blueprint.get("/account")
@signed_in
def account(signed: SignedIn) -> Response:
    return _account_page(signed)


@blueprint.post("/account/password")
@signed_in
def change_password(signed: SignedIn) -> Response:
    user = signed.user
    if user is None:
        return error_response(403, private=True, message=NO_PASSWORD_FOR_TOKENS)
    current_password = request.form.get("current_password", "")
    new_password = request.form.get("new_password", "")
    errors: dict[str, str] = {}
    if _needs_current_password(signed):
        counter = throttle.account_counter(throttle_limits(), Purpose.SIGN_IN, user.email)
        refused = refusal([counter])
        if refused is not None:
            return refused.applied_to(_account_page(signed, 429, {"current_password": refused.message}))
        if not accounts.verify_password(user, current_password):
            count_attempt([counter])
            errors["current_password"] = WRONG_CURRENT_PASSWORD
    problem = accounts.check_password(new_password)
    if problem is not None:
        errors["new_password"] = PROBLEM_MESSAGES[problem]
    elif new_password != request.form.get("repeat_password", ""):
        errors["repeat_password"] = PASSWORDS_DIFFER
    if errors:
        return _account_page(signed, 422, errors)
    db_session = db.session()
    begin_writing(db_session)
    accounts.set_password(db_session, user, new_password, now(), by=signed.acting, keep=signed.row)
    db_session.commit()
    flash(PASSWORD_CHANGED)
    return desk.see_other("desk_account.account")


@blueprint.post("/account/sessions/<int:session_id>/end")
@signed_in
def end_session(signed: SignedIn, session_id: int) -> Response:
    db_session = db.session()
    own = {row.id for row in desk_sessions.sessions_of(db_session, signed.holder, now(), lifetime())}
    if session_id not in own:
        return error_response(404, private=True, message="Diese Sitzung gibt es nicht (mehr).")
    begin_writing(db_session)
    if session_id == signed.row.id:
        publish_session.end()
        db_session.commit()
        flash(SIGNED_OUT)
        return desk.see_other("publish.dashboard")
    desk_sessions.end_session(db_session, session_id)
    db_session.commit()
    flash(SESSION_ENDED)
    return desk.see_other("desk_account.account")


@blueprint.post("/account/sessions/end-others")
@signed_in
def end_other_sessions(signed: SignedIn) -> Response:
    db_session = db.session()
    begin_writing(db_session)
    desk_sessions.end_sessions_of(db_session, signed.holder, keep=signed.row.id)
    db_session.commit()
    flash(OTHERS_ENDED)
    return desk.see_other("desk_account.account")
