"""HTTP for pollers: validators, 304s, encodings, Cache-Control, and ETags that
change for exactly the feeds a write touches."""

from __future__ import annotations

import gzip
from datetime import timedelta

import brotli
import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.publishing.input import ReleasePatch
from tests.conftest import AppFactory, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog, patch_release, retract

FEEDS = [
    f"{subject}/feed.{fmt}"
    for subject in (
        "",
        "/cities/rosenheim",
        "/cities/bad-aibling",
        "/cities/muenchen",
        "/topics/soziales-familie",
        "/topics/verkehr",
        "/topics/kultur",
        "/cities/rosenheim/topics/soziales-familie",
        "/cities/rosenheim/topics/kultur",
        "/cities/muenchen/topics/verkehr",
        "/regions/region-rosenheim",
        "/regions/muenchen-region",
    )
    for fmt in ("atom", "rss", "json")
]


@pytest.fixture
def one_release_per_city(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Rosenheim Soziales", topics=("soziales-familie",), minutes_ago=60)
        add_release(app, city="bad-aibling", title="Bad Aibling Kultur", topics=("kultur",), minutes_ago=50)
        add_release(app, city="muenchen", title="München Verkehr", topics=("verkehr",), minutes_ago=40)

    fill_once(app, "one release per city", fill)
    return app


def etags(client: FlaskClient) -> dict[str, str]:
    return {url: client.get(url).headers["ETag"] for url in FEEDS}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {url.rsplit("/feed.", 1)[0] or "/" for url in FEEDS if before[url] != after[url]}


@pytest.mark.parametrize("url", FEEDS)
@pytest.mark.usefixtures("one_release_per_city")
def test_every_feed_answers_304_to_its_own_validators(client: FlaskClient, url: str) -> None:
    first = client.get(url)
    assert first.status_code == 200
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    by_etag = client.get(url, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    by_date = client.get(url, headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304 and by_date.data == b""


@pytest.mark.usefixtures("one_release_per_city")
def test_head_answers_headers_without_body(client: FlaskClient) -> None:
    get = client.get("/cities/rosenheim/feed.atom")
    head = client.head("/cities/rosenheim/feed.atom")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


@pytest.mark.usefixtures("one_release_per_city")
def test_gzip_and_brotli_have_their_own_etags_and_vary(client: FlaskClient) -> None:
    url = "/cities/rosenheim/feed.rss"
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    brotlied = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert brotlied.headers["Content-Encoding"] == "br"
    assert brotli.decompress(brotlied.data) == plain.data
    assert len({plain.headers["ETag"], zipped.headers["ETag"], brotlied.headers["ETag"]}) == 3
    for response in (plain, zipped, brotlied):
        assert response.headers["Vary"] == "Accept-Encoding"
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.usefixtures("one_release_per_city")
def test_cache_control_ends_on_the_expiry_grid(client: FlaskClient, clock: FakeClock) -> None:
    """Fresh until the next full minute (FEEDSVC_FEED_EXPIRY_GRID), at most FEEDSVC_FEED_MAX_AGE."""
    assert clock.now.second == 0
    header = client.get("/feed.atom").headers["Cache-Control"]
    assert header == "public, max-age=60, stale-if-error=86400"
    clock.advance(seconds=45, microseconds=500_000)
    assert client.get("/feed.atom").headers["Cache-Control"] == "public, max-age=14, stale-if-error=86400"


@pytest.mark.parametrize(
    ("settings", "at_seconds", "max_age"),
    [
        ({"FEED_EXPIRY_GRID": 300}, 45, 255),
        ({"FEED_EXPIRY_GRID": 300, "FEED_MAX_AGE": 120}, 45, 120),
        ({"FEED_MAX_AGE": 30}, 10, 30),
        ({"FEED_MAX_AGE": 30}, 45, 15),
        ({"FEED_EXPIRY_GRID": 1}, 0.5, 0),
    ],
)
def test_cache_control_follows_configuration(
    make_app: AppFactory, clock: FakeClock, settings: dict[str, int], at_seconds: float, max_age: int
) -> None:
    app = make_app(**settings)
    make_catalog(app)
    clock.advance(seconds=at_seconds)
    header = app.test_client().get("/cities/rosenheim/feed.atom").headers["Cache-Control"]
    assert header == f"public, max-age={max_age}, stale-if-error=86400"


def test_link_header_names_self_and_hubs(make_app: AppFactory) -> None:
    app = make_app(HUB_URLS="https://hub.example.test/")
    make_catalog(app)
    link = app.test_client().get("/cities/rosenheim/feed.atom").headers["Link"]
    assert '<https://hub.example.test/>; rel="hub"' in link
    assert '<http://feeds.example.test/cities/rosenheim/feed.atom>; rel="self"' in link


def test_same_data_gives_the_same_etag_across_app_instances(
    one_release_per_city: Flask, make_app: AppFactory
) -> None:
    other = make_app()
    for url in FEEDS[:6]:
        assert (
            one_release_per_city.test_client().get(url).headers["ETag"]
            == other.test_client().get(url).headers["ETag"]
        )


def test_a_publish_changes_the_etags_of_exactly_the_feeds_holding_it(
    one_release_per_city: Flask, client: FlaskClient
) -> None:
    before = etags(client)
    add_release(one_release_per_city, title="Neu in Rosenheim", topics=("kultur",), minutes_ago=0)
    assert changed(before, etags(client)) == {
        "/",
        "/cities/rosenheim",
        "/topics/kultur",
        "/cities/rosenheim/topics/kultur",
        "/regions/region-rosenheim",
    }


def test_a_patch_moving_a_release_changes_old_and_new_feeds(
    one_release_per_city: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    before = etags(client)
    clock.advance(minutes=1)
    patch_release(one_release_per_city, 1, ReleasePatch(city="muenchen", topics=["verkehr"]))
    assert changed(before, etags(client)) == {
        "/",
        "/cities/rosenheim",
        "/cities/muenchen",
        "/topics/soziales-familie",
        "/topics/verkehr",
        "/cities/rosenheim/topics/soziales-familie",
        "/cities/muenchen/topics/verkehr",
        "/regions/region-rosenheim",
        "/regions/muenchen-region",
    }


def test_a_retraction_changes_the_etags_of_exactly_the_feeds_holding_it(
    one_release_per_city: Flask, client: FlaskClient
) -> None:
    before = etags(client)
    retract(one_release_per_city, 3)
    assert changed(before, etags(client)) == {
        "/",
        "/cities/muenchen",
        "/topics/verkehr",
        "/cities/muenchen/topics/verkehr",
        "/regions/muenchen-region",
    }


def test_an_embargo_running_out_changes_etags_at_its_instant(
    one_release_per_city: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    add_release(
        one_release_per_city,
        title="Sperrfrist Kultur",
        topics=("kultur",),
        published_at=clock.now + timedelta(hours=1),
    )
    before = etags(client)
    clock.advance(minutes=59, seconds=59)
    assert changed(before, etags(client)) == set()
    assert b"Sperrfrist" not in client.get("/cities/rosenheim/feed.atom").data
    clock.advance(seconds=1)
    assert changed(before, etags(client)) == {
        "/",
        "/cities/rosenheim",
        "/topics/kultur",
        "/cities/rosenheim/topics/kultur",
        "/regions/region-rosenheim",
    }
    entries = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).entries
    assert entries[0].title == "Sperrfrist Kultur"


def test_max_age_never_tells_of_a_pending_embargo_lift(
    one_release_per_city: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    """A feed with a lift pending has the max-age of every other feed: until the next grid point."""
    clock.advance(seconds=20)
    add_release(one_release_per_city, title="Bald", published_at=clock.now + timedelta(seconds=25))
    for url in ("/cities/rosenheim/feed.atom", "/cities/muenchen/feed.atom"):
        assert client.get(url).headers["Cache-Control"] == "public, max-age=40, stale-if-error=86400", url
    clock.advance(seconds=30)  # the lift has passed: the feed changed, its max-age follows the grid
    assert client.get("/cities/rosenheim/feed.atom").headers["Cache-Control"] == (
        "public, max-age=10, stale-if-error=86400"
    )


def test_a_cached_feed_is_not_rendered_again_while_nothing_changes(
    one_release_per_city: Flask, client: FlaskClient
) -> None:
    from feedsvc.web.feeds.cache import feed_cache

    client.get("/cities/rosenheim/feed.atom")
    with one_release_per_city.app_context():
        entry = feed_cache().get("http://feeds.example.test/cities/rosenheim/feed.atom")
    client.get("/cities/rosenheim/feed.atom")
    with one_release_per_city.app_context():
        assert feed_cache().get("http://feeds.example.test/cities/rosenheim/feed.atom") is entry


@pytest.mark.usefixtures("one_release_per_city")
def test_feeds_neither_read_nor_set_session_cookies(client: FlaskClient) -> None:
    client.set_cookie("session", "tampered.cookie.value")
    response = client.get("/cities/rosenheim/feed.atom")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
