"""Counts on overview pages, kept per worker until their subject changes.

The counts come from what every write keeps per subject (`store.counts`), a
few small reads; a page asks for them on every view, so each worker still keeps
them until the subject's change counter (`store.changes`) moves, or one of
its embargoes runs out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app, has_request_context, request
from sqlalchemy.orm import Session

from feedsvc.models import Topic
from feedsvc.store import catalog
from feedsvc.store import counts as kept_counts
from feedsvc.store.keys import CATALOG_KEY, scope_key
from feedsvc.store.scope import Scope
from feedsvc.web.feeds.cache import state_reader
from feedsvc.web.feeds.conditional import wants_fresh

_MEMO = "feedsvc.page_counts"
_LOCK = threading.Lock()
MAX_REMEMBERED = 1024
T = TypeVar("T")


def _remembered(subject_key: str, label: str, now: datetime, compute: Callable[[], T]) -> T:
    # A cache in front refetching after a purge says no-cache: counters as of now.
    fresh = has_request_context() and wants_fresh(request.environ)
    states = state_reader().states([subject_key, CATALOG_KEY], fresh=fresh)
    stamp = (states[subject_key].version, states[CATALOG_KEY].version)
    if states[subject_key].lift_due(now):
        return compute()  # an embargo ran out and nobody lifted it yet: the memo is behind
    memo: OrderedDict[tuple[str, str], tuple[tuple[int, int], Any]] = current_app.extensions.setdefault(
        _MEMO, OrderedDict()
    )
    key = (subject_key, label)
    with _LOCK:
        hit = memo.get(key)
    if hit is not None and hit[0] == stamp:
        value: T = hit[1]
        return value
    value = compute()
    with _LOCK:
        memo[key] = (stamp, value)
        memo.move_to_end(key)
        while len(memo) > MAX_REMEMBERED:
            memo.popitem(last=False)
    return value


def total(session: Session, scope: Scope, now: datetime) -> int:
    return _remembered(scope_key(scope), "total", now, lambda: kept_counts.visible_total(session, scope, now))


def city_counts(session: Session, now: datetime, topic_id: int | None = None) -> dict[int, int]:
    subject = scope_key(Scope(topic_id=topic_id))
    return _remembered(
        subject, "cities", now, lambda: kept_counts.city_counts(session, now, topic_id=topic_id)
    )


def topic_counts(
    session: Session, now: datetime, city_id: int | None = None, region_id: int | None = None
) -> list[tuple[Topic, int]]:
    # A city within a region is named by the city alone: its own counter moves with its releases.
    subject = scope_key(Scope(city_id=city_id, region_id=None if city_id else region_id))

    def compute() -> list[tuple[int, int]]:
        found = kept_counts.topic_counts(session, now, city_id=city_id, region_id=region_id)
        return [(topic.id, count) for topic, count in found]

    # Only ids are remembered: rows must not outlive the session they came from.
    by_id = {topic.id: topic for topic in catalog.topics(session)}
    counted = _remembered(subject, "topics", now, compute)
    return [(by_id[topic_id], count) for topic_id, count in counted if topic_id in by_id]
