"""HTTP layer: blueprints for feeds, the JSON API and HTML pages."""

from __future__ import annotations

from flask import Flask

from feedsvc.web import api, feeds


def init_app(app: Flask) -> None:
    app.register_blueprint(feeds.blueprint)
    api.init_app(app)
