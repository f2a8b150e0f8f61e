"""Helpers for the publishing API tests: tokens, problem answers and database snapshots.

Plain functions, not fixtures: each test module states its own fixtures with them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import Base
from feedsvc.store import catalog
from feedsvc.store.tokens import create_token
from tests.factories import BY_OPERATOR, make_catalog

PROBLEM = "application/problem+json"
# A release as a press office would send it; tests change what they are about.
RELEASE: dict[str, Any] = {
    "title": "Innbrücke ab Montag gesperrt",
    "body": "<p>Wegen Bauarbeiten ist die Innbrücke ab Montag für den Verkehr gesperrt.</p>",
    "city": "rosenheim",
    "topics": ["verkehr"],
}


def make_token(
    app: Flask,
    role: str = "publisher",
    cities: Sequence[str] = ("rosenheim",),
    publisher: str | None = "Pressestelle Rosenheim",
) -> str:
    """A new token's secret, created through the store as `feedsvc create-token` does."""
    with app.app_context():
        session = db.session()
        owner = None
        if role == "publisher":
            assert publisher is not None
            owner = catalog.publisher_by_name(session, publisher)
            assert owner is not None, publisher
        city_rows = [catalog.city_by_slug(session, slug) for slug in cities] if role == "publisher" else []
        assert all(city is not None for city in city_rows)
        _, secret = create_token(
            session,
            role=role,
            by=BY_OPERATOR,
            now=app.config["CLOCK"](),
            publisher=owner,
            cities=[city for city in city_rows if city is not None],
        )
        session.commit()
        return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def problem_of(response: TestResponse, status: int) -> dict[str, Any]:
    """The RFC 9457 body of an error answer, after checking its status, type and members."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM, response.content_type
    body: dict[str, Any] = json.loads(response.get_data())
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def field_errors(response: TestResponse) -> dict[str, str]:
    """`{field: message}` of a 422 answer; every entry must have exactly a field and a message."""
    body = problem_of(response, 422)
    errors = body["errors"]
    assert errors, body
    for error in errors:
        assert set(error) == {"field", "message"}, error
        assert isinstance(error["field"], str) and error["field"]
        assert isinstance(error["message"], str) and error["message"]
    return {error["field"]: error["message"] for error in errors}


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots mean nothing was written."""
    with app.app_context():
        session = db.session()
        dump: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            dump[table.name] = sorted((tuple(row) for row in rows), key=repr)
        return dump


@pytest.fixture
def api(app: Flask) -> Flask:
    """The app with the small test catalog, ready for API calls."""
    make_catalog(app)
    return app


@pytest.fixture
def token(api: Flask) -> dict[str, str]:
    """Authorization headers of a Rosenheim press office token."""
    return bearer(make_token(api))
