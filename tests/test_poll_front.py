"""The poll front answers unchanged feeds before Flask, exactly as the feed view
would, and hands every other request to the view."""

from __future__ import annotations

import gzip
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from feedsvc.web.feeds.cache import FeedCache, RenderedFeed
from feedsvc.web.feeds.front import PollFront, front_of
from tests.conftest import AppFactory, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog

FEEDS = [
    f"{subject}/feed.{fmt}"
    for subject in (
        "",
        "/cities/rosenheim",
        "/topics/kultur",
        "/cities/rosenheim/topics/kultur",
        "/regions/region-rosenheim",
    )
    for fmt in ("atom", "rss", "json")
]
Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture
def two_cities_with_a_release(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Rosenheim Kultur", topics=("kultur",), minutes_ago=60)
        add_release(app, city="bad-aibling", title="Bad Aibling Kultur", topics=("kultur",), minutes_ago=50)

    fill_once(app, "two cities with a release each", fill)
    return app


def environ(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    return EnvironBuilder(path=url, method=method, headers=list((headers or {}).items())).get_environ()


def from_front(front: PollFront, env: dict[str, Any]) -> Answer | None:
    reply = front.reply(env)
    if reply is None:
        return None
    assert reply.status_line.startswith(str(reply.status))
    return reply.status, dict(reply.headers), reply.body


def from_flask(front: PollFront, env: dict[str, Any]) -> Answer:
    body, status, headers = run_wsgi_app(front.downstream, env, buffered=True)
    return int(status.split()[0]), dict(headers.to_wsgi_list()), b"".join(body)


def validators(client: FlaskClient, url: str) -> dict[str, str]:
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    return {
        "etag": plain.headers["ETag"],
        "gzip_etag": zipped.headers["ETag"],
        "last_modified": plain.headers["Last-Modified"],
    }


# Requests a poller sends: each must be answered by the front, as Flask answers it.
POLLS: list[tuple[str, str, dict[str, str]]] = [
    ("plain GET", "GET", {}),
    ("HEAD", "HEAD", {}),
    ("gzip", "GET", {"Accept-Encoding": "gzip, deflate"}),
    ("brotli preferred", "GET", {"Accept-Encoding": "br;q=1.0, gzip;q=0.8"}),
    ("gzip refused", "GET", {"Accept-Encoding": "gzip;q=0, identity"}),
    ("any encoding", "GET", {"Accept-Encoding": "*"}),
    ("own ETag", "GET", {"If-None-Match": "{etag}"}),
    ("own ETag, HEAD", "HEAD", {"If-None-Match": "{etag}"}),
    ("gzip ETag", "GET", {"If-None-Match": "{gzip_etag}", "Accept-Encoding": "gzip"}),
    ("ETag among others", "GET", {"If-None-Match": '"0000", {etag}, W/"1111"'}),
    ("any ETag", "GET", {"If-None-Match": "*"}),
    ("own date", "GET", {"If-Modified-Since": "{last_modified}"}),
    ("older date", "GET", {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}),
    ("broken date", "GET", {"If-Modified-Since": "gestern"}),
    (
        "ETag wins over date",
        "GET",
        {"If-None-Match": "{etag}", "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
    ),
]


@pytest.mark.parametrize("url", FEEDS)
def test_the_front_answers_every_poll_as_flask_does(
    two_cities_with_a_release: Flask, client: FlaskClient, url: str
) -> None:
    front = front_of(two_cities_with_a_release)
    known = validators(client, url)
    for name, method, template in POLLS:
        headers = {key: value.format(**known) for key, value in template.items()}
        fast = from_front(front, environ(url, method, headers))
        assert fast is not None, f"{name}: the front passed a poll of a current feed on"
        assert fast == from_flask(front, environ(url, method, headers)), name


def test_front_answers_are_real_feeds(two_cities_with_a_release: Flask, client: FlaskClient) -> None:
    front = front_of(two_cities_with_a_release)
    url = "/cities/rosenheim/feed.atom"
    flask_body = client.get(url).data
    plain = from_front(front, environ(url))
    zipped = from_front(front, environ(url, headers={"Accept-Encoding": "gzip"}))
    head = from_front(front, environ(url, "HEAD"))
    assert plain is not None and zipped is not None and head is not None
    assert plain[0] == 200 and plain[2] == flask_body
    assert gzip.decompress(zipped[2]) == flask_body and zipped[1]["Content-Encoding"] == "gzip"
    assert head[2] == b"" and head[1]["Content-Length"] == str(len(flask_body))
    not_modified = from_front(front, environ(url, headers={"If-None-Match": plain[1]["ETag"]}))
    assert not_modified is not None and not_modified[0] == 304 and not_modified[2] == b""
    assert {"Content-Type", "Content-Length", "Content-Security-Policy"}.isdisjoint(not_modified[1])


@pytest.mark.parametrize(
    ("request_url", "method", "headers"),
    [
        ("/cities/rosenheim/feed.atom?limit=5", "GET", {}),
        ("/cities/rosenheim/feed.atom", "POST", {}),
        ("/cities/rosenheim/feed.atom", "GET", {"Authorization": "Bearer nope"}),
        ("/cities/rosenheim/feed.atom", "GET", {"If-None-Match": '"a-tag-never-handed-out"'}),
        ("/cities/bad-aibling/feed.atom", "GET", {}),  # not rendered yet
        ("/cities/rosenheim", "GET", {}),  # a page, not a feed
        ("//cities/rosenheim/feed.atom", "GET", {}),
    ],
)
def test_the_front_passes_on_what_is_not_a_plain_poll_of_a_rendered_feed(
    two_cities_with_a_release: Flask,
    client: FlaskClient,
    request_url: str,
    method: str,
    headers: dict[str, str],
) -> None:
    client.get("/cities/rosenheim/feed.atom")
    client.get("/cities/rosenheim/feed.atom?limit=5")
    assert from_front(front_of(two_cities_with_a_release), environ(request_url, method, headers)) is None


def test_a_change_goes_past_the_front_and_the_next_poll_is_its_again(
    two_cities_with_a_release: Flask, client: FlaskClient
) -> None:
    front = front_of(two_cities_with_a_release)
    url = "/cities/rosenheim/feed.atom"
    before = client.get(url).headers["ETag"]
    assert from_front(front, environ(url)) is not None
    add_release(two_cities_with_a_release, title="Neu im Stadtrat", minutes_ago=1)
    assert from_front(front, environ(url)) is None
    assert from_front(front, environ(url, headers={"If-None-Match": before})) is None
    after = client.get(url, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before and b"Neu im Stadtrat" in after.data
    polled = from_front(front, environ(url, headers={"If-None-Match": after.headers["ETag"]}))
    assert polled is not None and polled[0] == 304


def test_an_embargo_due_goes_past_the_front(
    two_cities_with_a_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    front = front_of(two_cities_with_a_release)
    url = "/cities/rosenheim/feed.atom"
    add_release(two_cities_with_a_release, title="Sperrfrist", published_at=clock.now + timedelta(minutes=5))
    client.get(url)
    assert from_front(front, environ(url)) is not None
    clock.advance(minutes=5)
    assert from_front(front, environ(url)) is None
    assert b"Sperrfrist" in client.get(url).data


@pytest.mark.parametrize("proxies", [0, 1])
def test_without_a_base_url_the_front_keys_feeds_by_the_requested_host(
    make_app: AppFactory, proxies: int
) -> None:
    # Renderings are kept only for hosts that are not foreign (web.urls.is_shareable).
    app = make_app(BASE_URL=None, PROXY_COUNT=proxies, TRUSTED_HOSTS=["localhost", "presse.example.test"])
    make_catalog(app)
    add_release(app, minutes_ago=5)
    client = app.test_client()
    host = {"X-Forwarded-Host": "presse.example.test", "X-Forwarded-Proto": "https"} if proxies else {}
    served_at = "https://presse.example.test" if proxies else "http://localhost"
    first = client.get("/feed.atom", headers=host)
    assert f'<{served_at}/feed.atom>; rel="self"' in first.headers["Link"]
    # Through the whole stack (proxy fix included): the same 304 whoever answers.
    again = client.get("/feed.atom", headers={**host, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    front = front_of(app)
    if proxies:
        fixed = environ("/feed.atom")
        fixed["wsgi.url_scheme"], fixed["HTTP_HOST"] = "https", "presse.example.test"
        assert from_front(front, fixed) is not None
    else:
        assert from_front(front, environ("/feed.atom")) is not None
    # Another host name is another feed (its links differ): not this entry.
    elsewhere = environ("/feed.atom", headers={"Host": "andere.example.test"})
    assert from_front(front, elsewhere) is None


def test_untrusted_hosts_go_to_flask_which_refuses_them(make_app: AppFactory) -> None:
    app = make_app(BASE_URL=None, TRUSTED_HOSTS=["localhost"])
    make_catalog(app)
    client = app.test_client()
    assert client.get("/feed.atom").status_code == 200
    assert from_front(front_of(app), environ("/feed.atom", headers={"Host": "evil.example"})) is None
    assert client.get("/feed.atom", headers={"Host": "evil.example"}).status_code == 400


def _entry(body: bytes) -> RenderedFeed:
    from datetime import UTC, datetime

    return RenderedFeed(
        keys=("all",),
        versions=(1,),
        body=body,
        media_type="application/atom+xml",
        tag="t",
        last_modified=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_cache_charges_compressed_copies_against_its_budget() -> None:
    cache = FeedCache(max_bytes=8_000)
    first = _entry(b"a" * 4_000)
    cache.put("first", first)
    assert cache.charged_bytes == 4_000
    compressed = len(first.encoded("gzip")) + len(first.encoded("br"))
    first.encoded("gzip")  # known already: charged once
    assert cache.charged_bytes == 4_000 + compressed
    cache.put("second", _entry(bytes(range(256)) * 23))  # 5,888 bytes: over budget, first goes
    assert cache.get("first") is None and len(cache) == 1
    assert cache.charged_bytes == 5_888
    first.encoded("gzip")
    assert cache.charged_bytes == 5_888  # an evicted entry is charged no more
    cache.clear()
    assert cache.charged_bytes == 0 and len(cache) == 0


def test_a_database_that_cannot_be_opened_gets_the_stale_copy_from_the_front(
    two_cities_with_a_release: Flask, client: FlaskClient, app_config: dict[str, Any], tmp_path: Path
) -> None:
    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("moves an SQLite file away (tests/test_outage.py stops a PostgreSQL server)")
    url = "/cities/rosenheim/feed.atom"
    fresh = client.get(url)
    database = Path(app_config["DATABASE_URL"].removeprefix("sqlite:///"))
    for file in database.parent.glob(database.name + "*"):
        file.rename(tmp_path / f"moved-{file.name}")
    answers: list[Answer | None] = []
    # Each thread opens its own connection for the counters: this one finds no file.
    reader = threading.Thread(
        target=lambda: answers.append(from_front(front_of(two_cities_with_a_release), environ(url)))
    )
    reader.start()
    reader.join()
    assert answers[0] is not None
    status, headers, body = answers[0]
    assert status == 200 and body == fresh.data and headers["ETag"] == fresh.headers["ETag"]
    assert headers["Cache-Control"].startswith("public, max-age=0,") and "Stale" in headers["Warning"]
