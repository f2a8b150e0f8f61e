"""`/feeds.opml`: a valid OPML 2.0 list of every city, region and topic feed."""

from __future__ import annotations

from datetime import timedelta

import feedparser
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from tests.conftest import BASE_URL, FakeClock
from tests.factories import CITIES, REGIONS, TOPICS, add_release, make_catalog, retract


def _outlines(client: FlaskClient, query: str = "") -> list[etree._Element]:
    response = client.get(f"/feeds.opml{query}")
    assert response.status_code == 200
    assert response.content_type == "text/x-opml; charset=utf-8"
    root = etree.fromstring(response.data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    return [o for o in root.iter("outline") if o.get("type") == "rss"]


def test_opml_lists_every_city_region_and_topic_feed(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    feeds = {o.get("xmlUrl") for o in _outlines(client)}
    expected = {f"{BASE_URL}/feed.atom"}
    expected |= {f"{BASE_URL}/cities/{slug}/feed.atom" for slug in CITIES}
    expected |= {f"{BASE_URL}/regions/{slug}/feed.atom" for slug in REGIONS}
    expected |= {f"{BASE_URL}/topics/{slug}/feed.atom" for slug in TOPICS}
    assert feeds == expected


def test_opml_groups_cities_under_their_region(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    root = etree.fromstring(client.get("/feeds.opml").data)
    group = next(o for o in root.iter("outline") if o.get("text") == "Region Rosenheim")
    urls = [o.get("xmlUrl") for o in group.findall("outline")]
    assert f"{BASE_URL}/cities/rosenheim/feed.atom" in urls
    assert f"{BASE_URL}/cities/muenchen/feed.atom" not in urls
    for outline in group.findall("outline"):
        assert outline.get("text") and outline.get("htmlUrl", "").startswith(BASE_URL)


def test_every_listed_feed_resolves_to_a_valid_feed(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    add_release(app, topics=("kultur",), minutes_ago=1)
    for outline in _outlines(client, "?format=rss"):
        url = outline.get("xmlUrl", "")
        assert url.endswith("/feed.rss")
        parsed = feedparser.parse(client.get(url.removeprefix(BASE_URL)).data)
        assert not parsed.bozo, url


def test_opml_refuses_an_unknown_format(client: FlaskClient) -> None:
    response = client.get("/feeds.opml?format=pdf")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_cities_with_releases_in_a_topic_list_their_city_topic_feeds(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    make_catalog(app)
    add_release(app, topics=("kultur", "verkehr"), minutes_ago=5)
    add_release(app, city="bad-aibling", topics=("kultur",), minutes_ago=4)
    add_release(app, city="muenchen", topics=("kultur",), published_at=clock.now + timedelta(days=1))
    retract(app, add_release(app, city="bad-aibling", topics=("verkehr",), minutes_ago=3))
    root = etree.fromstring(client.get("/feeds.opml").data)
    groups = {o.get("text"): o for o in root.iter("outline") if o.get("type") is None}
    rosenheim = [(o.get("text"), o.get("xmlUrl")) for o in groups["Rosenheim"].findall("outline")]
    assert rosenheim == [
        ("Pressemitteilungen – Rosenheim", f"{BASE_URL}/cities/rosenheim/feed.atom"),
        ("Pressemitteilungen – Rosenheim: Kultur", f"{BASE_URL}/cities/rosenheim/topics/kultur/feed.atom"),
        ("Pressemitteilungen – Rosenheim: Verkehr", f"{BASE_URL}/cities/rosenheim/topics/verkehr/feed.atom"),
    ]
    bad_aibling = [o.get("xmlUrl") for o in groups["Bad Aibling"].findall("outline")]
    assert bad_aibling == [
        f"{BASE_URL}/cities/bad-aibling/feed.atom",
        f"{BASE_URL}/cities/bad-aibling/topics/kultur/feed.atom",  # the retracted one left no verkehr
    ]
    assert "München" not in groups  # its only release is under embargo: no city×topic feed yet
    munich = [o for o in root.iter("outline") if o.get("xmlUrl") == f"{BASE_URL}/cities/muenchen/feed.atom"]
    assert len(munich) == 1
    # A new pair appears with the release that makes it: the list names "all" for caches in front.
    assert client.get("/feeds.opml").headers["xkey"] == "all catalog"
    for outline in root.iter("outline"):
        if outline.get("type") == "rss":
            assert client.get(outline.get("xmlUrl", "").removeprefix(BASE_URL)).status_code == 200
