"""Migrations: an empty or older database reaches the current schema with its data intact,
and the migrations build exactly what the models describe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.db import make_engine
from feedsvc.migrations import include_object
from feedsvc.migrations import runner as migrations
from feedsvc.models import Base
from feedsvc.store import counts as kept_counts
from feedsvc.store.changes import micros
from tests.conftest import POSTGRES_URL, AppFactory, FakeClock
from tests.factories import add_release, make_catalog

HEAD = migrations.head_revision()


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """Here every test, and every app it makes, starts from a database without tables:
    the migrations are what is under test, not the template the other tests copy."""
    return empty_database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current_revision(connection)


def test_an_empty_database_is_migrated_to_exactly_what_the_models_describe(engine: Engine) -> None:
    migrations.upgrade(engine)
    assert revision_of(engine) == HEAD
    assert differences(engine) == []


def test_upgrading_a_current_database_changes_nothing(engine: Engine) -> None:
    migrations.upgrade(engine)
    migrations.upgrade(engine)
    assert revision_of(engine) == HEAD


def test_every_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    migrations.upgrade(engine)
    assert migrations.migrate(engine, "base") == (HEAD, None)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert migrations.migrate(engine, "0001") == (None, "0001")
    assert migrations.migrate(engine, HEAD) == ("0001", HEAD)
    assert differences(engine) == []


# --- an old database with data ---------------------------------------------------------------------

# What a database created by the first release held: SQL against the 0001 schema, as
# that code wrote it (`summary_derived` and the HTML body already there, no body_text).
OLD_ROWS = [
    "INSERT INTO regions (id, slug, name, state) "
    "VALUES (1, 'region-rosenheim', 'Region Rosenheim', 'Bayern')",
    "INSERT INTO cities (id, slug, name, state, ags, region_id) "
    "VALUES (1, 'rosenheim', 'Rosenheim', 'Bayern', '09163000', 1)",
    "INSERT INTO topics (id, slug, name) VALUES (1, 'soziales-familie', 'Soziales & Familie')",
    "INSERT INTO publishers (id, name, created_at) VALUES (1, 'Pressestelle Rosenheim', :long_ago)",
    "INSERT INTO publisher_cities (publisher_id, city_id) VALUES (1, 1)",
    "INSERT INTO tokens (id, publisher_id, secret_hash, role, label, is_active, created_at) "
    "VALUES (1, 1, :hash, 'publisher', 'CMS', :yes, :long_ago)",
    "INSERT INTO token_cities (token_id, city_id) VALUES (1, 1)",
]
OLD_RELEASE = (
    "INSERT INTO releases (id, guid, publisher_id, external_id, city_id, region_id, title, summary, "
    "summary_derived, body_html, author, language, content_hash, published_at, created_at, updated_at, "
    "revision, retracted_at) VALUES (:id, :guid, 1, NULL, 1, 1, :title, :summary, :derived, :body, "
    "'Pressestelle Rosenheim', 'de', :hash, :published, :long_ago, :long_ago, 1, :retracted)"
)
OLD_TOPIC_LINK = (
    "INSERT INTO release_topics (release_id, topic_id, city_id, published_at) VALUES (:id, 1, 1, :published)"
)
OLD_IMAGE = (
    "INSERT INTO release_images (id, release_id, position, url, caption, credit, media_type, length) "
    "VALUES (1, 1, 0, 'https://img.example.test/a.jpg', 'Das Rathaus', 'Stadt Rosenheim', 'image/jpeg', 1234)"
)


def _stamp(engine: Engine, moment: datetime) -> Any:
    # The first release stored naive UTC on SQLite (models.UTCDateTime) and timestamptz on PostgreSQL.
    if engine.dialect.name == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def fill_as_revision_0001(engine: Engine, now: datetime) -> None:
    long_ago = _stamp(engine, now - timedelta(days=30))
    releases: list[dict[str, Any]] = [
        {
            "id": 1,
            "title": "Stadt kämpft gegen Wohnungsnot",
            "summary": "Ein eigener Vorspann.",
            "derived": False,
            "body": "<p>Der Stadtrat beschließt ein <strong>Förderprogramm</strong> für Wohnungen.</p>",
            "published": _stamp(engine, now - timedelta(days=1)),
            "retracted": None,
        },
        {
            "id": 2,
            "title": "Sperrfrist: Neues Bürgerhaus",
            "summary": "Das Bürgerhaus öffnet.",
            "derived": True,
            "body": "<p>Das Bürgerhaus öffnet.</p>",
            "published": _stamp(engine, now + timedelta(hours=2)),
            "retracted": None,
        },
        {
            "id": 3,
            "title": "Zurückgezogen: falsche Zahlen",
            "summary": "Falsch.",
            "derived": True,
            "body": "<p>Falsch.</p>",
            "published": _stamp(engine, now - timedelta(days=2)),
            "retracted": _stamp(engine, now - timedelta(hours=1)),
        },
    ]
    with engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement), {"long_ago": long_ago, "hash": "0" * 64, "yes": True})
        for release in releases:
            connection.execute(
                text(OLD_RELEASE),
                {
                    **release,
                    "guid": f"tag:feeds.example.test,2026-10-01:release:{release['id']}",
                    "hash": str(release["id"]) * 64,
                    "long_ago": long_ago,
                },
            )
            connection.execute(text(OLD_TOPIC_LINK), release)
        connection.execute(text(OLD_IMAGE))
        if engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
            for table in (
                "regions",
                "cities",
                "topics",
                "publishers",
                "tokens",
                "releases",
                "release_images",
            ):
                connection.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


def test_a_database_of_the_first_release_keeps_its_data_and_gains_the_new_columns(engine: Engine) -> None:
    now = datetime.now(UTC)
    migrations.upgrade(engine, "0001")
    fill_as_revision_0001(engine, now)
    migrations.upgrade(engine)
    assert revision_of(engine) == HEAD
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, title, summary, summary_derived, body_text, revision FROM releases ORDER BY id")
        ).all()
        counts = {
            table: connection.scalar(text(f"SELECT COUNT(*) FROM {table}"))
            for table in ("release_topics", "release_images", "token_cities", "publisher_cities")
        }
        versions: dict[str, int] = {
            row.key: row.next_lift_us
            for row in connection.execute(text("SELECT key, next_lift_us FROM feed_versions"))
        }
        kept = {
            row.key: row.release_count
            for row in connection.execute(text("SELECT key, release_count FROM feed_versions"))
        }
    with Session(engine) as session:
        assert kept == kept_counts.counted_releases(session)
    assert [(row.id, row.title, row.revision) for row in rows] == [
        (1, "Stadt kämpft gegen Wohnungsnot", 1),
        (2, "Sperrfrist: Neues Bürgerhaus", 1),
        (3, "Zurückgezogen: falsche Zahlen", 1),
    ]
    assert [bool(row.summary_derived) for row in rows] == [False, True, True]
    assert rows[0].body_text == "Der Stadtrat beschließt ein Förderprogramm für Wohnungen."
    assert counts == {"release_topics": 3, "release_images": 1, "token_cities": 1, "publisher_cities": 1}
    # The pending embargo is known to every subject holding it; nothing else needs a row.
    lift = micros(now + timedelta(hours=2))
    assert versions == {
        key: pytest.approx(lift, abs=1) for key in ("all", "city:1", "region:1", "topic:1", "city:1:topic:1")
    }
    # Migration 0006 counted what the subjects hold: the retracted release is not among them.
    assert kept == {"all": 2, "city:1": 2, "region:1": 2, "topic:1": 2, "city:1:topic:1": 2}


def test_feeds_and_search_work_on_an_upgraded_database(engine: Engine, make_app: AppFactory) -> None:
    now = datetime.now(UTC)
    migrations.upgrade(engine, "0001")
    fill_as_revision_0001(engine, now)
    migrations.upgrade(engine)
    clock = FakeClock(now=now)
    client = make_app(CLOCK=clock).test_client()

    def titles(url: str) -> list[str]:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [entry.title for entry in feedparser.parse(response.data).entries]

    assert titles("/cities/rosenheim/feed.atom") == ["Stadt kämpft gegen Wohnungsnot"]
    assert titles("/topics/soziales-familie/feed.atom?q=F%C3%B6rderprogramm") == [
        "Stadt kämpft gegen Wohnungsnot"
    ]
    assert titles("/feed.atom?q=Zahlen") == []
    # The cached feeds learn of the embargo lift from the rows migration 0002 seeded.
    clock.advance(hours=2)
    assert titles("/cities/rosenheim/feed.atom") == [
        "Sperrfrist: Neues Bürgerhaus",
        "Stadt kämpft gegen Wohnungsnot",
    ]
    assert titles("/feed.atom?q=B%C3%BCrgerhaus") == ["Sperrfrist: Neues Bürgerhaus"]


# --- the commands ------------------------------------------------------------------------------------


def test_migrate_stamp_records_a_revision_and_changes_nothing_else(
    runner: FlaskCliRunner, engine: Engine
) -> None:
    migrations.upgrade(engine, "0003")
    tables = set(inspect(engine).get_table_names())
    result = runner.invoke(args=["migrate", "0002", "--stamp"])
    assert result.exit_code == 0, result.output
    assert revision_of(engine) == "0002"
    assert set(inspect(engine).get_table_names()) == tables, "stamping migrates nothing"


def test_migrate_command_upgrades_downgrades_and_reports_revisions(runner: FlaskCliRunner) -> None:
    down = runner.invoke(args=["migrate", "0002"])
    assert down.exit_code == 0, down.output
    assert f"database at 0002 (was {HEAD}; newest is {HEAD})" in down.output
    up = runner.invoke(args=["migrate"])
    assert up.exit_code == 0, up.output
    assert f"database at {HEAD} (was 0002" in up.output
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "database ready" in again.output


def test_migrate_command_refuses_an_unknown_revision(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["migrate", "9999"])
    assert result.exit_code == 1
    assert "9999" in result.output


@pytest.mark.skipif(bool(POSTGRES_URL), reason="checks SQLite's foreign key pragma")
def test_sqlite_connections_keep_foreign_keys_on_after_migrating(engine: Engine) -> None:
    migrations.upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's move-and-copy batches")
def test_a_sqlite_batch_migration_of_releases_keeps_the_rows_that_refer_to_them(make_app: AppFactory) -> None:
    app = make_app()
    make_catalog(app)
    add_release(app, topics=("verkehr", "kultur"))
    with app.app_context():
        engine = db.engine()
    # What a later migration does to change a column on SQLite: copy the table, drop the old one.
    # With foreign keys on, that drop would delete every release_topics row (ON DELETE CASCADE).
    with migrations.migration_connection(engine) as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("releases", recreate="always"):
            pass
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT COUNT(*) FROM release_topics")) == 2


@pytest.mark.skipif(not POSTGRES_URL, reason="app servers migrating at once share a PostgreSQL server")
def test_app_servers_starting_at_once_migrate_once(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    failures: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            migrations.upgrade(engine)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert failures == []
    check = make_engine(database_url)
    assert revision_of(check) == HEAD
    check.dispose()


def test_old_releases_keep_the_link_their_title_gave_them(engine: Engine, make_app: AppFactory) -> None:
    """Migration 0008 stores each release's slug: the link readers know, fixed from then on."""
    now = datetime.now(UTC)
    migrations.upgrade(engine, "0001")
    fill_as_revision_0001(engine, now)
    migrations.upgrade(engine)
    with engine.connect() as connection:
        slugs = connection.execute(text("SELECT id, slug FROM releases ORDER BY id")).all()
    assert [tuple(row) for row in slugs] == [
        (1, "stadt-kaempft-gegen-wohnungsnot"),
        (2, "sperrfrist-neues-buergerhaus"),
        (3, "zurueckgezogen-falsche-zahlen"),
    ]
    client = make_app(CLOCK=FakeClock(now=now)).test_client()
    entry = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).entries[0]
    assert entry.link == "http://feeds.example.test/releases/1-stadt-kaempft-gegen-wohnungsnot"
