"""The store: timestamps stay aware UTC, feed queries walk an index, WAL is on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.models import Release
from feedsvc.store.releases import newest_visible_ids, recently_retracted
from feedsvc.store.scope import Cursor, Scope
from tests.conftest import POSTGRES_URL
from tests.factories import add_release, get_release, make_catalog

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="checks SQLite's query planner and pragmas")


def test_timestamps_come_back_as_aware_utc(app: Flask) -> None:
    make_catalog(app)
    tokyo = timezone(timedelta(hours=9))
    release_id = add_release(app, published_at=datetime(2026, 11, 20, 18, 30, tzinfo=tokyo))
    release = get_release(app, release_id)
    assert release.published_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert release.published_at.tzinfo is UTC
    assert release.created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(app: Flask) -> None:
    make_catalog(app)
    release_id = add_release(app)
    with app.app_context():
        session = db.session()
        release = session.get(Release, release_id)
        assert release is not None
        release.updated_at = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
        with pytest.raises(Exception, match="naive datetime"):
            session.flush()


def _plan(session: Session, scope: Scope, after: Cursor | None = None, query: str = "newest") -> str:
    captured: list[str] = []
    connection = session.connection()

    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            captured.append(" | ".join(str(row[-1]) for row in rows))

    from sqlalchemy import event

    event.listen(connection, "before_cursor_execute", explain)
    try:
        if query == "newest":
            newest_visible_ids(session, scope, datetime.now(UTC), 50, after)
        else:
            recently_retracted(session, scope, datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    return captured[0]


@sqlite_only
@pytest.mark.parametrize(
    ("scope", "index"),
    [
        (Scope(), "ix_releases_newest"),
        (Scope(city_id=1), "ix_releases_city_newest"),
        (Scope(region_id=1), "ix_releases_region_newest"),
        (Scope(topic_id=1), "ix_release_topics_topic_newest"),
        (Scope(city_id=1, topic_id=1), "ix_release_topics_city_topic_newest"),
    ],
)
def test_newest_releases_of_every_scope_are_an_index_range_scan(app: Flask, scope: Scope, index: str) -> None:
    make_catalog(app)
    with app.app_context():
        session = db.session()
        for after in (None, Cursor(datetime(2026, 1, 1, tzinfo=UTC), 10)):
            plan = _plan(session, scope, after)
            assert index in plan
            assert "TEMP B-TREE" not in plan, plan


@sqlite_only
def test_sqlite_runs_in_wal_mode(app: Flask) -> None:
    with app.app_context():
        assert db.session().execute(text("PRAGMA journal_mode")).scalar() == "wal"


@sqlite_only
@pytest.mark.parametrize(
    ("scope", "index"),
    [
        (Scope(), "ix_releases_retracted"),
        (Scope(city_id=1), "ix_releases_city_retracted"),
        (Scope(region_id=1), "ix_releases_region_retracted"),
        (Scope(topic_id=1), "ix_releases_retracted"),
    ],
)
def test_tombstone_queries_read_only_retracted_rows(app: Flask, scope: Scope, index: str) -> None:
    make_catalog(app)
    with app.app_context():
        plan = _plan(db.session(), scope, query="retracted")
        assert index in plan, plan
