"""How a page is answered: rendered once, then cached and validated like a feed.

Public pages depend on the URL only (never on the session), so shared caches may
keep them for a minute, until the next point of the expiry grid at most (as feeds:
`conditional.fresh_for`), and `If-None-Match` gets a 304 without a body. Pages of
the publish form are private and never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Response, current_app, render_template, request

from feedsvc.store.keys import CATALOG_KEY
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER, surrogate_keys
from feedsvc.web.feeds.conditional import fresh_for, longest_fresh, wants_fresh

PUBLIC_MAX_AGE = 60


def now() -> datetime:
    """The app's clock: embargoes lift when it says so (tests move it by hand)."""
    moment: datetime = current_app.config["CLOCK"]()
    return moment


def page_max_age(longest: int = PUBLIC_MAX_AGE, until: datetime | None = None) -> int:
    """max-age of a public page now: `longest` at most, ending at the next point of the
    expiry grid, and never past `until`, a public instant at which the page changes (a
    release leaving the news sitemap's window). Never an embargo lift: the max-age would
    tell of it."""
    seconds = fresh_for(now(), current_app.config, longest)
    if until is not None:
        seconds = max(0, min(seconds, int((until - now()).total_seconds())))
    return seconds


def _counts_down(max_age: int, longest: int) -> bool:
    """Whether a cache in front keeping a copy's old headers on a 304 (nginx) would keep a
    max-age meant for an earlier instant, reaching past the next grid point: it gets the
    whole answer then."""
    return max_age < longest_fresh(current_app.config, longest) and wants_fresh(request.environ)


def public_page(
    template: str,
    status: int = 200,
    max_age: int | None = None,
    subjects: Iterable[str] = (),
    **context: Any,
) -> Response:
    return public_html(render_template(template, **context), status, max_age, subjects)


def public_html(
    html: str, status: int = 200, max_age: int | None = None, subjects: Iterable[str] = ()
) -> Response:
    """A public page rendered before (and perhaps kept): validated and cacheable as any other;
    its max-age is `page_max_age()` unless given.

    `subjects` are the keys (`store.keys`) of what the page shows; every page shows
    the catalog too. They go out as surrogate keys, so a purge of any of them takes
    the page out of the caches in front."""
    max_age = page_max_age() if max_age is None else max_age
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers[SURROGATE_KEY_HEADER] = surrogate_keys([*subjects, CATALOG_KEY])
    if status == 200:
        response.add_etag()
        if not _counts_down(max_age, PUBLIC_MAX_AGE):
            response.make_conditional(request)
    return response


def public_document(
    render: Callable[[], bytes | str],
    *,
    mimetype: str,
    etag: str | None = None,
    max_age: int | None = None,
    longest: int = PUBLIC_MAX_AGE,
    subjects: Iterable[str] = (),
    last_modified: datetime | None = None,
) -> Response:
    """A public resource that is not a page (a sitemap, robots.txt), cached and validated
    like a page. With `etag` known beforehand (derived from what the document shows),
    a client holding it gets its 304 without the document being rendered. `longest`
    is its longest max-age, and its max-age `page_max_age(longest)` unless given (as for
    pages: a cache refetching a copy while the max-age counts down gets the whole document).
    `last_modified` must move with every change of the document: a client that sends only
    `If-Modified-Since` is answered by it."""
    max_age = page_max_age(longest) if max_age is None else max_age
    headers = {
        "Cache-Control": f"public, max-age={max_age}",
        SURROGATE_KEY_HEADER: surrogate_keys([*subjects, CATALOG_KEY]),
    }
    conditional = not _counts_down(max_age, longest)
    if conditional and etag is not None and request.if_none_match.contains(etag):
        response = Response(status=304, headers=headers, mimetype=mimetype)
        response.set_etag(etag)
        if last_modified is not None:
            response.last_modified = last_modified.replace(microsecond=0)
        return response
    response = Response(render(), mimetype=mimetype, headers=headers)
    if etag is None:
        response.add_etag()
    else:
        response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified.replace(microsecond=0)
    if conditional:
        response.make_conditional(request)
    return response


def private_page(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    return response
