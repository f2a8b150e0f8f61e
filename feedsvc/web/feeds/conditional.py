"""HTTP for pollers (docs/feeds.md#polling-http-caching): validators, 304s, Cache-Control, encodings.

Framework-free on purpose: the feed view (inside Flask) and the poll front
(before Flask) both build their reply here, from the WSGI environ, so a poll is
answered the same whichever of the two answers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from werkzeug.http import parse_accept_header, parse_date

from feedsvc.store.changes import micros
from feedsvc.web.feeds.cache import ENCODINGS, RenderedFeed

WSGIEnviron = Mapping[str, Any]


@dataclass(frozen=True)
class Reply:
    """A complete HTTP answer: status, headers and the body to send (empty for 304 and HEAD)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


@lru_cache(maxsize=256)
def encoding_for(accept_encoding: str) -> str:
    """The best encoding a client accepts: brotli, then gzip, else none.

    Clients send few distinct Accept-Encoding values, so answers are remembered.
    """
    if not accept_encoding:
        return "identity"
    accepted = parse_accept_header(accept_encoding)
    for encoding in ENCODINGS[:-1]:
        if accepted.quality(encoding) > 0:
            return encoding
    return "identity"


def client_holds(entry: RenderedFeed, if_none_match: str) -> bool:
    """Whether an If-None-Match header names this entry in any encoding, or is `*`.

    Every ETag of an entry contains its tag (a 96-bit hash), so a substring test
    answers without parsing the header: this runs on every poll.
    """
    return entry.tag in if_none_match or if_none_match.strip() == "*"


def wants_fresh(environ: WSGIEnviron) -> bool:
    """Whether the request says `Cache-Control: no-cache`: a cache in front refetching
    after a purge (deploy/varnish, deploy/nginx) must get the feed as of now, so the
    change counters are read again rather than trusted for FEEDSVC_FEED_STATE_TTL."""
    return "no-cache" in environ.get("HTTP_CACHE_CONTROL", "")


def not_modified(entry: RenderedFeed, environ: WSGIEnviron) -> bool:
    """RFC 9110 §13.1: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return client_holds(entry, if_none_match)
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if not if_modified_since:
        return False
    since = parse_date(if_modified_since)
    return since is not None and entry.last_modified.replace(microsecond=0) <= since


def until_grid(now: datetime, grid: int) -> int:
    """Whole seconds from `now` to the next point of the expiry grid (every `grid` seconds
    since the epoch: with 60, each full minute), rounded down so as never to reach past it."""
    grid_us = grid * 1_000_000
    now_us = micros(now)
    return ((now_us // grid_us + 1) * grid_us - now_us) // 1_000_000


def longest_fresh(config: Mapping[str, Any], longest: int | None = None) -> int:
    """The longest max-age a public answer ever gets: `longest` (a feed's FEEDSVC_FEED_MAX_AGE)
    and never more than the expiry grid, whose points no freshness crosses."""
    most: int = config["FEED_MAX_AGE"] if longest is None else longest
    return min(most, int(config["FEED_EXPIRY_GRID"]))


def fresh_for(now: datetime, config: Mapping[str, Any], longest: int | None = None) -> int:
    """max-age of a public answer given at `now`: it ends at the next point of the expiry grid
    (or sooner, after `longest`), the same for every feed and page whatever is scheduled.

    It never depends on a pending embargo lift, which would tell anybody that something is
    scheduled, and when. An embargo on a grid point (10:00:00) is exact for every client; one
    between points is late by less than the grid for clients that keep copies (the caches in
    front are purged at the lift or revalidate every second; docs/feeds.md#polling-http-caching)."""
    return min(longest_fresh(config, longest), until_grid(now, int(config["FEED_EXPIRY_GRID"])))


def lifetime(entry: RenderedFeed, now: datetime, config: Mapping[str, Any]) -> tuple[int, int, bool]:
    """max-age and stale-while-revalidate of an answer now, and whether the max-age is less
    than its longest (counting down to the next grid point).

    An archive page holds complete, older releases, which no lift changes: its long max-age
    and stale-while-revalidate are kept. A feed's first page ends on the grid, without
    stale-while-revalidate, which would let a cache serve the copy from before a grid point
    (an embargo instant) after it."""
    if entry.archive:
        return config["FEED_ARCHIVE_MAX_AGE"], config["FEED_STALE_WHILE_REVALIDATE"], False
    max_age = fresh_for(now, config)
    return max_age, 0, max_age < longest_fresh(config)


def cache_control(
    entry: RenderedFeed, now: datetime, config: Mapping[str, Any], *, failing: bool = False
) -> str:
    max_age, stale_while_revalidate, _ = lifetime(entry, now, config)
    if failing:
        max_age = 0
    parts = [f"public, max-age={max_age}"]
    if stale_while_revalidate:
        parts.append(f"stale-while-revalidate={stale_while_revalidate}")
    parts.append(f"stale-if-error={config['FEED_STALE_IF_ERROR']}")
    return ", ".join(parts)


def reply(
    entry: RenderedFeed,
    environ: WSGIEnviron,
    now: datetime,
    config: Mapping[str, Any],
    *,
    failing: bool = False,
) -> Reply:
    """The answer for a rendered feed: 304 when the client's copy is current.

    A 304 carries the validators, Vary, Link and Cache-Control, and none of the
    representation's own headers (RFC 9110 §15.4.5). Except to a cache in front
    (`wants_fresh`) while the max-age counts down to the next grid point: nginx keeps
    a copy's old headers when it revalidates, and with them a max-age that would
    outlive that point, so it gets the whole answer with the new max-age instead.
    """
    encoding = encoding_for(environ.get("HTTP_ACCEPT_ENCODING", ""))
    control = ("Cache-Control", cache_control(entry, now, config, failing=failing))
    if not_modified(entry, environ) and not (wants_fresh(environ) and lifetime(entry, now, config)[2]):
        return Reply(304, [*entry.validator_headers(encoding), control], b"")
    body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else entry.encoded(encoding)
    return Reply(200, [*entry.representation_headers(encoding), control], body)


def stale_reply(entry: RenderedFeed, environ: WSGIEnviron, now: datetime, config: Mapping[str, Any]) -> Reply:
    """The database cannot be read: the copy rendered before, as `stale-if-error` promises,
    with `max-age=0` and a Warning that it may be out of date."""
    answer = reply(entry, environ, now, config, failing=True)
    return Reply(
        answer.status, [*answer.headers, ("Warning", '110 feedsvc "Response is Stale"')], answer.body
    )
