"""One URL per page and feed: other spellings of it redirect there for good (301).

- A trailing slash goes: `/cities/rosenheim/` → `/cities/rosenheim`, also for feeds
  (`/feed.atom/`) and release pages.
- A slug that is not in its canonical form is transliterated (`text.slugify_de`):
  `/cities/münchen`, `/cities/M%C3%BCnchen` and `/cities/Muenchen` → `/cities/muenchen`,
  in the page and in its feeds, as long as the canonical slug names a city, topic or
  region; an unknown slug stays a 404.

- A slug a city, topic or region had before it was renamed or merged
  (`store.catalog_history`) → the URL with the slug it has now, in one hop: pages,
  feeds in every format, city×topic, paged URLs. Looked up only when the URL found
  nothing (`former_slug_redirect`, from the 404 handler), so current URLs never pay.

The query string is kept. Release pages redirect to their canonical slug themselves
(`release.py`). The API is left alone: its clients are told by a 404, not moved.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, current_app, request, url_for
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from feedsvc import db
from feedsvc.models import City, Region, Topic
from feedsvc.publishing.input import is_slug
from feedsvc.store import catalog, catalog_history
from feedsvc.store.keys import CATALOG_KEY
from feedsvc.text import slugify_de
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER, surrogate_keys
from feedsvc.web.pages.responses import PUBLIC_MAX_AGE

SLUG_ARGUMENTS = ("city", "topic", "region")
_CANONICAL_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LEFT_ALONE = ("/api/", "/static/")
_LOOKUPS = {"city": catalog.city_by_slug, "topic": catalog.topic_by_slug, "region": catalog.region_by_slug}


def init_app(app: Flask) -> None:
    app.before_request(canonical_redirect)


def canonical_slug(slug: str) -> str:
    """The slug as catalog slugs are written; "" when nothing of it transliterates."""
    return slug if _CANONICAL_SLUG.fullmatch(slug) else slugify_de(slug, max_length=100)


def canonical_redirect() -> Response | None:
    """A 301 to the canonical URL of what was asked for, or None to answer as usual."""
    path = request.path
    if request.method not in ("GET", "HEAD") or path.startswith(_LEFT_ALONE):
        return None
    target = path.rstrip("/") or "/"
    if target != path:
        found = _route_of(target)
        if found is None:
            return None  # nothing there either: the 404 of the path asked for
    elif request.url_rule is not None and request.view_args:
        found = (request.url_rule.endpoint, dict(request.view_args))
    else:
        return None
    endpoint, arguments = found
    slugs = {name: arguments[name] for name in SLUG_ARGUMENTS if isinstance(arguments.get(name), str)}
    canonical = {name: canonical_slug(slug) for name, slug in slugs.items()}
    if not all(canonical.values()):
        return None  # nothing of a slug transliterates: unknown
    if canonical != slugs:
        target = url_for(endpoint, **{**arguments, **canonical})
    if target == path or not _all_known(canonical):
        return None  # an unknown slug stays a 404, a slash and all
    return moved_to(target)


def former_slug_redirect() -> Response | None:
    """A 301 for a page or feed that found nothing (a 404) because it names a city, topic or
    region by a slug it had before a rename or merge; None to answer the 404. A database
    that cannot be reached leaves the 404 as it is."""
    path = request.path
    if request.method not in ("GET", "HEAD") or path.startswith(_LEFT_ALONE):
        return None
    if request.url_rule is not None and request.view_args:
        found: tuple[str, dict[str, Any]] | None = (request.url_rule.endpoint, dict(request.view_args))
    else:
        found = _route_of(path.rstrip("/") or "/")
    if found is None:
        return None
    endpoint, arguments = found
    slugs = {name: arguments[name] for name in SLUG_ARGUMENTS if isinstance(arguments.get(name), str)}
    if not slugs:
        return None
    try:
        current = _current_slugs(slugs)
    except (DBAPIError, PoolTimeoutError) as error:
        if not db.is_outage(error):
            raise
        db.session().rollback()
        return None
    if current is None:
        return None
    target = url_for(endpoint, **{**arguments, **current})
    return moved_to(target) if target != path else None


def _current_slugs(slugs: dict[str, str]) -> dict[str, str] | None:
    """The slug each entry named has now (an old slug: of the entry it went to); None
    when one of them names nothing, now or before."""
    session = db.session()
    current: dict[str, str] = {}
    for name, slug in slugs.items():
        canonical = canonical_slug(slug)
        entry = catalog_history.resolve(session, name, canonical) if is_slug(canonical) else None
        if not isinstance(entry, City | Topic | Region):
            return None
        current[name] = entry.slug
    return current


def moved_to(path: str) -> Response:
    """A 301 to `path`, with the query string asked for."""
    query = request.query_string.decode("latin-1")
    headers = {
        "Location": f"{path}?{query}" if query else path,
        "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}",
        SURROGATE_KEY_HEADER: surrogate_keys([CATALOG_KEY]),
    }
    return Response(status=301, headers=headers)


def _route_of(path: str) -> tuple[str, dict[str, Any]] | None:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, arguments = adapter.match(path, method="GET")
    except HTTPException:
        return None
    return str(endpoint), dict(arguments)


def _all_known(slugs: dict[str, str]) -> bool:
    session = db.session()
    return all(_LOOKUPS[name](session, slug) is not None for name, slug in slugs.items())
