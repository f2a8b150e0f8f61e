"""Change counters of feed subjects: what tells every worker that a feed changed.

Writes bump the counter of every subject (`keys`) a release was or is in, in the
same transaction, and add the change to the outbox (`store.outbox`) that the
delivery worker works off; a change to a release still under embargo is
delivered at its embargo instant, never before, and until then moves only the
journalists' counters (`bump(hidden=True)`): before its instant an embargo
changes nothing an outsider can observe. An embargo
running out bumps them when a reader or the worker first notices it
(`lift_embargo`), with a compare-and-set so exactly one process does it; each
subject keeps the instant of its next lift, so nobody has to look for it.
`StateReader` reads the counters as cheaply as the backend allows.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Table, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from feedsvc.models import FeedVersion, Release, ReleaseTopic
from feedsvc.store import outbox, region_tree
from feedsvc.store.keys import journalist_key, scope_of_key
from feedsvc.store.scope import Scope

# How long the outbox keeps a change that some delivery target has not taken yet.
CHANGE_LOG_RETENTION_US = 7 * 24 * 3600 * 1_000_000


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


def bump(
    session: Session,
    keys: Iterable[str],
    now: datetime,
    embargo_until: datetime | None = None,
    counted: Mapping[str, int] | None = None,
    *,
    event: str | None = "changed",
    release_id: int | None = None,
    deliver_at: datetime | None = None,
    hidden: bool = False,
) -> None:
    """Marks subjects changed; `embargo_until` (in the future) is a pending lift;
    `counted` adds to (or, negative, takes from) the subjects' release counts.

    The change goes into the outbox as one entry of kind `event` (with its release, if
    any; None: nothing to deliver), delivered from `deliver_at` on (default: at once):
    a release that nobody could see before this write is delivered at its embargo instant.

    `hidden`: the write changes nothing the public can see (a release under embargo before
    and after it). The subjects' counters then stay exactly as they were, so no public
    feed's ETag, Last-Modified or bytes tell anybody that something is scheduled; only
    the journalists' counters (`keys.journalist_key`) move. The pending lift is kept, and
    at the lift the public counters change, once, for everything at once."""
    counted = counted or {}
    keys = sorted(set(keys))  # a fixed order keeps concurrent writers from deadlocking
    now_us = micros(now)
    lift_us = micros(embargo_until) if embargo_until is not None and embargo_until > now else None
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = FeedVersion.__table__
    assert isinstance(table, Table)
    for key in keys:
        added = counted.get(key, 0)
        # A subject first written by a hidden write looks exactly like one never written.
        statement = insert(table).values(
            key=key,
            version=0 if hidden else 1,
            changed_us=0 if hidden else now_us,
            next_lift_us=lift_us,
            release_count=max(added, 0),
        )
        current = table.c.next_lift_us
        next_lift: ColumnElement[int | None] = current
        if lift_us is not None:
            next_lift = case((current.is_(None), lift_us), (current > lift_us, lift_us), else_=current)
        changed: dict[str, Any] = {"next_lift_us": next_lift, "release_count": table.c.release_count + added}
        if not hidden:
            changed |= {"version": table.c.version + 1, "changed_us": now_us}
        session.execute(statement.on_conflict_do_update(index_elements=[table.c.key], set_=changed))
    if hidden:
        for key in keys:
            statement = insert(table).values(
                key=journalist_key(key), version=1, changed_us=now_us, next_lift_us=None, release_count=0
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.key],
                    set_={"version": table.c.version + 1, "changed_us": now_us},
                )
            )
    if keys and event is not None:
        due_us = max(now_us, micros(deliver_at)) if deliver_at is not None else now_us
        outbox.record(session, event, keys, created_us=now_us, due_us=due_us, release_id=release_id)
    # Without a running worker nobody takes from the outbox: keep it bounded.
    outbox.prune_older_than(session, now_us - CHANGE_LOG_RETENTION_US)


def states(connection: Connection, keys: Iterable[str]) -> dict[str, FeedState]:
    """The current state of each key; a key never written has `NO_STATE`."""
    wanted = list(keys)
    query = select(FeedVersion.key, FeedVersion.version, FeedVersion.changed_us, FeedVersion.next_lift_us)
    rows = connection.execute(query.where(FeedVersion.key.in_(wanted)))
    found = {row.key: FeedState(row.version, row.changed_us, row.next_lift_us) for row in rows}
    return {key: found.get(key, NO_STATE) for key in wanted}


def _first_published(
    session: Session, scope: Scope, after: datetime, until: datetime | None = None
) -> datetime | None:
    """The earliest `published_at` of the scope's releases after `after` (and up to `until`).
    Retracted releases never become visible: they are not counted."""
    if scope.topic_id is not None:
        link = ReleaseTopic
        column = link.published_at
        query = (
            select(column)
            .join(Release, Release.id == link.release_id)
            .where(link.topic_id == scope.topic_id, Release.retracted_at.is_(None))
        )
        if scope.city_id is not None:
            query = query.where(link.city_id == scope.city_id)
    else:
        column = Release.published_at
        query = select(column).where(Release.retracted_at.is_(None))
        if scope.city_id is not None:
            query = query.where(Release.city_id == scope.city_id)
        if scope.region_id is not None:
            query = query.where(region_tree.within(session, Release.region_id, scope.region_id))
    query = query.where(column > after)
    if until is not None:
        query = query.where(column <= until)
    return session.scalars(query.order_by(column).limit(1)).first()


def next_embargo(session: Session, scope: Scope, now: datetime) -> datetime | None:
    """The earliest instant after `now` at which a release of the scope becomes visible."""
    return _first_published(session, scope, now)


def lift_embargo(session: Session, key: str, seen_lift_us: int, now: datetime) -> bool:
    """An embargo of `key` ran out: bump it once, at the lift instant, and find the next.

    Returns False when another process already did it (the compare-and-set on
    `next_lift_us` found another value). The counters move, and the lift goes into
    the outbox, only when a release became visible by it: a lift may be early (its
    release was moved or retracted), and then nothing changed that anybody could see,
    so nothing may tell them that something had been scheduled for that instant.
    """
    scope = scope_of_key(key)
    upcoming = next_embargo(session, scope, now)
    lift_us = max(seen_lift_us, 0)
    shown = _first_published(session, scope, from_micros(lift_us - 1), now) is not None
    moved: dict[str, Any] = {"next_lift_us": micros(upcoming) if upcoming is not None else None}
    if shown:
        moved |= {
            "version": FeedVersion.version + 1,
            # The content changed at the lift instant, not when somebody noticed.
            "changed_us": case(
                (FeedVersion.changed_us > seen_lift_us, FeedVersion.changed_us), else_=seen_lift_us
            ),
        }
    result = session.execute(
        update(FeedVersion)
        .where(FeedVersion.key == key, FeedVersion.next_lift_us == seen_lift_us)
        .values(**moved)
    )
    lifted = bool(result.rowcount)  # type: ignore[attr-defined]
    if lifted and shown:
        # Due since the lift instant: a lift noticed late shows as delivery lag.
        outbox.record(session, "embargo_lifted", [key], created_us=micros(now), due_us=lift_us)
    return lifted


def lift_due_embargoes(session: Session, now: datetime) -> list[str]:
    """Lifts every embargo that ran out by `now`; the keys this process lifted."""
    due = session.execute(
        select(FeedVersion.key, FeedVersion.next_lift_us).where(FeedVersion.next_lift_us <= micros(now))
    ).all()
    return [key for key, seen in due if seen is not None and lift_embargo(session, key, seen, now)]


def next_lift_us(session: Session) -> int | None:
    """The earliest pending embargo lift of any subject, in microseconds."""
    value: int | None = session.scalar(select(func.min(FeedVersion.next_lift_us)))
    return value


class StateReader:
    """Current change counters of feed subjects, read as cheaply as the backend allows.

    SQLite: a read-only connection per thread asks `PRAGMA data_version`, which
    changes whenever another connection committed; counters read before stay
    valid until then. Other backends: counters are re-read after `ttl` seconds.
    """

    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._local = threading.local()
        self.dialect: str = engine.dialect.name
        self._sqlite_path = engine.url.database if self.dialect == "sqlite" else None

    def states(self, keys: Sequence[str], fresh: bool = False) -> dict[str, FeedState]:
        try:
            memo, stamp = self._memo(fresh)
            missing = [key for key in keys if key not in memo]
            if missing:
                memo.update(self._read(missing))
        except sqlite3.Error as error:
            # Raised as SQLAlchemy raises errors of its own connections, so that callers
            # tell an outage from a bug one way (db.is_outage); the next call reconnects.
            self._local.sqlite = None
            raise DBAPIError.instance("feed_versions", None, error, sqlite3.Error) from error
        self._local.stamp = stamp
        return {key: memo[key] for key in keys}

    def forget(self) -> None:
        self._local.memo = {}

    def _memo(self, fresh: bool) -> tuple[dict[str, FeedState], object]:
        memo: dict[str, FeedState] | None = getattr(self._local, "memo", None)
        previous = getattr(self._local, "stamp", None)
        if self._sqlite_path:
            stamp: object = self._sqlite().execute("PRAGMA data_version").fetchone()[0]
            valid = stamp == previous
        else:
            now = time.monotonic()
            valid = isinstance(previous, float) and now - previous < self._ttl
            stamp = previous if valid else now
        if memo is None or fresh or not valid:
            memo = {}
            self._local.memo = memo
        return memo, stamp

    def _sqlite(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "sqlite", None)
        if connection is None:
            assert self._sqlite_path is not None
            connection = sqlite3.connect(
                f"file:{self._sqlite_path}?mode=ro", uri=True, check_same_thread=False
            )
            self._local.sqlite = connection
        return connection

    def _read(self, keys: list[str]) -> dict[str, FeedState]:
        if self._sqlite_path:
            marks = ",".join("?" * len(keys))
            query = f"SELECT key, version, changed_us, next_lift_us FROM feed_versions WHERE key IN ({marks})"
            found = {row[0]: FeedState(row[1], row[2], row[3]) for row in self._sqlite().execute(query, keys)}
            return {key: found.get(key, NO_STATE) for key in keys}
        with self._engine.connect() as connection:
            return states(connection, keys)
