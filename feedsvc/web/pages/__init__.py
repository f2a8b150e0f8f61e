"""HTML pages: overviews, release pages, the feed directory and the publish form.

Server-rendered Jinja that works without JavaScript; `init_app` registers the
blueprints, the template helpers and the security headers. The German error
pages (`errors.page_for`) are answered for every HTTP error outside the API
(`feedsvc.web.http_error`).
"""

from __future__ import annotations

from flask import Flask

from feedsvc.web import urls
from feedsvc.web.pages import directory, formatting, overview, publish, release, security
from feedsvc.web.pages.head import SITE_NAME
from feedsvc.web.pages.publish_session import PublishOnlySessions


def init_app(app: Flask) -> None:
    for blueprint in (overview.blueprint, release.blueprint, directory.blueprint, publish.blueprint):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(
        subject_path=urls.subject_path,
        feed_path=urls.feed_path,
        release_path=urls.release_path,
        site_name=SITE_NAME,
    )
    app.session_interface = PublishOnlySessions()
    formatting.init_app(app)
    security.init_app(app)
