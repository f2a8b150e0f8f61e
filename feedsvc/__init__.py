"""feedsvc: press releases of city press offices as Atom, RSS and JSON feeds.

`create_app` wires the parts together; each part hooks itself in with `init_app`,
and the WSGI wrappers around Flask are put on here, where their order can be seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from feedsvc import cli, config, db, web
from feedsvc.web.feeds.front import PollFront
from feedsvc.web.guard import RequestGuard
from feedsvc.web.pages.feed_view import FeedView


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    config.configure(app, test_config)
    db.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    _wrap(app)
    return app


def _wrap(app: Flask) -> None:
    """The WSGI wrappers, innermost first.

    The poll front answers polls of current feeds before Flask is involved. Around
    it, feeds a browser navigates to are labelled so that the browser shows them as
    a page (`web.pages.feed_view`), whoever answered. The proxy fix goes outermost,
    so that the front too sees the scheme and host a trusted proxy
    (FEEDSVC_PROXY_COUNT of them) reported. Around everything, the request guard
    (`web.guard`) refuses requests no part can answer and labels every response nosniff.
    """
    app.wsgi_app = PollFront(app, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = FeedView(app.wsgi_app)  # type: ignore[method-assign]
    proxies: int = app.config["PROXY_COUNT"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    app.wsgi_app = RequestGuard(app.wsgi_app)  # type: ignore[method-assign]
