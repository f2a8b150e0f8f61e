"""HTML pages: overviews and search, release pages (and each release as ninjs), the feed
directory, sitemaps and robots.txt, the legal pages, the publish form, and feeds as a
browser shows them.

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
    desk_audit,
    desk_catalog,
    desk_drafts,
    desk_previews,
    desk_sign_in,
    desk_webhooks,
    directory,
    editor,
    email_alerts,
    formatting,
    legal,
    official_keys,
    overview,
    preview,
    publish,
    redirects,
    release,
    release_ninjs,
    search,
    security,
    sitemaps,
    subscriptions,
)
from feedsvc.web.pages.publish_session import PublishOnlySessions


def init_app(app: Flask) -> None:
    blueprints = (
        overview.blueprint,
        release.blueprint,
        release_ninjs.blueprint,
        directory.blueprint,
        sitemaps.blueprint,
        publish.blueprint,
        desk_sign_in.blueprint,
        desk_account.blueprint,
        desk_admin.blueprint,
        desk_catalog.blueprint,
        desk_audit.blueprint,
        official_keys.blueprint,
        subscriptions.blueprint,
        desk_drafts.blueprint,
        desk_previews.blueprint,
        preview.blueprint,
        email_alerts.blueprint,
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
    desk_webhooks.init_app(app)
    formatting.init_app(app)
    editor.init_app(app)
    security.init_app(app)
    redirects.init_app(app)
