"""German error pages: what a reader sees for an unknown page, a retracted release,
a malformed link or a form that expired.

Under /api/ errors stay problem+json (CONTRACT §5): the API owns those answers.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from feedsvc.web import urls
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.responses import PUBLIC_MAX_AGE, private_page, public_page
from feedsvc.web.problems import problem

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Ungültige Anfrage", "Die Adresse oder das Formular enthält Angaben, die wir nicht verstehen."),
    403: ("Keine Berechtigung", "Mit Ihrer Anmeldung dürfen Sie diese Pressemitteilung nicht bearbeiten."),
    404: ("Seite nicht gefunden", "Diese Seite gibt es nicht, oder sie ist noch nicht veröffentlicht."),
    405: ("Nicht erlaubt", "Diese Seite lässt sich so nicht aufrufen."),
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
    max_age: int = PUBLIC_MAX_AGE,
    back: tuple[str, str] | None = None,
    message: str | None = None,
) -> Response:
    """The German error page for `status`; `back` is a (label, path) link to go on from."""
    title, default_message = MESSAGES.get(status, FALLBACK)
    message = message or default_message
    head = Head(title=title, description=message, canonical=urls.absolute(request.path), noindex=True)
    context = {"head": head, "code": status, "title": title, "message": message, "back": back}
    if private:
        return private_page("pages/error.html", status=status, **context)
    return public_page("pages/error.html", status=status, max_age=max_age, **context)


def page_error(error: HTTPException) -> Response:
    return error_response(error.code or 500)


def not_found(error: HTTPException) -> Response:
    """Any 404 outside the API, routing misses included, as a German page."""
    if request.path.startswith("/api/"):
        return problem(404, error.description)
    return error_response(404)


def init_app(app: Flask) -> None:
    app.register_error_handler(404, not_found)
