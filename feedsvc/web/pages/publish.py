"""`/publish`: press offices sign in with their API token, then list, create,
correct and retract the releases of their cities (CONTRACT §6 scope).

Every POST must carry the session's CSRF secret; every response is private and
never stored. Writes go through `publish_actions`, i.e. the API's own rules.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from flask import Blueprint, Response, current_app, flash, request, url_for

from feedsvc import db
from feedsvc.models import Release, Token
from feedsvc.store import catalog
from feedsvc.store.browse import releases_in_cities
from feedsvc.store.releases import release_by_id, retract_release
from feedsvc.store.scope import Cursor
from feedsvc.store.tokens import may_write_city
from feedsvc.web import urls
from feedsvc.web.feed_content import decode_cursor, encode_cursor
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.publish_actions import (
    create_from_input,
    parse_change,
    parse_new,
    update_from_input,
    writable_cities,
)
from feedsvc.web.pages.publish_form import (
    ReleaseForm,
    empty_form,
    field_labels,
    form_from_release,
    form_from_request,
)
from feedsvc.web.pages.publish_session import csrf_ok, csrf_token, current_token, sign_in, sign_out
from feedsvc.web.pages.release import MAX_RELEASE_ID
from feedsvc.web.pages.responses import now, private_page

blueprint = Blueprint("publish", __name__, url_prefix="/publish")

LIST_LIMIT = 50
CSRF_FAILED = (
    "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. "
    "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
)
P = ParamSpec("P")


@blueprint.before_request
def _check_csrf() -> Response | None:
    if request.method == "POST" and not csrf_ok():
        return error_response(400, private=True, message=CSRF_FAILED)
    return None


@blueprint.after_request
def _never_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.context_processor
def _form_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token}


def _see_other(endpoint: str, **values: Any) -> Response:
    return Response(status=303, headers={"Location": url_for(endpoint, **values)})


def signed_in(view: Callable[Concatenate[Token, P], Response]) -> Callable[P, Response]:
    """Runs `view` with the signed-in token; without one, to the sign-in form."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        token = current_token()
        if token is None:
            return _see_other("publish.dashboard")
        return view(token, *args, **kwargs)

    return wrapper


def _head(title: str) -> Head:
    return Head(title=title, description="", canonical=urls.absolute(request.path), noindex=True)


def _sign_in_page(status: int = 200, error: str = "") -> Response:
    return private_page("publish/sign_in.html", status=status, head=_head("Anmelden"), error=error)


def _form_page(
    token: Token, form: ReleaseForm, release: Release | None = None, status: int = 200
) -> Response:
    title = "Pressemitteilung bearbeiten" if release else "Neue Pressemitteilung"
    return private_page(
        "publish/form.html",
        status=status,
        head=_head(title),
        heading=title,
        form=form,
        release=release,
        cities=writable_cities(db.session(), token),
        topics=catalog.topics(db.session()),
        labels=field_labels(form),
    )


def _own_release(token: Token, release_id: int) -> Release | Response:
    release = release_by_id(db.session(), release_id) if release_id <= MAX_RELEASE_ID else None
    if release is None:
        return error_response(404, private=True)
    if not may_write_city(token, release.city):
        return error_response(403, private=True)
    if release.retracted_at is not None:
        return error_response(410, private=True)
    return release


@blueprint.get("")
def dashboard() -> Response:
    token = current_token()
    if token is None:
        return _sign_in_page()
    after = decode_cursor(request.args.get("after", ""))
    cities = writable_cities(db.session(), token)
    city_ids = None if token.role == "admin" else [city.id for city in cities]
    rows = releases_in_cities(db.session(), city_ids, LIST_LIMIT + 1, after)
    return private_page(
        "publish/list.html",
        head=_head("Ihre Pressemitteilungen"),
        token=token,
        cities=cities,
        releases=rows[:LIST_LIMIT],
        older=_older_page(rows),
        now=now(),
    )


def _older_page(rows: list[Release]) -> str | None:
    if len(rows) <= LIST_LIMIT:
        return None
    last = rows[LIST_LIMIT - 1]
    return url_for("publish.dashboard", after=encode_cursor(Cursor(last.published_at, last.id)))


@blueprint.post("/sign-in")
def sign_in_view() -> Response:
    if sign_in(request.form.get("token", "")) is None:
        return _sign_in_page(
            422, "Dieses Token ist unbekannt, widerrufen oder nicht zum Veröffentlichen berechtigt."
        )
    return _see_other("publish.dashboard")


@blueprint.post("/sign-out")
def sign_out_view() -> Response:
    sign_out()
    flash("Sie sind abgemeldet.")
    return _see_other("publish.dashboard")


@blueprint.get("/new")
@signed_in
def new_form(token: Token) -> Response:
    cities = writable_cities(db.session(), token)
    return _form_page(token, empty_form(cities[0].slug if len(cities) == 1 else ""))


@blueprint.post("/new")
@signed_in
def create(token: Token) -> Response:
    form = form_from_request(request.form)
    data = parse_new(form)
    if data is None:
        return _form_page(token, form, status=422)
    session = db.session()
    db.begin_writing(session)  # after the checks, so a large body never holds the write lock
    release = create_from_input(session, token, form, data, now(), current_app.config["TAG_AUTHORITY"])
    if release is None:
        session.rollback()
        return _form_page(token, form, status=422)
    session.commit()
    flash(f"Veröffentlicht: {release.title}")
    return _see_other("publish.dashboard")


@blueprint.get("/<int:release_id>/edit")
@signed_in
def edit_form(token: Token, release_id: int) -> Response:
    release = _own_release(token, release_id)
    if isinstance(release, Response):
        return release
    return _form_page(token, form_from_release(release), release)


@blueprint.post("/<int:release_id>/edit")
@signed_in
def update(token: Token, release_id: int) -> Response:
    release = _own_release(token, release_id)
    if isinstance(release, Response):
        return release
    form = form_from_request(request.form, {image.url: image.length for image in release.images})
    patch = parse_change(form, release)
    if patch is None:
        return _form_page(token, form, release, status=422)
    db.begin_writing(db.session())
    release = _own_release(token, release_id)  # again: it may have changed meanwhile
    if isinstance(release, Response):
        return release
    if update_from_input(db.session(), token, release, form, patch, now()) is None:
        db.session().rollback()
        return _form_page(token, form, release, status=422)
    db.session().commit()
    flash(f"Gespeichert: {release.title}")
    return _see_other("publish.dashboard")


@blueprint.get("/<int:release_id>/retract")
@signed_in
def retract_form(token: Token, release_id: int) -> Response:
    release = _own_release(token, release_id)
    if isinstance(release, Response):
        return release
    return private_page("publish/retract.html", head=_head("Zurückziehen"), release=release)


@blueprint.post("/<int:release_id>/retract")
@signed_in
def retract(token: Token, release_id: int) -> Response:
    db.begin_writing(db.session())
    release = _own_release(token, release_id)
    if isinstance(release, Response):
        return release
    retract_release(db.session(), release, now())
    db.session().commit()
    flash(f"Zurückgezogen: {release.title}")
    return _see_other("publish.dashboard")
