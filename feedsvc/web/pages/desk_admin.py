"""`/publish/users` and `/publish/tokens`: admins (users or tokens with the admin role)
create and deactivate the desk's users and create and revoke API tokens
(docs/pages.md#users-and-roles). Everyone else gets 403.

A user is checked by `store.accounts`, as `feedsvc create-user` checks it; a new
token's secret is shown once, on the answer to the form, and stored nowhere (not even
in the flashed messages, which travel in the cookie). Deactivating a user or revoking
a token ends its sessions at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, flash, request
from sqlalchemy.exc import IntegrityError

from feedsvc import db
from feedsvc.db import begin_writing
from feedsvc.models import Publisher, Token
from feedsvc.publishing.writers import office_meant, retired_office
from feedsvc.store import accounts, catalog
from feedsvc.store.accounts import Invalid, Problem
from feedsvc.store.tokens import create_publisher_token, create_token, revoke_token, token_by_id, tokens
from feedsvc.text import plain_text
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import MAX_ROW_ID, admin_only
from feedsvc.web.pages.desk_account import problem_message
from feedsvc.web.pages.desk_mail import links_enabled
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.publish_session import SignedIn
from feedsvc.web.pages.responses import now, private_page

blueprint = desk.blueprint("desk_admin", __name__)

USER_ROLES = {"editor": "Redaktion", "admin": "Administration"}
TOKEN_ROLES = {
    "publisher": "Pressestelle (veröffentlicht für ihre Städte)",
    "admin": "Administration (darf alles)",
    "journalist": "Redaktion (liest Meldungen unter Sperrfrist)",
}
PASSWORD_NEEDED = (
    "Ohne Anmeldelinks per E-Mail (auf diesem Server nicht eingerichtet) braucht das Konto ein Passwort."
)
NOT_YOURSELF = "Ihr eigenes Konto können Sie nicht deaktivieren: Das muss eine andere Administratorin tun."
NO_SUCH_USER = "Diesen Benutzer gibt es nicht."
NO_SUCH_TOKEN = "Dieses Token gibt es nicht."
OFFICE_MISSING = "Bitte geben Sie den Namen der Pressestelle an."
OFFICE_TOO_LONG = "Der Name der Pressestelle darf höchstens {limit} Zeichen lang sein."
OFFICE_RETIRED = "Die Pressestelle „{name}“ ist eingestellt und veröffentlicht nichts Neues mehr."
OFFICE_LOOKALIKE = (
    "Meinten Sie „{meant}“? Namen, die sich nur in Groß- und Kleinschreibung oder Leerzeichen "
    "unterscheiden, bezeichnen dieselbe Pressestelle."
)
CITIES_RETIRED = "Eingestellte Städte nehmen keine neuen Pressemitteilungen an: {names}."
LABEL_TOO_LONG = "Die Notiz darf höchstens {limit} Zeichen lang sein."
CITIES_FOR_READERS = "Nur Tokens von Pressestellen gelten für bestimmte Städte: Bitte wählen Sie keine aus."
CITIES_NEEDED = "Ein Token einer Pressestelle braucht mindestens eine Stadt."
ROLE_NEEDED = "Bitte wählen Sie, wofür das Token ist."


def _length(column: Any) -> int:
    limit: int = column.property.columns[0].type.length
    return limit


@dataclass(frozen=True)
class UserForm:
    """What the form for a new user holds (never its password: that is not shown again)."""

    email: str = ""
    name: str = ""
    role: str = "editor"
    cities: tuple[str, ...] = ()

    @classmethod
    def from_request(cls) -> UserForm:
        return cls(
            email=request.form.get("email", ""),
            name=request.form.get("name", ""),
            role=request.form.get("role", ""),
            cities=tuple(request.form.getlist("cities")),
        )


@dataclass(frozen=True)
class TokenForm:
    role: str = "publisher"
    publisher: str = ""
    cities: tuple[str, ...] = ()
    label: str = ""

    @classmethod
    def from_request(cls) -> TokenForm:
        return cls(
            role=request.form.get("role", ""),
            # Plain text: no markup, no control characters (PostgreSQL stores no NUL).
            publisher=plain_text(request.form.get("publisher", "")),
            cities=tuple(request.form.getlist("cities")),
            label=plain_text(request.form.get("label", "")),
        )


def _users_page(
    status: int = 200, form: UserForm | None = None, errors: dict[str, str] | None = None
) -> Response:
    session = db.session()
    return private_page(
        "publish/users.html",
        status=status,
        head=desk.head("Benutzer"),
        users=accounts.users(session),
        cities=catalog.cities(session),
        roles=USER_ROLES,
        form=form or UserForm(),
        errors=errors or {},
        links=links_enabled(),
    )


@blueprint.get("/users")
@admin_only
def users(signed: SignedIn) -> Response:
    return _users_page()


@blueprint.post("/users")
@admin_only
def create_user(signed: SignedIn) -> Response:
    form = UserForm.from_request()
    password = request.form.get("password", "")
    db_session = db.session()
    checked = accounts.check_new_user(
        db_session,
        email=form.email,
        name=form.name,
        role=form.role,
        city_slugs=form.cities,
        password=password or None,
    )
    errors = (
        {invalid.field: problem_message(invalid) for invalid in checked} if isinstance(checked, list) else {}
    )
    if not password and not links_enabled():
        errors.setdefault("password", PASSWORD_NEEDED)
    if errors or isinstance(checked, list):
        return _users_page(422, form, errors)
    begin_writing(db_session)
    try:
        user = accounts.create_user(db_session, checked, now(), by=signed.acting)
        db_session.commit()
    except IntegrityError:
        # Another admin created the same address a moment ago.
        db_session.rollback()
        return _users_page(422, form, {"email": problem_message(Invalid("email", Problem.EMAIL_TAKEN))})
    flash(f"Benutzer {user.email} angelegt.")
    return desk.see_other("desk_admin.users")


@blueprint.post("/users/<int:user_id>/deactivate")
@admin_only
def deactivate_user(signed: SignedIn, user_id: int) -> Response:
    db_session = db.session()
    user = accounts.user_by_id(db_session, user_id) if user_id <= MAX_ROW_ID else None
    if user is None:
        return error_response(404, private=True, message=NO_SUCH_USER)
    if signed.user is not None and signed.user.id == user.id:
        return error_response(409, private=True, message=NOT_YOURSELF)
    if not user.is_active:
        flash(f"{user.email} war schon deaktiviert.")
        return desk.see_other("desk_admin.users")
    begin_writing(db_session)
    accounts.deactivate_user(db_session, user, now(), by=signed.acting)
    db_session.commit()
    flash(f"{user.email} ist deaktiviert und überall abgemeldet.")
    return desk.see_other("desk_admin.users")


def _tokens_page(
    status: int = 200, form: TokenForm | None = None, errors: dict[str, str] | None = None
) -> Response:
    session = db.session()
    return private_page(
        "publish/tokens.html",
        status=status,
        head=desk.head("API-Tokens"),
        tokens=tokens(session),
        cities=catalog.cities(session),
        roles=TOKEN_ROLES,
        form=form or TokenForm(),
        errors=errors or {},
    )


@blueprint.get("/tokens")
@admin_only
def token_list(signed: SignedIn) -> Response:
    return _tokens_page()


@blueprint.post("/tokens")
@admin_only
def create_token_view(signed: SignedIn) -> Response:
    form = TokenForm.from_request()
    db_session = db.session()
    cities, unknown = accounts.resolve_cities(db_session, form.cities)
    errors: dict[str, str] = {}
    if form.role not in TOKEN_ROLES:
        errors["role"] = ROLE_NEEDED
    elif form.role == "publisher":
        if not form.publisher:
            errors["publisher"] = OFFICE_MISSING
        elif len(form.publisher) > _length(Publisher.name):
            errors["publisher"] = OFFICE_TOO_LONG.format(limit=_length(Publisher.name))
        # The rules of `feedsvc create-token`: no second office under a misspelt name, and
        # no token for what takes no new releases.
        elif (retired := retired_office(db_session, form.publisher)) is not None:
            errors["publisher"] = OFFICE_RETIRED.format(name=retired)
        elif (meant := office_meant(db_session, form.publisher)) is not None:
            errors["publisher"] = OFFICE_LOOKALIKE.format(meant=meant)
        if unknown:
            errors["cities"] = problem_message(Invalid("cities", Problem.CITY_UNKNOWN, ", ".join(unknown)))
        elif not cities:
            errors["cities"] = CITIES_NEEDED
        elif retired_cities := [city.name for city in cities if city.is_retired]:
            errors["cities"] = CITIES_RETIRED.format(names=", ".join(retired_cities))
    elif cities or unknown:
        errors["cities"] = CITIES_FOR_READERS
    if len(form.label) > _length(Token.label):
        errors["label"] = LABEL_TOO_LONG.format(limit=_length(Token.label))
    if errors:
        return _tokens_page(422, form, errors)
    begin_writing(db_session)
    if form.role == "publisher":
        token, secret = create_publisher_token(
            db_session,
            office_name=form.publisher,
            cities=cities,
            now=now(),
            label=form.label,
            by=signed.acting,
        )
    else:
        token, secret = create_token(
            db_session, role=form.role, now=now(), label=form.label, by=signed.acting
        )
    db_session.commit()
    return private_page(
        "publish/token_created.html",
        head=desk.head("Token erstellt"),
        token=token,
        secret=secret,
        roles=TOKEN_ROLES,
    )


@blueprint.post("/tokens/<int:token_id>/revoke")
@admin_only
def revoke_token_view(signed: SignedIn, token_id: int) -> Response:
    db_session = db.session()
    token = token_by_id(db_session, token_id) if token_id <= MAX_ROW_ID else None
    if token is None:
        return error_response(404, private=True, message=NO_SUCH_TOKEN)
    if not token.is_active:
        flash(f"Token {token.id} war schon widerrufen.")
        return desk.see_other("desk_admin.token_list")
    begin_writing(db_session)
    revoke_token(token, now(), by=signed.acting)
    db_session.commit()
    flash(f"Token {token.id} ist widerrufen; wer damit angemeldet war, ist abgemeldet.")
    return desk.see_other("desk_admin.token_list")
