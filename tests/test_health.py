"""`/healthz` and the 503 answers of an app whose database cannot be reached.

The database here is simply absent (a port nobody listens on); tests/test_outage.py
stops and starts a real PostgreSQL server under a running app.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from feedsvc import create_app, db
from feedsvc.migrations import runner
from tests.api_support import RELEASE, bearer, problem_of


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting is refused at once


@pytest.fixture
def unreachable(app_config: dict[str, Any]) -> Iterator[FlaskClient]:
    """A client of an app whose PostgreSQL server is not there."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/feedsvc"
    application = create_app({**app_config, "DATABASE_URL": url})
    yield application.test_client()
    with application.app_context():
        db.engine().dispose()


def test_healthz_answers_200_with_the_schema_revision_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.data) == {
        "status": "ok",
        "database": "ok",
        "schema": runner.head_revision(),
        # Nothing to deliver to: tests/test_delivery.py shows the lag of real targets.
        "delivery": {"lag_seconds": 0.0, "alert_after_seconds": 60.0, "targets": {}},
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert client.head("/healthz").status_code == 200


def test_healthz_answers_503_when_the_database_cannot_be_reached(unreachable: FlaskClient) -> None:
    response = unreachable.get("/healthz")
    body = problem_of(response, 503)
    assert "database" in body["detail"]
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"


def test_api_reads_and_writes_answer_503_problem_json_with_retry_after(unreachable: FlaskClient) -> None:
    for response in (
        unreachable.get("/api/v1/releases"),
        unreachable.get("/api/v1/cities"),
        unreachable.post("/api/v1/releases", json=RELEASE, headers=bearer("some-token")),
    ):
        problem_of(response, 503)
        assert response.headers["Retry-After"] == "30"


def test_a_feed_never_rendered_answers_503_with_retry_after(unreachable: FlaskClient) -> None:
    response = unreachable.get("/cities/rosenheim/feed.atom")
    problem_of(response, 503)
    assert response.headers["Retry-After"] == "30"


def test_pages_answer_a_short_html_503_to_browsers(unreachable: FlaskClient) -> None:
    response = unreachable.get("/cities/rosenheim", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "Vorübergehend nicht erreichbar" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "30"
    # Programs asking for anything get problem+json.
    problem_of(unreachable.get("/cities/rosenheim", headers={"Accept": "*/*"}), 503)


def test_a_missing_table_is_a_bug_not_an_outage(app_config: dict[str, Any], tmp_path: Path) -> None:
    application: Flask = create_app(
        {**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'no-schema.sqlite3'}"}
    )
    try:
        with pytest.raises(OperationalError, match="no such table"):
            application.test_client().get("/api/v1/releases")
    finally:
        with application.app_context():
            db.engine().dispose()
