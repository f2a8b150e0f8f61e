"""`/feeds.opml`: a valid OPML 2.0 list of every city, region and topic feed."""

from __future__ import annotations

import feedparser
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from tests.conftest import BASE_URL
from tests.factories import CITIES, REGIONS, TOPICS, add_release, make_catalog


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


def test_opml_refuses_an_unknown_format(app: Flask, client: FlaskClient) -> None:
    response = client.get("/feeds.opml?format=pdf")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
