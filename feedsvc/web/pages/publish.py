"""`/publish`: press offices sign in with their API token, then list, create,
correct and retract the releases of their cities (docs/api.md#tokens-and-scope).

Every POST must carry the session's CSRF secret; every response is private and
never stored. Writes are `feedsvc.publishing.service`'s, the API's own rules;
here their outcomes become pages, messages in German on the form or flashed.

A new release's form publishes once however often it is sent: its submission key
is the release's external_id, and a repeat is answered like the first success.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from flask import Blueprint, Response, current_app, flash, request, url_for

from feedsvc import db
from feedsvc.models import City, Release, Token
from feedsvc.publishing.service import Conflict, ConflictReason, Publishing, RefusalKind, Refused
from feedsvc.publishing.writers import TokenWriter
from feedsvc.store import catalog
from feedsvc.store.browse import releases_in_cities
from feedsvc.store.releases import release_by_id
from feedsvc.store.scope import Cursor, decode_cursor, encode_cursor
from feedsvc.store.tokens import may_write_city
from feedsvc.web import urls
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.publish_form import (
    ReleaseForm,
    apply_errors,
    empty_form,
    field_labels,
    form_from_release,
    form_from_request,
    new_submission_key,
    parse_change,
    parse_new,
)
from feedsvc.web.pages.publish_messages import OUT_OF_SCOPE, already_published_message, conflict_message
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
# Refusals of the release itself are answered with an error page, as when it is opened.
_STATUS_OF_RELEASE_REFUSAL = {
    RefusalKind.NO_SUCH_RELEASE: 404,
    RefusalKind.RELEASE_OUT_OF_SCOPE: 403,
    RefusalKind.RETRACTED: 410,
}


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


def _publishing() -> Publishing:
    return Publishing(db.session(), now=now(), tag_authority=current_app.config["TAG_AUTHORITY"])


def _writable_cities(token: Token) -> Sequence[City]:
    return catalog.cities(db.session()) if token.role == "admin" else token.cities


def _head(title: str) -> Head:
    return Head(title=title, description="", canonical=urls.absolute(request.path), noindex=True)


def _sign_in_page(status: int = 200, error: str = "") -> Response:
    return private_page("publish/sign_in.html", status=status, head=_head("Anmelden"), error=error)


def _form_page(
    token: Token,
    form: ReleaseForm,
    release: Release | None = None,
    status: int = 200,
    earlier: Release | None = None,
) -> Response:
    title = "Pressemitteilung bearbeiten" if release else "Neue Pressemitteilung"
    if release is None and not form.submission_key:
        # A POST from a page without a key (opened before keys existed) is shown again with
        # one, so that from now on sending it twice publishes once.
        form.submission_key = new_submission_key()
    return private_page(
        "publish/form.html",
        status=status,
        head=_head(title),
        heading=title,
        form=form,
        release=release,
        earlier=earlier,
        cities=_writable_cities(token),
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


def _show_refusal(form: ReleaseForm, refused: Refused) -> None:
    """Puts a refusal of the city or topics the form names next to those fields."""
    if refused.kind is RefusalKind.CITY_OUT_OF_SCOPE:
        form.add_error("city", OUT_OF_SCOPE)
    else:
        apply_errors(form, refused.errors)


def _release_refused(refused: Refused) -> Response:
    return error_response(_STATUS_OF_RELEASE_REFUSAL[refused.kind], private=True)


@blueprint.get("")
def dashboard() -> Response:
    token = current_token()
    if token is None:
        return _sign_in_page()
    after = decode_cursor(request.args.get("after", ""))
    cities = _writable_cities(token)
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
    cities = _writable_cities(token)
    return _form_page(token, empty_form(cities[0].slug if len(cities) == 1 else ""))


@blueprint.post("/new")
@signed_in
def create(token: Token) -> Response:
    form = form_from_request(request.form)
    data = parse_new(form)
    if data is None:
        return _form_page(token, form, status=422)  # keeps its key: corrected and sent, still one form
    # Its submission key is the external_id: the service answers a form sent again (a double
    # click racing itself included) with the release it made the first time.
    outcome = _publishing().publish(TokenWriter(token), data)
    if isinstance(outcome, Refused):
        _show_refusal(form, outcome)
        return _form_page(token, form, status=422)
    if isinstance(outcome, Conflict):
        return _conflict_answer(token, form, outcome)
    if outcome.created:
        flash(f"Veröffentlicht: {outcome.release.title}")
    else:
        # Answered exactly as the first POST was: to the list, which shows the release once.
        flash(already_published_message(outcome.release))
    return _see_other("publish.dashboard")


def _conflict_answer(token: Token, form: ReleaseForm, conflict: Conflict) -> Response:
    """The answer to a changed form whose submission key made a release, or whose release was
    retracted since. 409, not 422: every field is valid, the submission conflicts with the
    release its key already made (the API's status for the same case). The form comes back
    with what was typed and a fresh key, so sending it once more, knowingly, publishes it as a
    release of its own (and only once)."""
    form.add_error("", conflict_message(conflict))
    form.submission_key = new_submission_key()
    existing = conflict.existing if conflict.reason is ConflictReason.OTHER_CONTENT else None
    return _form_page(token, form, status=409, earlier=existing)


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
    outcome = _publishing().correct(TokenWriter(token), release_id, patch)
    if isinstance(outcome, Refused):
        if outcome.kind in _STATUS_OF_RELEASE_REFUSAL:  # changed meanwhile
            return _release_refused(outcome)
        _show_refusal(form, outcome)
        return _form_page(token, form, release, status=422)
    flash(f"Gespeichert: {outcome.release.title}")
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
    release = _own_release(token, release_id)  # answered as its pages are: 403 before 410
    if isinstance(release, Response):
        return release
    outcome = _publishing().retract(TokenWriter(token), release_id)
    if isinstance(outcome, Refused):  # changed meanwhile
        return _release_refused(outcome)
    flash(f"Zurückgezogen: {outcome.release.title}")
    return _see_other("publish.dashboard")
