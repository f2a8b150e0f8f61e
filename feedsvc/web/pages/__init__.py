"""HTML pages: overviews and search, release pages, the feed directory, sitemaps and
robots.txt, the legal pages, the publish form, and feeds as a browser shows them.

Server-rendered Jinja that works without JavaScript; `init_app` registers the
blueprints, the template helpers and the security headers. The German error
pages (`errors.page_for`) are answered for every HTTP error outside the API
(`feedsvc.web.http_error`).
"""

from __future__ import annotations

from flask import Flask

from feedsvc import paths
from feedsvc.web.pages import (
    desk_account,
    desk_admin,
    desk_catalog,
    desk_sign_in,
    directory,
    formatting,
    legal,
    official_keys,
    overview,
    publish,
    redirects,
    release,
    search,
    security,
    sitemaps,
)
from feedsvc.web.pages.publish_session import PublishOnlySessions


def init_app(app: Flask) -> None:
    blueprints = (
        overview.blueprint,
        release.blueprint,
        directory.blueprint,
        sitemaps.blueprint,
        publish.blueprint,
        desk_sign_in.blueprint,
        desk_account.blueprint,
        desk_admin.blueprint,
        desk_catalog.blueprint,
        official_keys.blueprint,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(
        subject_path=paths.subject_path,
        feed_path=paths.feed_path,
        release_path=paths.release_path,
        default_search_box=search.DEFAULT_BOX,
    )
    app.session_interface = PublishOnlySessions()
    legal.init_app(app)
    formatting.init_app(app)
    security.init_app(app)
    redirects.init_app(app)
