"""A database outage under a running app: a real PostgreSQL server of the test's own is
stopped and started again (never the machine's shared one).

While it is down, feeds rendered before are still served (stale, as `stale-if-error`
promises), everything else that needs the database answers 503 with Retry-After, and
`/healthz` says 503. When it is back, everything works again without a restart.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.test import EnvironBuilder

from feedsvc.db import make_engine
from feedsvc.web.feeds.front import front_of
from tests.api_support import RELEASE, bearer, make_token, problem_of
from tests.conftest import AppFactory
from tests.factories import add_release, make_catalog
from tests.private_postgres import PrivatePostgres

FEED = "/cities/rosenheim/feed.atom"
# One worker runs them all (pytest-xdist, --dist loadgroup): they share the module's server.
pytestmark = pytest.mark.xdist_group("private_postgres")


@pytest.fixture
def served(private_postgres: PrivatePostgres, make_app: AppFactory) -> Flask:
    """An app on the private server, with a city, a release and its feed rendered once."""
    if not private_postgres.running:  # a test that failed halfway left it stopped
        private_postgres.start()
    engine = make_engine(private_postgres.url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = make_app(DATABASE_URL=private_postgres.url)
    make_catalog(app)
    add_release(app, title="Vor dem Ausfall veröffentlicht", minutes_ago=10)
    return app


def test_feeds_rendered_before_are_served_stale_while_the_database_is_down(
    served: Flask, private_postgres: PrivatePostgres
) -> None:
    client = served.test_client()
    fresh = client.get(FEED)
    assert fresh.status_code == 200
    private_postgres.stop()
    stale = client.get(FEED)
    assert stale.status_code == 200
    assert stale.data == fresh.data and stale.headers["ETag"] == fresh.headers["ETag"]
    assert stale.headers["Cache-Control"].startswith("public, max-age=0,")
    assert "stale-if-error=" in stale.headers["Cache-Control"]
    assert "Stale" in stale.headers["Warning"]
    # The poll front answers it itself: one connection attempt per poll, not a second one in Flask.
    from_front = front_of(served).reply(EnvironBuilder(path=FEED).get_environ())
    assert from_front is not None and from_front.body == fresh.data
    assert ("Warning", stale.headers["Warning"]) in from_front.headers
    assert client.get(FEED, headers={"If-None-Match": fresh.headers["ETag"]}).status_code == 304
    assert client.get(FEED, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    never_rendered = client.get("/cities/muenchen/feed.atom")
    problem_of(never_rendered, 503)
    assert never_rendered.headers["Retry-After"] == "30"


def test_writes_uncached_reads_and_healthz_answer_503_while_the_database_is_down(
    served: Flask, private_postgres: PrivatePostgres
) -> None:
    client = served.test_client()
    secret = make_token(served)
    private_postgres.stop()
    for response in (
        client.post("/api/v1/releases", json=RELEASE, headers=bearer(secret)),
        client.get("/api/v1/releases"),
        client.get("/healthz"),
    ):
        problem_of(response, 503)
        assert response.headers["Retry-After"] == "30"
    page = client.get("/cities/rosenheim", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.mimetype == "text/html"


def test_everything_recovers_when_the_database_returns_without_a_restart(
    served: Flask, private_postgres: PrivatePostgres
) -> None:
    client = served.test_client()
    secret = make_token(served)
    assert client.get(FEED).status_code == 200
    private_postgres.stop()
    assert client.get("/healthz").status_code == 503
    assert "Warning" in client.get(FEED).headers
    private_postgres.start()
    assert client.get("/healthz").status_code == 200
    published = client.post(
        "/api/v1/releases", json={**RELEASE, "title": "Nach dem Ausfall"}, headers=bearer(secret)
    )
    assert published.status_code == 201, published.get_data(as_text=True)
    after = client.get(FEED)
    assert after.status_code == 200 and "Warning" not in after.headers
    assert b"Nach dem Ausfall" in after.data
    assert client.get("/cities/muenchen/feed.atom").status_code == 200
