"""Reads for people browsing releases: what else to read, how many releases each
topic or city has, and the releases a press office may manage.

Like the rest of the store: the session and `now` come from the caller, nothing
commits here. Imports models and the other store modules only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from feedsvc.models import Release, ReleaseTopic, Topic
from feedsvc.store.releases import newest_visible_ids, releases_by_ids
from feedsvc.store.scope import Cursor, Scope

# How far back each related-release walk looks: enough to rank, bounded per topic.
_RELATED_CANDIDATES = 20


def related_visible(session: Session, release: Release, now: datetime, limit: int = 4) -> list[Release]:
    """Visible releases sharing topics or the city with `release`, most in common first.

    One bounded index walk per topic and one for the city, so the cost does not
    grow with the table. A release scores one point per shared topic and one for
    the same city; ties go to the newer one.
    """
    scores: dict[int, int] = {}
    scopes = [Scope(topic_id=link.topic_id) for link in release.topic_links]
    scopes.append(Scope(city_id=release.city_id))
    for scope in scopes:
        for release_id in newest_visible_ids(session, scope, now, _RELATED_CANDIDATES):
            scores[release_id] = scores.get(release_id, 0) + 1
    scores.pop(release.id, None)
    found = releases_by_ids(session, list(scores))
    found.sort(key=lambda other: (scores[other.id], other.published_at, other.id), reverse=True)
    return found[:limit]


def topic_counts(
    session: Session, now: datetime, city_id: int | None = None, region_id: int | None = None
) -> list[tuple[Topic, int]]:
    """Topics with at least one visible release (in a city or region), by name."""
    query = (
        select(Topic, func.count())
        .join(ReleaseTopic, ReleaseTopic.topic_id == Topic.id)
        .join(Release, Release.id == ReleaseTopic.release_id)
        .where(ReleaseTopic.published_at <= now, Release.retracted_at.is_(None))
        .group_by(Topic.id)
        .order_by(Topic.name)
    )
    if city_id is not None:
        query = query.where(ReleaseTopic.city_id == city_id)
    if region_id is not None:
        query = query.where(Release.region_id == region_id)
    return [(topic, int(count)) for topic, count in session.execute(query)]


def city_counts(session: Session, now: datetime, topic_id: int | None = None) -> dict[int, int]:
    """Number of visible releases per city id (of a topic); cities without any are absent."""
    if topic_id is not None:
        query = (
            select(ReleaseTopic.city_id, func.count())
            .join(Release, Release.id == ReleaseTopic.release_id)
            .where(ReleaseTopic.topic_id == topic_id, ReleaseTopic.published_at <= now)
            .where(Release.retracted_at.is_(None))
            .group_by(ReleaseTopic.city_id)
        )
    else:
        query = (
            select(Release.city_id, func.count())
            .where(Release.published_at <= now, Release.retracted_at.is_(None))
            .group_by(Release.city_id)
        )
    return {city_id: int(count) for city_id, count in session.execute(query)}


def releases_in_cities(
    session: Session, city_ids: Sequence[int] | None, limit: int, after: Cursor | None = None
) -> list[Release]:
    """Every release of these cities (None: of all), embargoed and retracted ones too, newest first.

    What a press office sees of its own releases: unlike the public reads, nothing is hidden.
    """
    query = select(Release).order_by(Release.published_at.desc(), Release.id.desc())
    if city_ids is not None:
        query = query.where(Release.city_id.in_(city_ids))
    if after is not None:
        query = query.where(
            tuple_(Release.published_at, Release.id) < tuple_(after.published_at, after.release_id)
        )
    return list(session.scalars(query.limit(limit)))
