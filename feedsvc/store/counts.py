"""How many releases each subject holds, without reading the releases.

Every write keeps a release count per subject (the `release_count` of `feed_versions`,
changed by `changes.bump` in the same statement); readers subtract the few
releases still under embargo, which the counts include. `recount_releases`
sets the counts from the releases after a bulk load that bypassed the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from feedsvc.models import City, FeedVersion, Release, ReleaseTopic, Topic
from feedsvc.store import keys, region_tree
from feedsvc.store.scope import Scope

# Above this many cities, topic counts read every city×topic count rather than one LIKE per city.
MAX_CITY_PATTERNS = 200


def release_count(session: Session, scope: Scope) -> int:
    """Releases the subject holds (not retracted, embargoed ones included)."""
    count = session.scalar(select(FeedVersion.release_count).where(FeedVersion.key == keys.scope_key(scope)))
    return int(count or 0)


def city_release_counts(session: Session, topic_id: int | None = None) -> dict[int, int]:
    """Releases each city holds (of one topic); cities never written are absent."""
    pattern = keys.cities_of_topic_pattern(topic_id) if topic_id is not None else keys.CITY_PATTERN
    query = select(FeedVersion.key, FeedVersion.release_count).where(FeedVersion.key.like(pattern))
    if topic_id is None:
        query = query.where(FeedVersion.key.not_like(keys.CITY_TOPIC_INFIX))
    counts: dict[int, int] = {}
    for key, count in session.execute(query):
        city_id = keys.scope_of_key(key).city_id
        if city_id is not None:
            counts[city_id] = int(count)
    return counts


def topic_release_counts(session: Session, city_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Releases each topic holds, in all cities or summed over `city_ids`."""
    query = select(FeedVersion.key, FeedVersion.release_count)
    wanted: set[int] | None = None
    if city_ids is None:
        query = query.where(FeedVersion.key.like(keys.TOPIC_PATTERN))
    else:
        cities = list(city_ids)
        if not cities:
            return {}
        if len(cities) <= MAX_CITY_PATTERNS:
            query = query.where(
                or_(*(FeedVersion.key.like(keys.topics_of_city_pattern(city_id)) for city_id in cities))
            )
        else:
            # The cities of a whole Land: one pattern each would pass SQLite's expression depth
            # limit (1000); every city×topic count is one read instead, filtered here.
            query = query.where(
                FeedVersion.key.like(keys.CITY_PATTERN), FeedVersion.key.like(keys.CITY_TOPIC_INFIX)
            )
            wanted = set(cities)
    counts: dict[int, int] = {}
    for key, count in session.execute(query):
        scope = keys.scope_of_key(key)
        if scope.topic_id is not None and (wanted is None or scope.city_id in wanted):
            counts[scope.topic_id] = counts.get(scope.topic_id, 0) + int(count)
    return counts


def counted_releases(session: Session) -> dict[str, int]:
    """Every subject's release count as the releases themselves say (not as kept)."""
    held = Release.retracted_at.is_(None)
    topic_links = select(ReleaseTopic.city_id, ReleaseTopic.topic_id, func.count()).join(
        Release, Release.id == ReleaseTopic.release_id
    )
    counts = {keys.ALL_KEY: int(session.scalar(select(func.count()).select_from(Release).where(held)) or 0)}
    by_city = select(Release.city_id, func.count()).where(held).group_by(Release.city_id)
    for city_id, count in session.execute(by_city):
        counts[keys.scope_key(Scope(city_id=city_id))] = int(count)
    # A region holds its own releases and those of every region below it.
    parents = region_tree.parent_map(session)
    by_region = select(Release.region_id, func.count()).where(held).group_by(Release.region_id)
    for region_id, count in session.execute(by_region):
        for each in region_tree.ancestors_in(parents, region_id):
            region_key = keys.scope_key(Scope(region_id=each))
            counts[region_key] = counts.get(region_key, 0) + int(count)
    grouped = topic_links.where(held).group_by(ReleaseTopic.city_id, ReleaseTopic.topic_id)
    for city_id, topic_id, count in session.execute(grouped):
        counts[keys.scope_key(Scope(city_id=city_id, topic_id=topic_id))] = int(count)
        topic_key = keys.scope_key(Scope(topic_id=topic_id))
        counts[topic_key] = counts.get(topic_key, 0) + int(count)
    return counts


def recount_releases(session: Session) -> None:
    """Sets every subject's release count from the releases (after a bulk load that
    bypassed the store); versions and change times stay as they are."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = FeedVersion.__table__
    assert isinstance(table, Table)
    session.execute(update(FeedVersion).values(release_count=0))
    for key, count in sorted(counted_releases(session).items()):
        statement = insert(table).values(
            key=key, version=0, changed_us=0, next_lift_us=None, release_count=count
        )
        session.execute(
            statement.on_conflict_do_update(index_elements=[table.c.key], set_={"release_count": count})
        )


@dataclass(frozen=True)
class _Pending:
    """Releases still under embargo: kept counts include them, readers must not see them.
    There are few at any time, so they are read whole."""

    releases: list[tuple[int, frozenset[int]]]  # (city_id, its region and the regions above)
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
            for city_id, regions in self.releases
            if scope.city_id in (None, city_id) and (scope.region_id is None or scope.region_id in regions)
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
    regions = {
        region_id: frozenset(region_tree.ancestor_ids(session, region_id))
        for region_id in {row.region_id for row in rows}
    }
    return _Pending(
        releases=[(row.city_id, regions[row.region_id]) for row in rows],
        links=[(city_id, topic_id) for city_id, topic_id in links],
    )


def visible_total(session: Session, scope: Scope, now: datetime) -> int:
    """Visible releases of a subject, from its kept count: no release is read."""
    return release_count(session, scope) - _pending(session, now).in_scope(scope)


def topic_counts(
    session: Session, now: datetime, city_id: int | None = None, region_id: int | None = None
) -> list[tuple[Topic, int]]:
    """Topics with at least one visible release (in a city or region), by name.

    A region's topics are summed over the cities in it and in the regions below it now."""
    pending = _pending(session, now)
    cities: list[int] | None = None
    if city_id is not None:
        cities = [city_id]
    elif region_id is not None:
        in_region = region_tree.within(session, City.region_id, region_id)
        cities = list(session.scalars(select(City.id).where(in_region)))
    counts = topic_release_counts(session, cities)
    for pending_city, topic_id in pending.links:
        if cities is None or pending_city in cities:
            counts[topic_id] = counts.get(topic_id, 0) - 1
    shown = {topic_id: count for topic_id, count in counts.items() if count > 0}
    # Retired topics are listed nowhere (their pages stay).
    listed = select(Topic).where(Topic.id.in_(shown), Topic.retired_at.is_(None))
    topics = session.scalars(listed.order_by(Topic.name))
    return [(topic, shown[topic.id]) for topic in topics]


def city_counts(session: Session, now: datetime, topic_id: int | None = None) -> dict[int, int]:
    """Number of visible releases per city id (of a topic); cities without any are absent."""
    counts = city_release_counts(session, topic_id)
    pending = _pending(session, now)
    if topic_id is None:
        for city_id, _regions in pending.releases:
            counts[city_id] = counts.get(city_id, 0) - 1
    else:
        for city_id, pending_topic in pending.links:
            if pending_topic == topic_id:
                counts[city_id] = counts.get(city_id, 0) - 1
    return {city_id: count for city_id, count in counts.items() if count > 0}


def city_topic_counts(session: Session, now: datetime) -> dict[tuple[int, int], int]:
    """Visible releases per (city id, topic id), for the pairs that have any: one read of
    the kept counts, however many cities and topics there are."""
    query = select(FeedVersion.key, FeedVersion.release_count).where(
        FeedVersion.key.like(keys.CITY_PATTERN),
        FeedVersion.key.like(keys.CITY_TOPIC_INFIX),
        FeedVersion.release_count > 0,
    )
    counts: dict[tuple[int, int], int] = {}
    for key, count in session.execute(query):
        scope = keys.scope_of_key(key)
        if scope.city_id is not None and scope.topic_id is not None:
            counts[(scope.city_id, scope.topic_id)] = int(count)
    for pair in _pending(session, now).links:
        if pair in counts:
            counts[pair] -= 1
    return {pair: count for pair, count in counts.items() if count > 0}
