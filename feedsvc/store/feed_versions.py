"""Change counters of feed subjects: what tells every worker that a feed changed.

A subject key names what a feed holds: "all", "city:<id>", "region:<id>",
"topic:<id>" or "city:<id>:topic:<id>"; "catalog" counts changes to names of
cities, topics and regions, which every feed shows. Writes bump the counters of
every subject a release was or is in; an embargo running out bumps them when a
reader first notices it (`lift_embargo`), with a compare-and-set so exactly one
process does it. Each subject also keeps how many releases it holds (retracted
ones not, embargoed ones too), changed by the same writes in the same statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, Table, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from feedsvc.models import FeedChange, FeedVersion, Release, ReleaseTopic
from feedsvc.store.scope import Scope

ALL_KEY = "all"
# How long the change log keeps a change a WebSub hub has not been told of yet.
CHANGE_LOG_RETENTION_US = 7 * 24 * 3600 * 1_000_000
CATALOG_KEY = "catalog"


@dataclass(frozen=True)
class FeedState:
    version: int
    changed_us: int
    next_lift_us: int | None

    def lift_due(self, now: datetime) -> bool:
        """Whether an embargo of the subject ran out by `now` and has not been lifted yet."""
        return self.next_lift_us is not None and self.next_lift_us <= micros(now)


NO_STATE = FeedState(version=0, changed_us=0, next_lift_us=None)


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def scope_key(scope: Scope) -> str:
    if scope.region_id is not None:
        return f"region:{scope.region_id}"
    if scope.city_id is not None and scope.topic_id is not None:
        return f"city:{scope.city_id}:topic:{scope.topic_id}"
    if scope.city_id is not None:
        return f"city:{scope.city_id}"
    if scope.topic_id is not None:
        return f"topic:{scope.topic_id}"
    return ALL_KEY


def scope_of_key(key: str) -> Scope:
    parts = key.split(":")
    fields = {parts[i]: int(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}
    return Scope(city_id=fields.get("city"), topic_id=fields.get("topic"), region_id=fields.get("region"))


def release_keys(release: Release) -> set[str]:
    """Every subject whose feed holds this release."""
    keys = {ALL_KEY, f"city:{release.city_id}", f"region:{release.region_id}"}
    for link in release.topic_links:
        keys |= {f"topic:{link.topic_id}", f"city:{release.city_id}:topic:{link.topic_id}"}
    return keys


def bump(
    session: Session,
    keys: Iterable[str],
    now: datetime,
    embargo_until: datetime | None = None,
    counted: Mapping[str, int] | None = None,
) -> None:
    """Marks subjects changed; `embargo_until` (in the future) is a pending lift;
    `counted` adds to (or, negative, takes from) the subjects' release counts."""
    counted = counted or {}
    now_us = micros(now)
    lift_us = micros(embargo_until) if embargo_until is not None and embargo_until > now else None
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = FeedVersion.__table__
    assert isinstance(table, Table)
    for key in sorted(keys):  # a fixed order keeps concurrent writers from deadlocking
        added = counted.get(key, 0)
        statement = insert(table).values(
            key=key, version=1, changed_us=now_us, next_lift_us=lift_us, release_count=max(added, 0)
        )
        current = table.c.next_lift_us
        next_lift: ColumnElement[int | None] = current
        if lift_us is not None:
            next_lift = case((current.is_(None), lift_us), (current > lift_us, lift_us), else_=current)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "version": table.c.version + 1,
                "changed_us": now_us,
                "next_lift_us": next_lift,
                "release_count": table.c.release_count + added,
            },
        )
        session.execute(statement)
        session.add(FeedChange(key=key, changed_us=now_us))
    _prune_changes(session, now_us)


def _prune_changes(session: Session, now_us: int) -> None:
    # Without a running notifier nobody reads the log: keep it bounded.
    horizon = now_us - CHANGE_LOG_RETENTION_US
    session.execute(delete(FeedChange).where(FeedChange.changed_us < horizon))


def states(connection: Connection, keys: Iterable[str]) -> dict[str, FeedState]:
    """The current state of each key; a key never written has `NO_STATE`."""
    wanted = list(keys)
    query = select(FeedVersion.key, FeedVersion.version, FeedVersion.changed_us, FeedVersion.next_lift_us)
    rows = connection.execute(query.where(FeedVersion.key.in_(wanted)))
    found = {row.key: FeedState(row.version, row.changed_us, row.next_lift_us) for row in rows}
    return {key: found.get(key, NO_STATE) for key in wanted}


def release_count(session: Session, scope: Scope) -> int:
    """Releases the subject holds (not retracted, embargoed ones included)."""
    count = session.scalar(select(FeedVersion.release_count).where(FeedVersion.key == scope_key(scope)))
    return int(count or 0)


def city_release_counts(session: Session, topic_id: int | None = None) -> dict[int, int]:
    """Releases each city holds (of one topic); cities never written are absent."""
    pattern = "city:%:topic:" + str(topic_id) if topic_id is not None else "city:%"
    query = select(FeedVersion.key, FeedVersion.release_count).where(FeedVersion.key.like(pattern))
    if topic_id is None:
        query = query.where(FeedVersion.key.not_like("%:topic:%"))
    counts: dict[int, int] = {}
    for key, count in session.execute(query):
        city_id = scope_of_key(key).city_id
        if city_id is not None:
            counts[city_id] = int(count)
    return counts


def topic_release_counts(session: Session, city_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Releases each topic holds, in all cities or summed over `city_ids`."""
    query = select(FeedVersion.key, FeedVersion.release_count)
    if city_ids is None:
        query = query.where(FeedVersion.key.like("topic:%"))
    else:
        cities = list(city_ids)
        if not cities:
            return {}
        query = query.where(or_(*(FeedVersion.key.like(f"city:{city_id}:topic:%") for city_id in cities)))
    counts: dict[int, int] = {}
    for key, count in session.execute(query):
        topic_id = scope_of_key(key).topic_id
        if topic_id is not None:
            counts[topic_id] = counts.get(topic_id, 0) + int(count)
    return counts


def counted_releases(session: Session) -> dict[str, int]:
    """Every subject's release count as the releases themselves say (not as kept)."""
    held = Release.retracted_at.is_(None)
    topic_links = select(ReleaseTopic.city_id, ReleaseTopic.topic_id, func.count()).join(
        Release, Release.id == ReleaseTopic.release_id
    )
    counts = {ALL_KEY: int(session.scalar(select(func.count()).select_from(Release).where(held)) or 0)}
    for column, kind in ((Release.city_id, "city"), (Release.region_id, "region")):
        for subject_id, count in session.execute(select(column, func.count()).where(held).group_by(column)):
            counts[f"{kind}:{subject_id}"] = int(count)
    grouped = topic_links.where(held).group_by(ReleaseTopic.city_id, ReleaseTopic.topic_id)
    for city_id, topic_id, count in session.execute(grouped):
        counts[f"city:{city_id}:topic:{topic_id}"] = int(count)
        counts[f"topic:{topic_id}"] = counts.get(f"topic:{topic_id}", 0) + int(count)
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


def next_embargo(session: Session, scope: Scope, now: datetime) -> datetime | None:
    """The earliest instant after `now` at which a release of the scope becomes visible."""
    if scope.topic_id is not None:
        link = ReleaseTopic
        query = select(link.published_at).where(link.topic_id == scope.topic_id, link.published_at > now)
        if scope.city_id is not None:
            query = query.where(link.city_id == scope.city_id)
        query = query.order_by(link.published_at)
    else:
        query = select(Release.published_at).where(Release.published_at > now)
        if scope.city_id is not None:
            query = query.where(Release.city_id == scope.city_id)
        if scope.region_id is not None:
            query = query.where(Release.region_id == scope.region_id)
        query = query.order_by(Release.published_at)
    return session.scalars(query.limit(1)).first()


def lift_embargo(session: Session, key: str, seen_lift_us: int, now: datetime) -> bool:
    """An embargo of `key` ran out: bump it once, at the lift instant, and find the next.

    Returns False when another process already did it (the compare-and-set on
    `next_lift_us` found another value).
    """
    upcoming = next_embargo(session, scope_of_key(key), now)
    result = session.execute(
        update(FeedVersion)
        .where(FeedVersion.key == key, FeedVersion.next_lift_us == seen_lift_us)
        .values(
            version=FeedVersion.version + 1,
            # The content changed at the lift instant, not when somebody noticed.
            changed_us=case(
                (FeedVersion.changed_us > seen_lift_us, FeedVersion.changed_us), else_=seen_lift_us
            ),
            next_lift_us=micros(upcoming) if upcoming is not None else None,
        )
    )
    lifted = bool(result.rowcount)  # type: ignore[attr-defined]
    if lifted:
        session.add(FeedChange(key=key, changed_us=max(seen_lift_us, 0)))
    return lifted
