"""HTTP for pollers (CONTRACT §4): validators, 304s, Cache-Control, encodings."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from flask import Response, current_app, request

from feedsvc.store.feed_versions import micros
from feedsvc.web.feed_cache import RenderedFeed
from feedsvc.web.problems import problem


def _not_modified(entry: RenderedFeed) -> bool:
    """RFC 9110 §13.1: If-None-Match wins over If-Modified-Since when both are sent."""
    if request.if_none_match:
        tags = {entry.etag(encoding) for encoding in ("identity", "gzip", "br")}
        return request.if_none_match.star_tag or any(tag in request.if_none_match for tag in tags)
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
    not_modified = _not_modified(entry)
    body = b"" if not_modified else entry.encoded(encoding)
    response = Response(body, status=304 if not_modified else 200, content_type=entry.media_type)
    headers = response.headers
    headers["ETag"] = f'"{entry.etag(encoding)}"'
    headers["Last-Modified"] = format_datetime(entry.last_modified.replace(microsecond=0), usegmt=True)
    headers["Cache-Control"] = cache_control(entry, now, failing=failing)
    headers["Vary"] = "Accept-Encoding"
    headers["Link"] = ", ".join(f'<{href}>; rel="{rel}"' for href, rel in entry.links)
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    if not_modified:
        response.headers.pop("Content-Type", None)
        response.headers.pop("Content-Length", None)
    return response


def unavailable(cached: RenderedFeed | None, encoding: str, now: datetime) -> Response:
    """The database cannot be read: a stale copy if this worker has one (as
    `stale-if-error` promises), else 503 with Retry-After."""
    if cached is not None:
        response = answer(cached, encoding, now, failing=True)
        response.headers["Warning"] = '110 feedsvc "Response is Stale"'
        return response
    return problem(503, "the database is unreachable; try again shortly", headers={"Retry-After": "30"})
