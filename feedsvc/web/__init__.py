"""HTTP layer: blueprints for feeds, the JSON API and HTML pages."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from feedsvc.web import api, feeds, health, opml, pages


def init_app(app: Flask) -> None:
    feeds.init_app(app)
    app.register_blueprint(opml.blueprint)
    api.init_app(app)
    pages.init_app(app)
    health.init_app(app)
    proxies: int = app.config["PROXY_COUNT"]
    if proxies:
        # Behind nginx the client's address (for the poll limit) and the scheme
        # and host (for links when FEEDSVC_BASE_URL is unset) come from its headers.
        # Outermost, so the poll front sees the fixed request too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
