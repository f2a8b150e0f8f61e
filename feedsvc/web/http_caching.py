"""HTTP for pollers (CONTRACT §4): validators, 304s, Cache-Control, encodings."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, request

from feedsvc.store.feed_versions import micros
from feedsvc.web.feed_cache import RenderedFeed
from feedsvc.web.problems import problem


def client_holds(entry: RenderedFeed, if_none_match: str) -> bool:
    """Whether an If-None-Match header names this entry in any encoding, or is `*`.

    Every ETag of an entry contains its tag (a 96-bit hash), so a substring test
    answers without parsing the header: this runs on every poll.
    """
    return entry.tag in if_none_match or if_none_match.strip() == "*"


def _not_modified(entry: RenderedFeed) -> bool:
    """RFC 9110 §13.1: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = request.environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return client_holds(entry, if_none_match)
    if "HTTP_IF_MODIFIED_SINCE" not in request.environ:
        return False
    since = request.if_modified_since
    return since is not None and entry.last_modified.replace(microsecond=0) <= since


def cache_control(entry: RenderedFeed, now: datetime, *, failing: bool = False) -> str:
    config = current_app.config
    max_age: int = config["FEED_ARCHIVE_MAX_AGE" if entry.archive else "FEED_MAX_AGE"]
    stale_while_revalidate: int = config["FEED_STALE_WHILE_REVALIDATE"]
    if entry.next_lift_us is not None and not entry.archive:
        until_lift = max(0, (entry.next_lift_us - micros(now)) // 1_000_000)
        if until_lift < max_age + stale_while_revalidate:
            # Caches in front of us must not hold an embargoed release back.
            max_age, stale_while_revalidate = min(max_age, until_lift), 0
    if failing:
        max_age = 0
    parts = [f"public, max-age={max_age}"]
    if stale_while_revalidate:
        parts.append(f"stale-while-revalidate={stale_while_revalidate}")
    parts.append(f"stale-if-error={config['FEED_STALE_IF_ERROR']}")
    return ", ".join(parts)


def answer(entry: RenderedFeed, encoding: str, now: datetime, *, failing: bool = False) -> Response:
    """The response for a rendered feed: 304 when the client's copy is current."""
    headers = [*entry.headers(encoding), ("Cache-Control", cache_control(entry, now, failing=failing))]
    if _not_modified(entry):
        return Response(status=304, headers=headers)
    body = entry.encoded(encoding)
    headers += [("Content-Type", entry.media_type), ("Content-Length", str(len(body)))]
    return Response(body, headers=headers)


def unavailable(cached: RenderedFeed | None, encoding: str, now: datetime) -> Response:
    """The database cannot be read: a stale copy if this worker has one (as
    `stale-if-error` promises), else 503 with Retry-After."""
    if cached is not None:
        response = answer(cached, encoding, now, failing=True)
        response.headers["Warning"] = '110 feedsvc "Response is Stale"'
        return response
    return problem(503, "the database is unreachable; try again shortly", headers={"Retry-After": "30"})
