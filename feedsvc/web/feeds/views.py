"""Feed routes: every subject in every format, for pollers and for journalists.

A request that finds its rendered feed current in this worker's cache costs a
counter check and a dictionary lookup; only a change renders, once per worker.
The front (`front.py`) answers most polls before they get here, with the same rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from feedsvc import db, paths
from feedsvc.formats import FORMATS, NINJS
from feedsvc.store import changes, subscriptions
from feedsvc.store.changes import from_micros
from feedsvc.store.keys import journalist_key
from feedsvc.web import metrics, urls
from feedsvc.web.auth import feed_reader_token
from feedsvc.web.feeds.cache import RenderedFeed, feed_cache, feed_cache_key, is_current, state_reader
from feedsvc.web.feeds.conditional import Reply, client_holds, encoding_for, reply, stale_reply, wants_fresh
from feedsvc.web.feeds.content import Subject, find_subject, subscription_subject
from feedsvc.web.feeds.query import FeedQuery, parse_query
from feedsvc.web.feeds.render import build_feed, lift_due_embargoes, newest_state, render
from feedsvc.web.problems import problem

blueprint = Blueprint("feeds", __name__)

PLAIN_QUERY = FeedQuery()
# Finds the subject of a feed request in the database (None: there is none, 404).
Finder = Callable[[], "Subject | None"]
# A non-canonical query string always names the same canonical URL: caches may keep the redirect.
REDIRECT_MAX_AGE = 86400


@blueprint.get("/feed.<fmt>")
@blueprint.get("/cities/<city>/feed.<fmt>")
@blueprint.get("/topics/<topic>/feed.<fmt>")
@blueprint.get("/cities/<city>/topics/<topic>/feed.<fmt>")
@blueprint.get("/regions/<region>/feed.<fmt>")
def feed(fmt: str, city: str | None = None, topic: str | None = None, region: str | None = None) -> Response:
    return serve_feed(fmt, lambda: find_subject(db.session(), city, topic, region))


@blueprint.get("/subscriptions/<key>/feed.<fmt>")
def subscription_feed(key: str, fmt: str) -> Response:
    """A subscription's feed (docs/feeds.md#subscriptions): served, cached and validated as
    every other feed, by the counters of the subjects that cover it."""

    def find() -> Subject | None:
        subscription = subscriptions.by_key(db.session(), key)
        return subscription_subject(subscription) if subscription is not None else None

    return serve_feed(fmt, find)


def serve_feed(fmt: str, find: Finder) -> Response:
    """A feed in `fmt` of the subject `find` names (None: 404), for a poller or a journalist."""
    if fmt not in FORMATS:
        abort(404)
    # Every poll comes through here: read the WSGI environ directly where a
    # parsed header is not needed (most polls carry no query string at all).
    environ = request.environ
    query = parse_query(request.args) if environ.get("QUERY_STRING") else PLAIN_QUERY
    if isinstance(query, str):
        return problem(400, query)
    canonical = urlencode(query.params())
    if query is not PLAIN_QUERY and list(request.args.items(multi=True)) != list(query.params().items()):
        return canonical_redirect(canonical)
    now = current_app.config["CLOCK"]()
    if "HTTP_AUTHORIZATION" in environ:
        return private_feed(fmt, query, now, find)
    cache_key = feed_cache_key(urls.base_url(), request.path, canonical)
    cached = feed_cache().get(cache_key)
    try:
        entry = _current(cached, fmt, query, cache_key, now, find)
    except (DBAPIError, PoolTimeoutError) as error:
        if not db.is_outage(error):
            raise
        # The database is unreachable: what was rendered before is still served.
        db.session().rollback()
        return unavailable(cached, now)
    if entry is None:
        abort(404)
    if isinstance(entry, Response):
        return entry
    return as_response(reply(entry, environ, now, current_app.config), entry)


def _ended(subject: Subject, fmt: str) -> Response | None:
    """410 for a newsroom system asking for the ninjs feed of a retired subject: an item
    feed that ended is gone for machines; the reader formats say so in an entry instead.
    (Asked only where a feed is rendered: a cached feed is current, so not retired since.)"""
    if fmt != NINJS or subject.ended_at is None:
        return None
    successors = [
        urls.absolute(paths.feed_path(path, NINJS))
        for _, path in subject.successors
        if path != "/subscriptions/new"
    ]
    detail = f"this feed has ended on {subject.ended_at.date().isoformat()}"
    return problem(410, detail, successors=successors)


def canonical_redirect(canonical: str) -> Response:
    """A feed asked for with parameters in another order, with defaults spelled out
    (`?limit=50`), a search written otherwise (`?q=%20Wort`) or parameters no feed knows
    (`?utm_source=`): 301 to the URL its `rel="self"` names, `FeedQuery.params()` in that
    order and nothing else. (Percent-encoding alone makes no other URL: `q=a+b` is `q=a%20b`.)"""
    location = request.path + (f"?{canonical}" if canonical else "")
    headers = {"Location": location, "Cache-Control": f"public, max-age={REDIRECT_MAX_AGE}"}
    return Response(status=301, headers=headers)


def as_response(answer: Reply, entry: RenderedFeed) -> Response:
    """The reply as a Flask response, headers untouched (a HEAD keeps its Content-Length).

    The media type is named for 304s too (werkzeug drops it from them), so
    after-request hooks see a feed, not the default HTML."""
    response = Response(answer.body, status=answer.status, content_type=entry.media_type)
    response.headers.update(answer.headers)
    return response


def unavailable(cached: RenderedFeed | None, now: datetime) -> Response:
    """The database cannot be read: a stale copy if this worker has one (as
    `stale-if-error` promises), else 503 with Retry-After."""
    if cached is None:
        return problem(503, "the database is unreachable; try again shortly", headers={"Retry-After": "30"})
    return as_response(stale_reply(cached, request.environ, now, current_app.config), cached)


def _current(
    cached: RenderedFeed | None, fmt: str, query: FeedQuery, cache_key: str, now: datetime, find: Finder
) -> RenderedFeed | Response | None:
    """The rendered feed for this request, rendered anew only when it changed (or the 410
    of a retired subject's ninjs feed)."""
    if cached is not None:
        # A client holding a validator we have never handed out saw a newer
        # version on another worker, and a cache refetching after a purge says
        # no-cache: look again instead of trusting our memo.
        if_none_match = request.environ.get("HTTP_IF_NONE_MATCH", "")
        unknown = bool(if_none_match) and not client_holds(cached, if_none_match)
        fresh = unknown or wants_fresh(request.environ)
        states = state_reader().states(cached.keys, fresh=fresh)
        if is_current(cached, states, now):
            metrics.instruments().cache_hit.inc()
            return cached
    subject = find()
    if subject is None:
        return None
    if (ended := _ended(subject, fmt)) is not None:
        return ended
    lift_due_embargoes(state_reader().states(list(subject.counters)), now)
    with feed_cache().single_flight(cache_key):
        again = feed_cache().get(cache_key)
        # Another thread's render, or the entry we had: an embargo lift that showed nothing
        # new (its release was moved or retracted) leaves it current, byte for byte.
        if again is not None and is_current(again, state_reader().states(again.keys), now):
            metrics.instruments().cache_hit.inc()
            return again
        metrics.instruments().cache_miss.inc()
        entry = render(subject, fmt, query, cache_key, now)
        if urls.rendering_is_shareable():
            feed_cache().put(cache_key, entry)
        return entry


def journalist_refusal() -> Response | None:
    """401 unless the request's credentials are a journalist (or admin) token, as a Bearer
    token or the password of HTTP Basic authentication; None for a journalist."""
    token = feed_reader_token(request.headers.get("Authorization", ""))
    if token is not None and token.role in ("journalist", "admin"):
        return None
    detail = "send a journalist token as 'Authorization: Bearer <token>' (or as the Basic password)"
    headers = {"WWW-Authenticate": 'Bearer realm="feedsvc", Basic realm="feedsvc"'}
    return problem(401, detail, headers=headers)


def private_feed(fmt: str, query: FeedQuery, now: datetime, find: Finder) -> Response:
    """A journalist's feed: embargoed releases early, marked, never cached publicly."""
    refusal = journalist_refusal()
    if refusal is not None:
        return refusal
    subject = find()
    if subject is None:
        abort(404)
    if (ended := _ended(subject, fmt)) is not None:
        return ended
    counters = subject.counters
    found = changes.states(db.session().connection(), [*counters, *map(journalist_key, counters)])
    state = newest_state(found, counters)
    feed = build_feed(subject, fmt, query, now, state, embargoed=True)
    body = FORMATS[fmt].render(feed)
    # What journalists see changes with every public change and with every write to a release
    # still under embargo, which the public counter never hears of.
    changed = max(found[key].changed_us for key in found)
    # Compressed like public feeds, and validated by its bytes: nobody else sees them.
    private = RenderedFeed(
        keys=counters,
        versions=tuple(found[key].version for key in counters),
        body=body,
        media_type=FORMATS[fmt].media_type,
        tag=hashlib.blake2b(body, digest_size=12).hexdigest(),
        last_modified=from_micros(changed) if changed else feed.updated.astimezone(UTC),
    )
    encoding = encoding_for(request.headers.get("Accept-Encoding", ""))
    response = Response(private.encoded(encoding), content_type=private.media_type)
    if encoding != "identity":
        response.headers["Content-Encoding"] = encoding
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Authorization, Accept-Encoding"
    response.set_etag(private.etag(encoding))
    response.last_modified = private.last_modified.replace(microsecond=0)
    response.make_conditional(request)
    return response
