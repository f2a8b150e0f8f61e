"""Fixtures: each test gets its own real database and an app with a controllable clock.

SQLite: a fresh file per test. PostgreSQL: when FEEDSVC_TEST_DATABASE_URL names
one, each test gets an empty schema in that database instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from feedsvc import create_app, db, schema
from feedsvc.models import Base

# Fixtures of the API tests (api, token) and of the race tests live beside their helpers.
pytest_plugins = ["tests.api_support", "tests.races"]

POSTGRES_URL = os.environ.get("FEEDSVC_TEST_DATABASE_URL", "")
BASE_URL = "http://feeds.example.test"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass
class FakeClock:
    """A clock the test moves by hand: embargoes lift when the test says so."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'feedsvc.sqlite3'}"
        return
    from feedsvc.db import make_engine

    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield POSTGRES_URL


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
            schema.upgrade(db.engine())
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


@pytest.fixture
def sample_app(app: Flask, runner: FlaskCliRunner) -> Flask:
    """The app with the sample data of data/ loaded."""
    result = runner.invoke(args=["load-sample"])
    assert result.exit_code == 0, result.output
    return app


def all_tables_empty(app: Flask) -> bool:
    with app.app_context():
        session = db.session()
        return all(
            session.execute(text(f"SELECT COUNT(*) FROM {t.name}")).scalar() == 0
            for t in Base.metadata.sorted_tables
        )
