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


def lifetime(entry: RenderedFeed, now: datetime, config: Mapping[str, Any]) -> tuple[int, int, bool]:
    """max-age and stale-while-revalidate of an answer now, and whether they were shortened
    so that no cache in front holds an embargoed release back past its lift."""
    max_age: int = config["FEED_ARCHIVE_MAX_AGE" if entry.archive else "FEED_MAX_AGE"]
    stale_while_revalidate: int = config["FEED_STALE_WHILE_REVALIDATE"]
    if entry.next_lift_us is not None and not entry.archive:
        until_lift = max(0, (entry.next_lift_us - micros(now)) // 1_000_000)
        if until_lift < max_age + stale_while_revalidate:
            return min(max_age, until_lift), 0, True
    return max_age, stale_while_revalidate, False


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
    (`wants_fresh`) while the max-age counts down to an embargo lift: nginx keeps a
    copy's old headers when it revalidates, and with them a max-age that would
    outlive the lift, so it gets the whole answer with the new max-age instead.
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
