"""Feeds opened in a browser: static/feed.xsl turns the Atom and RSS feeds into a German
page, and a browser's navigation gets the very bytes a feed reader gets, labelled so
that the browser applies the stylesheet (web/pages/feed_view.py). tests/test_browser.py
shows the same in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html
from lxml.html import HtmlElement

from feedsvc.web.pages.feed_view import shown_in_browser
from tests.conftest import BASE_URL
from tests.factories import make_catalog

XSL = Path(__file__).resolve().parent.parent / "feedsvc" / "static" / "feed.xsl"
NAVIGATION = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Accept": "text/html,*/*;q=0.8"}


def shown(feed: bytes) -> HtmlElement:
    """The page a browser makes of the feed with feed.xsl (libxslt, as in Chromium)."""
    transform = etree.XSLT(etree.parse(str(XSL)))
    result = transform(etree.fromstring(feed))
    return html.fromstring(str(result))


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.usefixtures("sample_app")
def test_the_stylesheet_explains_the_feed_and_lists_its_entries(client: FlaskClient, fmt: str) -> None:
    feed = client.get(f"/cities/rosenheim/feed.{fmt}").data
    doc = shown(feed)
    assert doc.get("lang") == "de"
    assert text_of(doc.cssselect("h1")[0]) == "Pressemitteilungen – Rosenheim"
    about = text_of(doc.cssselect(".feed-about")[0])
    assert "Das ist ein Feed" in about and "In einem Feedreader abonnieren" in about
    address = doc.cssselect(".feed-url a")[0]
    assert address.get("href") == text_of(address) == f"{BASE_URL}/cities/rosenheim/feed.{fmt}"
    assert address.get("data-copy") is not None
    assert doc.cssselect(".feed-about__more a")[0].get("href") == f"{BASE_URL}/cities/rosenheim"
    parsed = etree.fromstring(feed)
    if fmt == "atom":
        titles = parsed.xpath("//a:entry/a:title/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})
    else:
        titles = parsed.xpath("//item/title/text()")
    entries = doc.cssselect(".feed-entry")
    assert [text_of(entry.cssselect(".card__title")[0]) for entry in entries] == titles
    first = entries[0]
    assert first.cssselect(".card__title a")[0].get("href").startswith(f"{BASE_URL}/releases/")
    assert text_of(first.cssselect(".meta")[0]) == "23.11.2026, 19:45 Uhr"
    assert text_of(doc.cssselect("#entries-heading")[0]) == f"Neueste Einträge ({len(titles)})"


@pytest.mark.usefixtures("sample_app")
def test_the_page_needs_nothing_the_pages_security_policy_forbids(client: FlaskClient) -> None:
    doc = shown(client.get("/feed.atom").data)
    assert not doc.cssselect("style, [style]")
    assert not [name for element in doc.iter() for name in element.attrib if str(name).startswith("on")]
    for script in doc.iter("script"):
        assert script.get("src", "").startswith("/static/") and not (script.text or "").strip()
    sheets = [link.get("href") for link in doc.cssselect("link[rel=stylesheet]")]
    assert sheets == ["/static/css/site.css", "/static/css/feed.css"]
    for path in [*sheets, "/static/js/copy.js"]:
        with client.get(path) as response:
            assert response.status_code == 200, path


@pytest.mark.usefixtures("sample_app")
def test_entry_text_is_copied_as_text_never_as_markup(client: FlaskClient) -> None:
    feed = client.get("/feed.rss").data.replace(
        b"<title>Pressemitteilungen", b"<title>&lt;script&gt;alert(1)&lt;/script&gt; Pressemitteilungen", 1
    )
    doc = shown(feed)
    assert not [script for script in doc.iter("script") if not script.get("src")]
    assert text_of(doc.cssselect("h1")[0]).startswith("<script>alert(1)</script>")


def test_an_empty_feed_says_it_has_no_entries(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    doc = shown(client.get("/cities/muenchen/feed.atom").data)
    assert text_of(doc.cssselect(".feed-entries .empty")[0]) == "Dieser Feed enthält noch keine Einträge."


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.usefixtures("sample_app")
def test_a_browser_gets_the_bytes_a_feed_reader_gets_labelled_as_xml(client: FlaskClient, fmt: str) -> None:
    path = f"/cities/rosenheim/feed.{fmt}"
    reader = client.get(path)
    # Twice: once rendered by the view, once answered by the poll front from memory.
    for _ in range(2):
        browser = client.get(path, headers=NAVIGATION)
        assert browser.status_code == 200
        assert browser.data == reader.data
        assert browser.headers["Content-Type"] == "application/xml; charset=utf-8"
        assert browser.headers["ETag"] == reader.headers["ETag"]
        assert [part.strip() for part in browser.headers["Vary"].split(",")] == [
            "Accept-Encoding",
            "Sec-Fetch-Dest",
        ]
        assert "default-src 'none'" in browser.headers["Content-Security-Policy"]
        # For this browser only: no shared cache keeps it for feed readers.
        assert browser.headers["Cache-Control"] == reader.headers["Cache-Control"].replace(
            "public", "private"
        )
        assert browser.headers["X-Content-Type-Options"] == "nosniff"
    # Feed readers' answers are as they were: a cache in front never mixes the two.
    assert reader.headers["Content-Type"].startswith(f"application/{fmt}+xml")
    assert "Sec-Fetch-Dest" not in reader.headers.get("Vary", "")
    assert "Content-Security-Policy" not in reader.headers


@pytest.mark.usefixtures("sample_app")
def test_revalidating_in_the_browser_keeps_the_label(client: FlaskClient) -> None:
    first = client.get("/feed.atom", headers=NAVIGATION)
    again = client.get("/feed.atom", headers={**NAVIGATION, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert "Sec-Fetch-Dest" in again.headers["Vary"]


@pytest.mark.usefixtures("sample_app")
def test_json_feeds_errors_and_other_fetches_are_left_alone(client: FlaskClient) -> None:
    json_feed = client.get("/feed.json", headers=NAVIGATION)
    assert json_feed.headers["Content-Type"] == "application/feed+json"
    assert client.get("/cities/atlantis/feed.atom", headers=NAVIGATION).status_code == 404
    embedded = client.get("/feed.atom", headers={"Sec-Fetch-Dest": "empty"})
    assert embedded.headers["Content-Type"].startswith("application/atom+xml")


def test_headers_of_a_feed_shown_in_a_browser() -> None:
    headers = [
        ("Content-Type", "application/rss+xml; charset=utf-8"),
        ("Vary", "Accept-Encoding"),
        ("ETag", '"x"'),
    ]
    headers.append(("Cache-Control", "public, max-age=300"))
    assert shown_in_browser("200 OK", headers)[:4] == [
        ("Content-Type", "application/xml; charset=utf-8"),
        ("ETag", '"x"'),
        ("Cache-Control", "private, max-age=300"),
        ("Vary", "Accept-Encoding, Sec-Fetch-Dest"),
    ]
    problem = [("Content-Type", "application/problem+json")]
    assert shown_in_browser("400 BAD REQUEST", problem) == problem


@pytest.mark.usefixtures("sample_app")
def test_the_stylesheet_is_served_as_xslt(client: FlaskClient) -> None:
    with client.get("/static/feed.xsl") as response:
        assert response.status_code == 200
        assert response.mimetype in ("application/xslt+xml", "application/xml", "text/xsl")
        etree.XSLT(etree.fromstring(response.data))  # a stylesheet libxslt accepts
