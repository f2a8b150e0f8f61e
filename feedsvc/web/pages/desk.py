"""What every page of the desk (`/publish`) shares: the CSRF check of every POST,
answers that are private and never stored, and views that need someone signed in
(`signed_in`) or an admin (`admin_only`).

Each desk blueprint is made by `blueprint`, so none can forget the first two.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from flask import Blueprint, Response, request, url_for

from feedsvc import db
from feedsvc.models import Release
from feedsvc.store.releases import release_by_id
from feedsvc.web import urls
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.publish_session import SignedIn, csrf_ok, csrf_token, current

CSRF_FAILED = (
    "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. "
    "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
)
ADMINS_ONLY = "Diese Seite ist der Administration vorbehalten."
# Ids are INTEGER columns, 32 bits on PostgreSQL: a larger id names no row, and the
# database refuses to even compare with it.
MAX_ROW_ID = 2**31 - 1
P = ParamSpec("P")


def blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under /publish whose POSTs are CSRF-checked and whose answers are never stored."""
    made = Blueprint(name, import_name, url_prefix="/publish")
    made.before_request(_check_csrf)
    made.after_request(_never_store)
    made.context_processor(_desk_globals)
    return made


def _check_csrf() -> Response | None:
    if request.method == "POST" and not csrf_ok():
        return error_response(400, private=True, message=CSRF_FAILED)
    return None


def _never_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _desk_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "signed_in": current()}


def see_other(endpoint: str, **values: Any) -> Response:
    return Response(status=303, headers={"Location": url_for(endpoint, **values)})


def head(title: str) -> Head:
    return Head(title=title, description="", canonical=urls.absolute(request.path), noindex=True)


def signed_in(view: Callable[Concatenate[SignedIn, P], Response]) -> Callable[P, Response]:
    """Runs `view` with whoever is signed in; without anyone, to the sign-in form."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        found = current()
        if found is None:
            return see_other("publish.dashboard")
        return view(found, *args, **kwargs)

    return wrapper


def admin_only(view: Callable[Concatenate[SignedIn, P], Response]) -> Callable[P, Response]:
    """Like `signed_in`, and 403 for anyone who is not an admin (user or token)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        found = current()
        if found is None:
            return see_other("publish.dashboard")
        if not found.is_admin:
            return error_response(403, private=True, message=ADMINS_ONLY)
        return view(found, *args, **kwargs)

    return wrapper


def own_release(signed: SignedIn, release_id: int) -> Release | Response:
    """A release of the signer's cities that still stands; else the page the desk answers
    with: 404 for none, 403 for another city's, 410 for a retracted one (in that order)."""
    release = release_by_id(db.session(), release_id) if release_id <= MAX_ROW_ID else None
    if release is None:
        return error_response(404, private=True)
    if not signed.may_write(release.city):
        return error_response(403, private=True)
    if release.retracted_at is not None:
        return error_response(410, private=True)
    return release
