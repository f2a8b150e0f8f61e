"""How pages are found and followed: feed autodiscovery on every page (and the
feeds it names really are feeds), canonical links, OpenGraph, the /feeds page."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement

from feedsvc import db
from feedsvc.store import catalog
from tests.conftest import BASE_URL

FEED_TYPES = ["application/atom+xml", "application/rss+xml", "application/feed+json"]
PAGES = {
    "/": "",
    "/cities/rosenheim": "/cities/rosenheim",
    "/topics/kultur": "/topics/kultur",
    "/cities/rosenheim/topics/soziales-familie": "/cities/rosenheim/topics/soziales-familie",
    "/regions/region-rosenheim": "/regions/region-rosenheim",
    "/feeds": "",
}


def page(client: FlaskClient, path: str) -> HtmlElement:
    response = client.get(path)
    assert response.status_code == 200, response.data[:500]
    return html.fromstring(response.data)


def alternates(doc: HtmlElement) -> dict[str, str]:
    return {link.get("type"): link.get("href") for link in doc.cssselect("head link[rel=alternate]")}


def meta(doc: HtmlElement, prop: str) -> list[str]:
    return [tag.get("content") for tag in doc.cssselect(f"head meta[property='{prop}']")]


def fetch(client: FlaskClient, url: str) -> bytes:
    assert url.startswith(BASE_URL)
    parts = urlsplit(url)
    response = client.get(parts.path, query_string=parts.query)
    assert response.status_code == 200, url
    body: bytes = response.data
    return body


@pytest.mark.parametrize(("path", "feed_subject"), PAGES.items())
@pytest.mark.usefixtures("sample_app")
def test_every_page_announces_the_feeds_of_what_it_shows(
    client: FlaskClient, path: str, feed_subject: str
) -> None:
    found = alternates(page(client, path))
    assert list(found) == FEED_TYPES
    assert found == {
        media_type: f"{BASE_URL}{feed_subject}/feed.{fmt}"
        for media_type, fmt in zip(FEED_TYPES, ["atom", "rss", "json"], strict=True)
    }


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.usefixtures("sample_app")
def test_autodiscovered_feeds_are_valid_feeds(client: FlaskClient, path: str) -> None:
    found = alternates(page(client, path))
    for media_type in ("application/atom+xml", "application/rss+xml"):
        parsed = feedparser.parse(fetch(client, found[media_type]))
        assert not parsed.bozo, (found[media_type], parsed.get("bozo_exception"))
        assert parsed.version in ("atom10", "rss20") and parsed.entries
    # feedparser reads no JSON Feed: check the document's own markers instead.
    json_feed = json.loads(fetch(client, found["application/feed+json"]))
    assert json_feed["version"] == "https://jsonfeed.org/version/1.1" and json_feed["items"]


def image_release_path(client: FlaskClient, city: str) -> str:
    """The page of the newest release of `city` that has an image."""
    card = next(card for card in page(client, f"/cities/{city}").cssselect(".card") if card.cssselect("img"))
    return str(card.cssselect(".card__title a")[0].get("href"))


@pytest.mark.usefixtures("sample_app")
def test_a_release_page_announces_the_feeds_of_its_city(client: FlaskClient) -> None:
    release_path = page(client, "/cities/kolbermoor").cssselect(".card__title a")[0].get("href")
    found = alternates(page(client, release_path))
    assert found["application/atom+xml"] == f"{BASE_URL}/cities/kolbermoor/feed.atom"


@pytest.mark.usefixtures("sample_app")
def test_pages_name_their_canonical_url_and_describe_themselves_for_link_previews(
    client: FlaskClient,
) -> None:
    doc = page(client, "/cities/rosenheim?utm_source=newsletter")
    assert doc.cssselect("head link[rel=canonical]")[0].get("href") == f"{BASE_URL}/cities/rosenheim"
    assert meta(doc, "og:url") == [f"{BASE_URL}/cities/rosenheim"]
    assert meta(doc, "og:title") == ["Übersicht: Rosenheim"]
    assert meta(doc, "og:type") == ["website"]
    assert meta(doc, "og:locale") == ["de_DE"]
    assert doc.findtext(".//title") == "Übersicht: Rosenheim – Kommunale Pressemitteilungen"


@pytest.mark.usefixtures("sample_app")
def test_an_older_page_is_its_own_canonical_url(client: FlaskClient) -> None:
    next_page = page(client, "/").cssselect(".pager a[rel=next]")[0].get("href")
    doc = page(client, next_page)
    assert doc.cssselect("head link[rel=canonical]")[0].get("href") == f"{BASE_URL}{next_page}"


@pytest.mark.usefixtures("sample_app")
def test_release_pages_are_articles_for_link_previews(client: FlaskClient) -> None:
    release_path = image_release_path(client, "kolbermoor")
    doc = page(client, release_path)
    assert meta(doc, "og:type") == ["article"]
    assert meta(doc, "og:url") == [f"{BASE_URL}{release_path}"]
    assert meta(doc, "og:image")[0].startswith(f"{BASE_URL}/static/sample/")
    assert meta(doc, "og:image:alt")[0]
    assert meta(doc, "article:published_time")[0].startswith("2026-")
    assert meta(doc, "article:section") == ["Kolbermoor"]
    assert meta(doc, "article:tag")


def test_the_feeds_page_lists_every_feed_with_its_page(sample_app: Flask, client: FlaskClient) -> None:
    with sample_app.app_context():
        session = db.session()
        subjects = (
            1 + len(catalog.regions(session)) + len(catalog.cities(session)) + len(catalog.topics(session))
        )
    doc = page(client, "/feeds")
    rows = doc.cssselect(".feed-table tbody tr")
    assert len(rows) == subjects
    rosenheim = next(row for row in rows if row.cssselect("th a")[0].get("href") == "/cities/rosenheim")
    assert [link.get("href") for link in rosenheim.cssselect("a.feed-link")] == [
        f"{BASE_URL}/cities/rosenheim/feed.{fmt}" for fmt in ("atom", "rss", "json")
    ]


def test_the_feeds_page_is_kept_until_the_catalog_changes(sample_app: Flask, client: FlaskClient) -> None:
    first = client.get("/feeds")
    assert (
        client.get("/feeds").data is not None
        and client.get("/feeds").headers["ETag"] == first.headers["ETag"]
    )
    with sample_app.app_context():
        session = db.session()
        region = catalog.regions(session)[0]
        catalog.upsert_city(session, "neustadt-am-inn", "Neustadt am Inn", "Bayern", region, "09199999")
        session.commit()
    changed = client.get("/feeds")
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert b"Neustadt am Inn" in changed.data and b"Neustadt am Inn" not in first.data


@pytest.mark.usefixtures("sample_app")
def test_feed_links_are_plain_links_that_a_script_may_add_copy_buttons_to(client: FlaskClient) -> None:
    doc = page(client, "/feeds")
    links = doc.cssselect("a.feed-link")
    assert links and all(
        link.get("href").startswith(BASE_URL) and link.get("data-copy") is not None for link in links
    )
    assert all(link.get("data-copy-label") for link in links)
    # Without JavaScript there is nothing that would not work: the only buttons submit forms.
    assert all(button.get("type") == "submit" for button in doc.cssselect("button"))
    assert doc.cssselect("script[src='/static/js/copy.js'][defer]")
    with client.get("/static/js/copy.js") as script:
        assert script.status_code == 200


@pytest.mark.usefixtures("sample_app")
def test_the_feeds_page_links_the_opml_subscription_list(client: FlaskClient) -> None:
    opml = page(client, "/feeds").cssselect("a[type='text/x-opml']")
    assert [link.get("href") for link in opml] == [f"{BASE_URL}/feeds.opml"]
