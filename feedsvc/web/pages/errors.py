"""German error pages: what a reader sees for an unknown page, a retracted release,
a malformed link or a form that expired.

Under /api/ errors stay problem+json (docs/api.md#errors): the API owns those answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, request
from werkzeug.exceptions import HTTPException

from feedsvc.web import urls
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.responses import private_page, public_page

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Ungültige Anfrage", "Die Adresse oder das Formular enthält Angaben, die wir nicht verstehen."),
    403: ("Keine Berechtigung", "Mit Ihrer Anmeldung dürfen Sie diese Pressemitteilung nicht bearbeiten."),
    404: ("Seite nicht gefunden", "Diese Seite gibt es nicht, oder sie ist noch nicht veröffentlicht."),
    405: ("Nicht erlaubt", "Diese Seite lässt sich so nicht aufrufen."),
    413: (
        "Zu große Dateien",
        "Die gesendeten Dateien sind zusammen zu groß. Bitte gehen Sie zurück und senden Sie "
        "kleinere Bilder oder weniger Dateien auf einmal; die Grenze steht beim Hochladen im Formular.",
    ),
    410: (
        "Pressemitteilung zurückgezogen",
        "Die herausgebende Stelle hat diese Pressemitteilung zurückgezogen. Sie ist nicht mehr verfügbar.",
    ),
}
FALLBACK = ("Fehler", "Bei dieser Anfrage ist etwas schiefgegangen.")


def error_response(
    status: int,
    *,
    private: bool = False,
    max_age: int | None = None,
    back: tuple[str, str] | None = None,
    message: str | None = None,
    subjects: Iterable[str] = (),
    reason: str | None = None,
) -> Response:
    """The German error page for `status`; `back` is a (label, path) link to go on from;
    `subjects`: the keys whose change may end the error (a release's, say); `reason`: why a
    retracted release was withdrawn, in its press office's words. Cached like a
    page (`responses.page_max_age`) unless `max_age` says otherwise."""
    title, default_message = MESSAGES.get(status, FALLBACK)
    message = message or default_message
    head = Head(title=title, description=message, canonical=urls.absolute(request.path), noindex=True)
    context = {
        "head": head,
        "code": status,
        "title": title,
        "message": message,
        "back": back,
        "reason": reason,
    }
    if private:
        return private_page("pages/error.html", status=status, **context)
    return public_page("pages/error.html", status=status, max_age=max_age, subjects=subjects, **context)


def page_for(error: HTTPException) -> Response:
    """An HTTP error outside the API (routing misses, wrong methods, huge forms) as a German page."""
    assert error.code is not None
    response = error_response(error.code, max_age=None if error.code in (404, 405, 410) else 0)
    if error.code == 405 and (allowed := getattr(error, "valid_methods", None)):
        response.headers["Allow"] = ", ".join(allowed)
    return response
