"""The tests' own databases (tests/databases.py): whatever one test did to its database, the
next finds it as the migrations left it. On PostgreSQL that is one database, put back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from feedsvc.db import make_engine
from feedsvc.migrations.runner import current_revision, head_revision, upgrade
from tests.databases import Databases


def _directory(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return directory


def _contents(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.scalar(text(f"SELECT COUNT(*) FROM {name}")) or 0
            for name in inspect(connection).get_table_names()
        }


def _new_region(engine: Engine) -> int:
    with engine.begin() as connection:
        region_id = connection.scalar(
            text("INSERT INTO regions (slug, name, state) VALUES ('r', 'Region', 'Bayern') RETURNING id")
        )
    assert isinstance(region_id, int)
    return region_id


def test_rows_and_ids_used_by_one_test_are_back_as_migrated_for_the_next(
    databases: Databases, tmp_path: Path
) -> None:
    first = make_engine(databases.migrated(_directory(tmp_path, "first")))
    before = _contents(first)
    region_id = _new_region(first)
    with first.begin() as connection:
        connection.execute(text("INSERT INTO regions (slug, name, state) VALUES ('s', 'Zweite', 'Bayern')"))
    first.dispose()
    second = make_engine(databases.migrated(_directory(tmp_path, "second")))
    assert _contents(second) == before
    assert _new_region(second) == region_id
    second.dispose()


def test_a_schema_changed_by_one_test_is_back_as_migrated_for_the_next(
    databases: Databases, tmp_path: Path
) -> None:
    first = make_engine(databases.migrated(_directory(tmp_path, "first")))
    tables = set(inspect(first).get_table_names())
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
        connection.execute(text("DROP TABLE release_images"))
    first.dispose()
    second = make_engine(databases.migrated(_directory(tmp_path, "second")))
    assert set(inspect(second).get_table_names()) == tables
    with second.connect() as connection:
        assert current_revision(connection) == head_revision()
    second.dispose()


def test_an_empty_database_has_no_tables_whatever_the_test_before_did(
    databases: Databases, tmp_path: Path
) -> None:
    first = make_engine(databases.empty(_directory(tmp_path, "first")))
    upgrade(first)
    first.dispose()
    second = make_engine(databases.empty(_directory(tmp_path, "second")))
    assert inspect(second).get_table_names() == []
    second.dispose()
