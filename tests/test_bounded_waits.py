"""Bounded waits on PostgreSQL: a write that cannot get its lock answers 503 with Retry-After
within the lock timeout, never gunicorn's 500 after 30 s (docs/operations.md#when-the-database-is-down)."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import text

from feedsvc.db import make_engine
from tests.api_support import bearer, make_token, problem_of
from tests.conftest import AppFactory
from tests.factories import add_release, make_catalog
from tests.private_postgres import PrivatePostgres

pytestmark = pytest.mark.xdist_group("private_postgres")


@pytest.fixture
def locked_app(private_postgres: PrivatePostgres, make_app: AppFactory) -> Flask:
    if not private_postgres.running:
        private_postgres.start()
    engine = make_engine(private_postgres.url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = make_app(DATABASE_URL=private_postgres.url, DB_LOCK_TIMEOUT=1.0)
    make_catalog(app)
    return app


def test_a_write_that_cannot_get_its_lock_answers_503_in_bounded_time(
    locked_app: Flask,
    private_postgres: PrivatePostgres,
) -> None:
    release_id = add_release(locked_app, minutes_ago=5)
    headers = bearer(make_token(locked_app))
    holder = make_engine(private_postgres.url)
    try:
        with holder.connect() as connection:
            # A long import holding the release's row.
            connection.execute(text("BEGIN"))
            connection.execute(text("SELECT id FROM releases WHERE id = :id FOR UPDATE"), {"id": release_id})
            started = time.monotonic()
            response = locked_app.test_client().patch(
                f"/api/v1/releases/{release_id}", json={"title": "Neuer Titel"}, headers=headers
            )
            waited = time.monotonic() - started
            connection.execute(text("ROLLBACK"))
    finally:
        holder.dispose()
    body = problem_of(response, 503)
    assert "busy" in body["detail"]
    assert int(response.headers["Retry-After"]) > 0
    assert waited < 5
