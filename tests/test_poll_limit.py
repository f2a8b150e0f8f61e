"""The optional poll limit: 429 with Retry-After for a client polling far more
often than max-age allows, counted in a real Redis shared by every instance."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from flask import Flask

from tests.conftest import AppFactory
from tests.factories import make_catalog

REDIS_URL = os.environ.get("FEEDSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_answers(), reason=f"no Redis answering at {REDIS_URL}")


@pytest.fixture
def limited(make_app: AppFactory) -> tuple[Flask, Flask]:
    # Two instances share one Redis (and database), as two app servers would.
    # A fresh key space per test: the counters of other runs must not count.
    settings = {
        "POLL_LIMIT_REDIS_URL": REDIS_URL,
        "POLL_LIMIT": 3,
        "BASE_URL": f"http://{uuid.uuid4().hex}.test",
    }
    first, second = make_app(**settings), make_app(**settings)
    make_catalog(first)
    return first, second


@needs_redis
def test_a_client_polling_too_often_gets_429_on_every_instance(limited: tuple[Flask, Flask]) -> None:
    first, second = limited
    statuses = [
        app.test_client().get("/cities/rosenheim/feed.atom").status_code for app in (first, second, first)
    ]
    assert statuses == [200, 200, 200]
    refused = second.test_client().get("/cities/rosenheim/feed.atom")
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 301
    assert first.test_client().get("/cities/muenchen/feed.atom").status_code == 200, (
        "other feeds are counted apart"
    )


def test_without_redis_configured_nobody_is_limited(app: Flask) -> None:
    make_catalog(app)
    client = app.test_client()
    assert {client.get("/feed.atom").status_code for _ in range(30)} == {200}


def test_an_unreachable_redis_lets_requests_pass(make_app: AppFactory) -> None:
    app = make_app(POLL_LIMIT_REDIS_URL="redis://127.0.0.1:1/0", POLL_LIMIT=1)
    make_catalog(app)
    client = app.test_client()
    assert [client.get("/feed.atom").status_code for _ in range(3)] == [200, 200, 200]


@needs_redis
def test_behind_a_trusted_proxy_clients_are_told_apart_by_forwarded_for(make_app: AppFactory) -> None:
    app = make_app(
        POLL_LIMIT_REDIS_URL=REDIS_URL,
        POLL_LIMIT=1,
        PROXY_COUNT=1,
        BASE_URL=f"http://{uuid.uuid4().hex}.test",
    )
    make_catalog(app)
    client = app.test_client()
    first = {"X-Forwarded-For": "198.51.100.7"}
    assert client.get("/feed.atom", headers=first).status_code == 200
    assert client.get("/feed.atom", headers=first).status_code == 429
    assert client.get("/feed.atom", headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 200
