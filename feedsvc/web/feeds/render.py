"""Rendering a feed page: its releases read inside one snapshot, turned into a `Feed`
(`content`) and written by a format (`feedsvc.formats`), labelled with the change
counters it was read at. Embargoes that ran out are lifted before anything is read.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import current_app

from feedsvc import db, paths
from feedsvc.config import site_identity
from feedsvc.formats import FORMATS
from feedsvc.formats.model import Feed
from feedsvc.models import Release
from feedsvc.store import changes
from feedsvc.store.changes import FeedState, from_micros
from feedsvc.store.keys import CATALOG_KEY
from feedsvc.store.releases import (
    newer_visible_ids,
    newer_visible_positions,
    newest_visible_ids,
    recently_retracted,
    releases_by_ids,
)
from feedsvc.store.scope import Cursor
from feedsvc.web import metrics, urls
from feedsvc.web.feeds.cache import RenderedFeed, make_tag, state_reader
from feedsvc.web.feeds.conditional import longest_fresh
from feedsvc.web.feeds.content import Subject, feed_of
from feedsvc.web.feeds.query import FeedQuery, Neighbours, paging_links

# Far enough ahead to count every embargoed release as visible, near enough for any backend.
EMBARGO_HORIZON = datetime(9999, 1, 1, tzinfo=UTC)


def lift_due_embargoes(subject_states: dict[str, FeedState], now: datetime) -> None:
    """Embargoes of these subjects that ran out are lifted now, once (another worker
    may have done it already: the compare-and-set in `changes.lift_embargo` decides)."""
    due = [
        (key, state.next_lift_us)
        for key, state in subject_states.items()
        if state.next_lift_us is not None and state.lift_due(now)
    ]
    if not due:
        return
    session = db.session()
    db.begin_writing(session)
    for key, seen in due:
        changes.lift_embargo(session, key, seen, now)
    session.commit()
    state_reader().forget()


def newest_state(states: dict[str, FeedState], keys: tuple[str, ...]) -> FeedState:
    """Of a subject's counters, the one that changed last: a subscription's feed changed
    when any of the subjects covering it did."""
    return max((states[key] for key in keys), key=lambda state: state.changed_us)


def _tombstones(subject: Subject, query: FeedQuery, state: FeedState) -> list[Release]:
    """Releases retracted within the tombstone window before the subject last
    changed (RFC 6721), on the first page only. Counting the window from the
    change, not the clock, keeps the bytes of one version the same all along."""
    if query != FeedQuery(limit=query.limit) or not state.changed_us:
        return []
    window = timedelta(days=current_app.config["TOMBSTONE_DAYS"])
    since = from_micros(state.changed_us) - window
    return recently_retracted(db.session(), subject.scope, since)


def _walk(subject: Subject, query: FeedQuery, visible_until: datetime) -> tuple[list[int], Neighbours]:
    """The ids of a page, newest first, and what lies beyond it.

    A `previous` page (`before=C`) holds the releases next to its cursor: of the `limit + 1`
    newer ones read, the newest is dropped (it only says that more are newer). An archive
    page (`after=C`) also finds the archive just newer than it: the page older than the
    release `limit + 1` places up from C. Nothing visible lies between a page and its cursor,
    so "older than the page" is "at or older than C" (`before`), "newer than the page" is
    "at or newer than C" (`after`): one step of the id next to C says "at".
    """
    session = db.session()
    scope, limit, search = subject.scope, query.limit, query.search
    if query.before is not None:
        ids = newer_visible_ids(session, scope, visible_until, limit + 1, query.before, search=search)
        newer, ids = len(ids) > limit, ids[-limit:]
        at_or_older = Cursor(query.before.published_at, query.before.release_id + 1)
        older = bool(newest_visible_ids(session, scope, visible_until, 1, at_or_older, search=search))
        return ids, Neighbours(older=older, newer=newer)
    ids = newest_visible_ids(session, scope, visible_until, limit + 1, query.after, search=search)
    older, ids = len(ids) > limit, ids[:limit]
    if query.after is None:
        return ids, Neighbours(older=older, newer=False)
    at_or_newer = Cursor(query.after.published_at, query.after.release_id - 1)
    above = newer_visible_positions(session, scope, visible_until, limit + 1, at_or_newer, search=search)
    newer_archive = above[limit] if len(above) > limit else None
    return ids, Neighbours(older=older, newer=bool(above), newer_archive=newer_archive)


def _polling(query: FeedQuery, *, embargoed: bool) -> tuple[int | None, int | None]:
    """`(ttl_seconds, update_seconds)`: RSS <ttl> and sy:* of a page.

    <ttl> never promises longer than the Cache-Control the page is served with
    (`conditional.lifetime`). An archive's max-age is fixed: its <ttl> says it. A first
    page's counts down to the next point of the expiry grid while the same bytes are
    served, so it carries no <ttl> (nor does a journalist feed, never cached); nothing
    pending changes that, so the bytes never tell of a scheduled embargo. sy:* says how
    often a feed is usually polled: its longest max-age, at a grid point.
    """
    config = current_app.config
    usual = longest_fresh(config)
    ttl = config["FEED_ARCHIVE_MAX_AGE"] if query.is_archive and not embargoed else None
    return ttl or None, usual or None


def build_feed(
    subject: Subject, fmt: str, query: FeedQuery, now: datetime, state: FeedState, *, embargoed: bool = False
) -> Feed:
    """The feed value of one page. `embargoed` (journalists only) also shows
    releases still under embargo, each marked with its embargo time."""
    visible_until = EMBARGO_HORIZON if embargoed else now
    # A retired subject's feed says so in its one entry (docs/feeds.md#feeds-that-ended).
    ended = subject.ended_at is not None and query == FeedQuery(limit=query.limit)
    ids, beyond = (
        ([], Neighbours(older=False, newer=False)) if ended else _walk(subject, query, visible_until)
    )
    page = releases_by_ids(db.session(), ids)
    path = paths.feed_path(subject.page_path, fmt)
    ttl_seconds, update_seconds = _polling(query, embargoed=embargoed)
    feed = feed_of(
        subject,
        fmt,
        page,
        self_url=urls.absolute(path, query.params()),
        paging=paging_links(path, query, page, beyond),
        hubs=current_app.config["HUB_URLS"],
        retracted=_tombstones(subject, query, state),
        ttl_seconds=ttl_seconds,
        update_seconds=update_seconds,
        embargo_now=now if embargoed else None,
        archive=query.is_archive,
        ended=ended,
    )
    if query.search is None:
        return feed
    # A search is a feed of its own: its own id, and a title saying what it holds.
    searched = urls.absolute(subject.id_path or "/", {"q": query.search.text})
    return replace(feed, id=searched, title=f"{feed.title} – Suche: {query.search.text}")


def render(subject: Subject, fmt: str, query: FeedQuery, cache_key: str, now: datetime) -> RenderedFeed:
    """Renders inside one read snapshot, so the label matches the content exactly."""
    started = time.perf_counter()
    session = db.session()
    subject_keys = (*subject.counters, CATALOG_KEY)
    states = changes.states(db.snapshot(session), subject_keys)
    feed = build_feed(subject, fmt, query, now, newest_state(states, subject.counters))
    body = FORMATS[fmt].render(feed)
    session.rollback()
    metrics.instruments().rendered(fmt, started)
    changed = max(state.changed_us for state in states.values())
    hubs: list[str] = current_app.config["HUB_URLS"]
    return RenderedFeed(
        keys=subject_keys,
        versions=tuple(states[key].version for key in subject_keys),
        body=body,
        media_type=FORMATS[fmt].media_type,
        tag=make_tag(cache_key, subject_keys, states, site_identity(current_app).fingerprint),
        # A subject nothing was ever written to has no counter yet: the data's own date,
        # in UTC as HTTP dates must be.
        last_modified=from_micros(changed) if changed else feed.updated.astimezone(UTC),
        links=(*((hub, "hub") for hub in hubs), (feed.self_url, "self")),
        archive=query.is_archive,
    )
