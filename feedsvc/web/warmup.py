"""What a server's worker would otherwise leave to its first requests, done before it
takes any (`feedsvc serve` calls `warm_up` in each worker, after the fork).

- the ORM's mappers are configured;
- every page template is compiled (Jinja compiles a template on its first use, ~10–40 ms each);
- each kind of page is rendered once in-process, the answers thrown away: SQLAlchemy
  compiles each statement on its first execution, and a release page alone runs a dozen;
- what is alive then (modules, compiled templates and statements) is moved out of the
  garbage collector's way (`gc.freeze`): otherwise the first full collection, during some
  early request, walks all of it (~100 ms).

Without a database to read (not migrated yet, unreachable) the pages are skipped and the
first requests pay as before. Tests and the CLI build the app without any of this.
"""

from __future__ import annotations

import gc
import logging
import time

from flask import Flask
from sqlalchemy.orm import configure_mappers

from feedsvc import db, paths
from feedsvc.store.releases import newest_visible
from feedsvc.store.scope import Scope

log = logging.getLogger(__name__)
SEARCH_PATH = "/?q=Aufwaermsuchbegriff"


def page_templates(app: Flask) -> list[str]:
    """The templates Flask renders: all but the mail templates, which are the worker's
    (`worker.mail_text`, with filters of their own)."""
    return app.jinja_env.list_templates(filter_func=lambda name: not name.startswith("mail/"))


def warm_up(app: Flask) -> None:
    started = time.perf_counter()
    configure_mappers()
    env = app.jinja_env
    for name in page_templates(app):
        env.get_template(name)
    try:
        shown = sample_paths(app)
        base_url = app.config["BASE_URL"] or "http://localhost"
        for path in shown:
            with app.test_request_context(path, base_url=base_url):
                app.full_dispatch_request()
    except Exception as error:  # the database may not be there yet: first requests pay then
        log.warning("warm-up rendered no pages: %s", error)
        shown = []
    gc.collect()
    gc.freeze()
    log.info("warmed up in %.0f ms: %s", (time.perf_counter() - started) * 1000, ", ".join(shown))


def sample_paths(app: Flask) -> list[str]:
    """One page of each kind, around the newest release: the front page, its city, region,
    first topic, the release itself, and a search (for a word no release holds: a common
    one would read much of the index at a million releases)."""
    with app.app_context():
        session = db.session()
        newest = newest_visible(session, Scope(), app.config["CLOCK"](), 1, None)
        if not newest:
            return ["/", SEARCH_PATH]
        release = newest[0]
        shown = [
            "/",
            paths.subject_path(city=release.city),
            paths.subject_path(region=release.city.region),
            *(paths.subject_path(topic=topic) for topic in release.topics[:1]),
            paths.release_path(release),
            SEARCH_PATH,
        ]
        session.rollback()
    return shown
