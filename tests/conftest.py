"""Fixtures: each test gets its own real database and an app with a controllable clock.

SQLite: a file per test. PostgreSQL (when FEEDSVC_TEST_DATABASE_URL names a database):
a database on that server instead. Either is migrated once per test process and is as
the migrations left it when the test begins (tests/databases.py); tests of the migrations
use `empty_database_url`, a database without tables.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from feedsvc import create_app, db
from feedsvc.migrations.runner import current_revision, head_revision, upgrade
from feedsvc.models import Base
from feedsvc.store import accounts
from tests import databases as databases_module
from tests.databases import Databases, PostgresDatabases, SqliteDatabases

# Fixtures of the API tests (api, token), of the race and the outage tests live beside their
# helpers;
# tests.app_reuse makes creating an app per test cheap.
pytest_plugins = [
    "tests.app_reuse",
    "tests.api_support",
    "tests.races",
    "tests.log_guard",
    "tests.private_postgres",
]

POSTGRES_URL = os.environ.get("FEEDSVC_TEST_DATABASE_URL", "")
BASE_URL = "http://feeds.example.test"

# Password hashes made in tests use argon2's cheapest parameters: the real ones cost about
# 50 ms of CPU each, by design, and the desk's tests make thousands.
accounts.hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass
class FakeClock:
    """A clock the test moves by hand: embargoes lift when the test says so."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# The fixtures through which a test reaches the database under test.
DATABASE_FIXTURES = frozenset({"databases", "database_url", "empty_database_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On PostgreSQL, tests that never reach the database under test (parsers, writers,
    settings, the layers) are skipped: they would only repeat what the SQLite run showed.
    Those marked `every_backend` (the escaping property test) run on every backend anyway."""
    if not POSTGRES_URL:
        return
    repeat = pytest.mark.skip(reason="uses no database: the SQLite run covers it")
    for item in items:
        reaches_database = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if not reaches_database and item.get_closest_marker("every_backend") is None:
            item.add_marker(repeat)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests that share a server or a browser are kept on one pytest-xdist worker by their
    `xdist_group`; xdist marks them by a suffix of their node id. Without it (a pytest that
    xdist does not understand) they would be spread silently, each worker starting its own
    copy of what they share: such a test fails here instead."""
    grouped = item.get_closest_marker("xdist_group") is not None
    on_a_worker = hasattr(item.config, "workerinput")
    if grouped and on_a_worker and item.config.getvalue("loadgroup") and "@" not in item.nodeid:
        pytest.fail("pytest-xdist did not group this test: install the pytest that pyproject.toml asks for")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The databases of this process (each pytest-xdist worker has its own)."""
    found = (
        PostgresDatabases(POSTGRES_URL) if POSTGRES_URL else SqliteDatabases(tmp_path_factory.mktemp("db"))
    )
    databases_module.set_this_process(found)
    yield found
    found.close()


@pytest.fixture
def database_url(databases: Databases, tmp_path: Path) -> str:
    """A database for the test alone, at the newest schema and without rows of its own."""
    return databases.migrated(tmp_path)


@pytest.fixture
def empty_database_url(databases: Databases, tmp_path: Path) -> str:
    """A database for the test alone without any table, for tests of the migrations themselves."""
    return databases.empty(tmp_path)


@functools.cache
def _head() -> str:
    return head_revision()


@pytest.fixture
def app_config(database_url: str, clock: FakeClock, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "BASE_URL": BASE_URL,
        "TAG_AUTHORITY": "feeds.example.test",
        "CLOCK": clock,
        "SECRET_KEY": "test-secret",
        # Re-read change counters on every request (PostgreSQL would trust them for a second).
        "FEED_STATE_TTL": 0.0,
        # Uploads of the test alone, never in the working tree's instance folder.
        "MEDIA_PATH": str(tmp_path / "media"),
    }


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(app_config: dict[str, Any]) -> Iterator[AppFactory]:
    """Creates further app instances on the test's database (another server, say);
    their connections are closed when the test ends."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        application = create_app({**app_config, **overrides})
        with application.app_context():
            engine = db.engine()
            # The test's database is migrated already (tests/databases.py): reading its revision
            # is all this costs. An empty or older one (migration tests, an override) migrates.
            with engine.connect() as connection:
                at_head = current_revision(connection) == _head()
            if not at_head:
                upgrade(engine)
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.engine().dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


Fill = Callable[[str, Callable[[], None]], None]


@pytest.fixture
def fill_once(app: Flask) -> Fill:
    """`fill_once(name, fill)` writes test data into the app's database with `fill`, once per
    process; later tests get a copy (`tests.databases.fill_once`)."""
    return functools.partial(databases_module.fill_once, app)


@pytest.fixture
def sample_app(app: Flask, runner: FlaskCliRunner, fill_once: Fill) -> Flask:
    """The app with the sample data of data/ loaded."""

    def load() -> None:
        result = runner.invoke(args=["load-sample"])
        assert result.exit_code == 0, result.output

    fill_once("sample", load)
    return app


def all_tables_empty(app: Flask) -> bool:
    with app.app_context():
        session = db.session()
        return all(
            session.execute(text(f"SELECT COUNT(*) FROM {t.name}")).scalar() == 0
            for t in Base.metadata.sorted_tables
        )
