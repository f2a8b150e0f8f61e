"""Serving feeds to pollers: routes, what goes into a feed, rendering, the per-worker
cache, conditional GET, and the WSGI poll front that answers current polls before Flask.

`init_app` registers the routes and the cache; `create_app` puts the front
(`front.PollFront`) before the app, where it can be seen with the other wrappers.
"""

from __future__ import annotations

from flask import Flask

from feedsvc.web.feeds import cache, views


def init_app(app: Flask) -> None:
    cache.install(app)
    app.register_blueprint(views.blueprint)
