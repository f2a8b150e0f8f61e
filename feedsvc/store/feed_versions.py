"""Change counters of feed subjects: what tells every worker that a feed changed.

A subject key names what a feed holds: "all", "city:<id>", "region:<id>",
"topic:<id>" or "city:<id>:topic:<id>"; "catalog" counts changes to names of
cities, topics and regions, which every feed shows. Writes bump the counters of
every subject a release was or is in; an embargo running out bumps them when a
reader first notices it (`lift_embargo`), with a compare-and-set so exactly one
process does it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, Table, case, delete, select, update
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


def bump(session: Session, keys: Iterable[str], now: datetime, embargo_until: datetime | None = None) -> None:
    """Marks subjects changed; `embargo_until` (in the future) is a pending lift."""
    now_us = micros(now)
    lift_us = micros(embargo_until) if embargo_until is not None and embargo_until > now else None
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = FeedVersion.__table__
    assert isinstance(table, Table)
    for key in sorted(keys):  # a fixed order keeps concurrent writers from deadlocking
        statement = insert(table).values(key=key, version=1, changed_us=now_us, next_lift_us=lift_us)
        current = table.c.next_lift_us
        next_lift: ColumnElement[int | None] = current
        if lift_us is not None:
            next_lift = case((current.is_(None), lift_us), (current > lift_us, lift_us), else_=current)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"version": table.c.version + 1, "changed_us": now_us, "next_lift_us": next_lift},
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
