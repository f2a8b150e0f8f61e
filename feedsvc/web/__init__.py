"""HTTP layer: blueprints for feeds, the JSON API and HTML pages."""

from __future__ import annotations

from flask import Flask

from feedsvc.web import api, feeds, health, opml, pages


def init_app(app: Flask) -> None:
    feeds.init_app(app)
    app.register_blueprint(opml.blueprint)
    api.init_app(app)
    pages.init_app(app)
    health.init_app(app)
