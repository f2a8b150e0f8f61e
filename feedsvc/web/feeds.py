"""Feed endpoints (CONTRACT §1, §3, §4): every subject in Atom, RSS and JSON Feed.

A request that finds its rendered feed current in this worker's cache costs a
counter check and a dictionary lookup; only a change renders, once per worker.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from feedsvc import db
from feedsvc.feeds import FORMATS
from feedsvc.feeds.model import Feed
from feedsvc.models import Release
from feedsvc.store import feed_versions
from feedsvc.store.feed_versions import CATALOG_KEY, FeedState, from_micros
from feedsvc.store.releases import newer_visible_ids, newest_visible_ids, recently_retracted, releases_by_ids
from feedsvc.web import poll_front, poll_limit, urls
from feedsvc.web.feed_cache import FeedCache, RenderedFeed, StateReader, feed_cache_key, make_tag
from feedsvc.web.feed_content import Subject, feed_of, find_subject
from feedsvc.web.feed_query import FeedQuery, paging_links, parse_query
from feedsvc.web.http_caching import Reply, client_holds, reply, stale_reply
from feedsvc.web.problems import problem
from feedsvc.web.readers import feed_reader_token

blueprint = Blueprint("feeds", __name__)

# Far enough ahead to count every embargoed release as visible, near enough for any backend.
EMBARGO_HORIZON = datetime(9999, 1, 1, tzinfo=UTC)
PLAIN_QUERY = FeedQuery()
_CACHE = "feedsvc.feed_cache"
_STATES = "feedsvc.feed_states"


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    poll_limit.init_app(app)
    cache = FeedCache(max_bytes=app.config["FEED_CACHE_BYTES"])
    with app.app_context():
        states = StateReader(db.engine(), ttl=app.config["FEED_STATE_TTL"])
    app.extensions[_CACHE], app.extensions[_STATES] = cache, states
    poll_front.install(app, cache, states)


def feed_cache() -> FeedCache:
    cache: FeedCache = current_app.extensions[_CACHE]
    return cache


def state_reader() -> StateReader:
    reader: StateReader = current_app.extensions[_STATES]
    return reader


def _lift_due(states: dict[str, FeedState], now: datetime) -> list[tuple[str, int]]:
    return [
        (key, state.next_lift_us)
        for key, state in states.items()
        if state.next_lift_us is not None and state.lift_due(now)
    ]


def _lift(due: list[tuple[str, int]], now: datetime) -> None:
    """Embargoes ran out: bump the subjects once (another worker may have done it)."""
    session = db.session()
    db.begin_writing(session)
    for key, seen in due:
        feed_versions.lift_embargo(session, key, seen, now)
    session.commit()
    state_reader().forget()


def _tombstones(subject: Subject, query: FeedQuery, state: FeedState) -> list[Release]:
    """Releases retracted within the tombstone window before the subject last
    changed (RFC 6721), on the first page only. Counting the window from the
    change, not the clock, keeps the bytes of one version the same all along."""
    if query != FeedQuery(limit=query.limit) or not state.changed_us:
        return []
    window = timedelta(days=current_app.config["TOMBSTONE_DAYS"])
    since = from_micros(state.changed_us) - window
    return recently_retracted(db.session(), subject.scope, since)


def build_feed(
    subject: Subject, fmt: str, query: FeedQuery, now: datetime, state: FeedState, *, embargoed: bool = False
) -> Feed:
    """The feed value of one page. `embargoed` (journalists only) also shows
    releases still under embargo, each marked with its embargo time."""
    visible_until = EMBARGO_HORIZON if embargoed else now
    session = db.session()
    if query.before is not None:
        ids = newer_visible_ids(
            session, subject.scope, visible_until, query.limit + 1, query.before, search=query.search
        )
        newer, ids = len(ids) > query.limit, ids[: query.limit]
        older = True
    else:
        ids = newest_visible_ids(
            session, subject.scope, visible_until, query.limit + 1, query.after, search=query.search
        )
        older, ids = len(ids) > query.limit, ids[: query.limit]
        newer = query.after is not None
    page = releases_by_ids(session, ids)
    path = urls.feed_path(subject.page_path, fmt)
    paging = paging_links(path, query, page, older=older, newer=newer)
    feed = feed_of(
        subject,
        fmt,
        page,
        self_url=urls.absolute(path, query.params()),
        paging=paging,
        hubs=current_app.config["HUB_URLS"],
        retracted=_tombstones(subject, query, state),
        ttl_seconds=current_app.config["FEED_MAX_AGE"],
        embargo_now=now if embargoed else None,
        archive=query.is_archive,
    )
    if query.search is None:
        return feed
    # A search is a feed of its own: its own id, and a title saying what it holds.
    searched = urls.absolute(subject.page_path or "/", {"q": query.search.text})
    return replace(feed, id=searched, title=f"{feed.title} – Suche: {query.search.text}")


def _render(subject: Subject, fmt: str, query: FeedQuery, cache_key: str, now: datetime) -> RenderedFeed:
    """Renders inside one read snapshot, so the label matches the content exactly."""
    session = db.session()
    keys = (feed_versions.scope_key(subject.scope), CATALOG_KEY)
    states = feed_versions.states(db.snapshot(session), keys)
    feed = build_feed(subject, fmt, query, now, states[keys[0]])
    body = FORMATS[fmt].render(feed)
    session.rollback()
    changed = max(state.changed_us for state in states.values())
    hubs: list[str] = current_app.config["HUB_URLS"]
    return RenderedFeed(
        keys=keys,
        versions=tuple(states[key].version for key in keys),
        body=body,
        media_type=FORMATS[fmt].media_type,
        tag=make_tag(cache_key, keys, states),
        # No counter yet (a database migrated from before feed_versions): the data's own date,
        # in UTC as HTTP dates must be.
        last_modified=from_micros(changed) if changed else feed.updated.astimezone(UTC),
        next_lift_us=states[keys[0]].next_lift_us,
        links=(*((hub, "hub") for hub in hubs), (feed.self_url, "self")),
        archive=query.is_archive,
    )


@blueprint.get("/feed.<fmt>")
@blueprint.get("/cities/<city>/feed.<fmt>")
@blueprint.get("/topics/<topic>/feed.<fmt>")
@blueprint.get("/cities/<city>/topics/<topic>/feed.<fmt>")
@blueprint.get("/regions/<region>/feed.<fmt>")
def feed(fmt: str, city: str | None = None, topic: str | None = None, region: str | None = None) -> Response:
    if fmt not in FORMATS:
        abort(404)
    # Every poll comes through here: read the WSGI environ directly where a
    # parsed header is not needed (most polls carry no query string at all).
    environ = request.environ
    query = parse_query(request.args) if environ.get("QUERY_STRING") else PLAIN_QUERY
    if isinstance(query, str):
        return problem(400, query)
    now = current_app.config["CLOCK"]()
    if "HTTP_AUTHORIZATION" in environ:
        return private_feed(fmt, query, now, (city, topic, region))
    cache_key = feed_cache_key(urls.base_url(), request.path, urlencode(query.params()))
    if (too_often := poll_limit.refused(cache_key)) is not None:
        return too_often
    cached = feed_cache().get(cache_key)
    try:
        entry = _current(cached, fmt, query, cache_key, now, (city, topic, region))
    except (DBAPIError, PoolTimeoutError) as error:
        if not db.is_outage(error):
            raise
        # The database is unreachable: what was rendered before is still served.
        db.session().rollback()
        return unavailable(cached, now)
    if entry is None:
        abort(404)
    return as_response(reply(entry, environ, now, current_app.config), entry)


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
    cached: RenderedFeed | None,
    fmt: str,
    query: FeedQuery,
    cache_key: str,
    now: datetime,
    slugs: tuple[str | None, str | None, str | None],
) -> RenderedFeed | None:
    """The rendered feed for this request, rendered anew only when it changed."""
    if cached is not None:
        # A client holding a validator we have never handed out saw a newer
        # version on another worker: look again instead of trusting our memo.
        if_none_match = request.environ.get("HTTP_IF_NONE_MATCH", "")
        fresh = bool(if_none_match) and not client_holds(cached, if_none_match)
        states = state_reader().states(cached.keys, fresh=fresh)
        due = _lift_due({cached.keys[0]: states[cached.keys[0]]}, now)
        if not due and cached.is_current(states):
            return cached
        if due:
            _lift(due, now)
    subject = find_subject(db.session(), *slugs)
    if subject is None:
        return None
    key = feed_versions.scope_key(subject.scope)
    due = _lift_due({key: state_reader().states([key])[key]}, now)
    if due:
        _lift(due, now)
    with feed_cache().single_flight(cache_key):
        again = feed_cache().get(cache_key)
        if again is not None and again is not cached and again.is_current(state_reader().states(again.keys)):
            return again
        entry = _render(subject, fmt, query, cache_key, now)
        feed_cache().put(cache_key, entry)
        return entry


def private_feed(fmt: str, query: FeedQuery, now: datetime, slugs: tuple[str | None, ...]) -> Response:
    """A journalist's feed: embargoed releases early, marked, never cached publicly."""
    token = feed_reader_token(request.headers.get("Authorization", ""))
    if token is None or token.role not in ("journalist", "admin"):
        detail = "send a journalist token as 'Authorization: Bearer <token>' (or as the Basic password)"
        headers = {"WWW-Authenticate": 'Bearer realm="feedsvc", Basic realm="feedsvc"'}
        return problem(401, detail, headers=headers)
    subject = find_subject(db.session(), *slugs)
    if subject is None:
        abort(404)
    state = feed_versions.states(db.session().connection(), [feed_versions.scope_key(subject.scope)])
    feed = build_feed(subject, fmt, query, now, next(iter(state.values())), embargoed=True)
    response = Response(FORMATS[fmt].render(feed), content_type=FORMATS[fmt].media_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Authorization, Accept-Encoding"
    response.add_etag()
    response.make_conditional(request)
    return response
