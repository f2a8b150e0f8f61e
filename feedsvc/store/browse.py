"""Reads for people browsing releases: what else to read, how many releases each
topic or city has (from the counts every write keeps, never by reading the
releases), and the releases a press office may manage.

Like the rest of the store: the session and `now` come from the caller, nothing
commits here. Imports models and the other store modules only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from feedsvc.models import City, Release, ReleaseTopic, Topic
from feedsvc.store import feed_versions
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


@dataclass(frozen=True)
class _Pending:
    """Releases still under embargo: kept counts include them, readers must not see them.
    There are few at any time, so they are read whole."""

    releases: list[tuple[int, int]]  # (city_id, region_id)
    links: list[tuple[int, int]]  # (city_id, topic_id)

    def in_scope(self, scope: Scope) -> int:
        if scope.topic_id is not None:
            return sum(
                1
                for city_id, topic_id in self.links
                if topic_id == scope.topic_id and scope.city_id in (None, city_id)
            )
        return sum(
            1
            for city_id, region_id in self.releases
            if scope.city_id in (None, city_id) and scope.region_id in (None, region_id)
        )


def _pending(session: Session, now: datetime) -> _Pending:
    query = select(Release.id, Release.city_id, Release.region_id).where(
        Release.published_at > now, Release.retracted_at.is_(None)
    )
    rows = session.execute(query).all()
    links = session.execute(
        select(ReleaseTopic.city_id, ReleaseTopic.topic_id).where(
            ReleaseTopic.release_id.in_([row.id for row in rows])
        )
    ).all()
    return _Pending(
        releases=[(row.city_id, row.region_id) for row in rows],
        links=[(city_id, topic_id) for city_id, topic_id in links],
    )


def visible_total(session: Session, scope: Scope, now: datetime) -> int:
    """Visible releases of a subject, from its kept count: no release is read."""
    return feed_versions.release_count(session, scope) - _pending(session, now).in_scope(scope)


def topic_counts(
    session: Session, now: datetime, city_id: int | None = None, region_id: int | None = None
) -> list[tuple[Topic, int]]:
    """Topics with at least one visible release (in a city or region), by name.

    A region's topics are summed over the cities in it now."""
    pending = _pending(session, now)
    cities: list[int] | None = None
    if city_id is not None:
        cities = [city_id]
    elif region_id is not None:
        cities = list(session.scalars(select(City.id).where(City.region_id == region_id)))
    counts = feed_versions.topic_release_counts(session, cities)
    for pending_city, topic_id in pending.links:
        if cities is None or pending_city in cities:
            counts[topic_id] = counts.get(topic_id, 0) - 1
    shown = {topic_id: count for topic_id, count in counts.items() if count > 0}
    topics = session.scalars(select(Topic).where(Topic.id.in_(shown)).order_by(Topic.name))
    return [(topic, shown[topic.id]) for topic in topics]


def city_counts(session: Session, now: datetime, topic_id: int | None = None) -> dict[int, int]:
    """Number of visible releases per city id (of a topic); cities without any are absent."""
    counts = feed_versions.city_release_counts(session, topic_id)
    pending = _pending(session, now)
    if topic_id is None:
        for city_id, _region_id in pending.releases:
            counts[city_id] = counts.get(city_id, 0) - 1
    else:
        for city_id, pending_topic in pending.links:
            if pending_topic == topic_id:
                counts[city_id] = counts.get(city_id, 0) - 1
    return {city_id: count for city_id, count in counts.items() if count > 0}


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
