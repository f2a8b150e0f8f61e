"""HTTP layer, the only package that knows Flask: feeds, the JSON API, HTML pages,
OPML and health, and the one handler that answers every HTTP error."""

from __future__ import annotations

from flask import Flask, Response
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.routing import IntegerConverter

from feedsvc.web import api, feeds, health, media, metrics, opml, pages, site
from feedsvc.web.pages.errors import page_for
from feedsvc.web.pages.redirects import former_slug_redirect


class AsciiIntConverter(IntegerConverter):
    """`<int:…>` of ASCII digits only: werkzeug's own (`\\d+`, `int()`) accepts "١" and "１"
    as aliases of 1. Any other path is no resource (404); ids too large for the database are
    the views' to refuse."""

    regex = r"[0-9]+"


def init_app(app: Flask) -> None:
    # Before any route is added: rules are compiled with the converters known then.
    app.url_map.converters["int"] = AsciiIntConverter
    metrics.init_app(app)
    feeds.init_app(app)
    app.register_blueprint(opml.blueprint)
    api.init_app(app)
    media.init_app(app)
    pages.init_app(app)
    site.init_app(app)
    health.init_app(app)
    app.register_error_handler(HTTPException, http_error)
    app.after_request(_nosniff)


def _nosniff(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def http_error(error: HTTPException) -> Response | HTTPException:
    """Every HTTP error in the language of its part: problem+json under /api/ (docs/api.md#errors),
    a German page everywhere else. A host name not in TRUSTED_HOSTS gets werkzeug's plain
    400: links on a page of ours would have to name that host."""
    if error.code is None or isinstance(error, SecurityError) or request_ctx.url_adapter is None:
        # No URL adapter (a host werkzeug could not read): no page of ours can be built.
        return error
    if api.is_api_request():
        return api.problem_for(error)
    if error.code == 404 and (moved := former_slug_redirect()) is not None:
        # A slug a city, topic or region had before a rename or merge: looked up only now,
        # when the URL found nothing, so that current URLs never pay for it.
        return moved
    return page_for(error)
