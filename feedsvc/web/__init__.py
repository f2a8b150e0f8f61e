"""HTTP layer: blueprints for feeds, the JSON API and HTML pages."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from feedsvc.web import api, feeds, health, opml, pages
from feedsvc.web.pages.errors import page_for


def init_app(app: Flask) -> None:
    feeds.init_app(app)
    app.register_blueprint(opml.blueprint)
    api.init_app(app)
    pages.init_app(app)
    health.init_app(app)
    app.register_error_handler(HTTPException, http_error)
    proxies: int = app.config["PROXY_COUNT"]
    if proxies:
        # Behind nginx the client's address (for the poll limit) and the scheme
        # and host (for links when FEEDSVC_BASE_URL is unset) come from its headers.
        # Outermost, so the poll front sees the fixed request too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]


def http_error(error: HTTPException) -> Response | HTTPException:
    """Every HTTP error in the language of its part: problem+json under /api/ (CONTRACT §5),
    a German page everywhere else. A host name not in TRUSTED_HOSTS gets werkzeug's plain
    400: links on a page of ours would have to name that host."""
    if error.code is None or isinstance(error, SecurityError):
        return error
    return api.problem_for(error) if api.is_api_request() else page_for(error)
