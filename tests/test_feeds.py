"""Feeds over HTTP: every subject × format parses in a real reader library and
carries what docs/feeds.md#what-every-feed-carries promises."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.publishing.input import ReleasePatch
from tests.conftest import BASE_URL, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog, patch_release, retract

ATOM = "{http://www.w3.org/2005/Atom}"
SUBJECTS = [
    "",
    "/cities/rosenheim",
    "/topics/soziales-familie",
    "/cities/rosenheim/topics/soziales-familie",
    "/regions/region-rosenheim",
]
FORMATS = ["atom", "rss", "json"]


@pytest.fixture
def five_releases_in_three_cities(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(
            app, title="Älteste Meldung: Straße gesperrt", topics=("soziales-familie",), minutes_ago=300
        )
        add_release(
            app,
            title="Besuch aus Shanghai: 李伟 im Rathaus 🎉",
            topics=("soziales-familie", "kultur"),
            minutes_ago=200,
            images=[
                {
                    "url": "https://img.example.test/rathaus.jpg",
                    "caption": "Gäste vor dem Rathaus",
                    "credit": "Foto: Stadt Rosenheim",
                    "type": "image/jpeg",
                    "length": 123456,
                }
            ],
        )
        add_release(app, title="Neueste Meldung", topics=("soziales-familie",), minutes_ago=100)
        add_release(
            app,
            city="bad-aibling",
            title="Kurpark wird saniert",
            topics=("soziales-familie",),
            minutes_ago=50,
        )
        add_release(app, city="muenchen", title="Nur München", topics=("verkehr",), minutes_ago=10)

    fill_once(app, "five releases in three cities, for the feeds", fill)
    return app


def fetch(client: FlaskClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.data
    return response


def ids_of(fmt: str, body: bytes) -> list[str]:
    if fmt == "json":
        return [item["id"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    return [entry.id for entry in parsed.entries]


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_every_feed_parses_without_warnings(client: FlaskClient, subject: str, fmt: str) -> None:
    response = fetch(client, f"{subject}/feed.{fmt}")
    if fmt == "json":
        # feedparser reads only XML feeds: check JSON Feed 1.1's required members instead.
        feed = json.loads(response.data)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert feed["title"].startswith("Pressemitteilungen – ")
        assert feed["items"]
        for item in feed["items"]:
            assert item["id"] and item["title"] and item["content_html"]
            assert item["url"].startswith(f"{BASE_URL}/releases/")
        return
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries
    assert parsed.feed.title.startswith("Pressemitteilungen – ")
    for entry in parsed.entries:
        assert entry.link.startswith(f"{BASE_URL}/releases/")
        assert entry.title


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_three_formats_list_the_same_ids_in_the_same_order(client: FlaskClient, subject: str) -> None:
    ids = {fmt: ids_of(fmt, fetch(client, f"{subject}/feed.{fmt}").data) for fmt in FORMATS}
    assert ids["atom"] == ids["rss"] == ids["json"]
    assert ids["atom"]


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_content_types_follow_the_contract(client: FlaskClient) -> None:
    assert fetch(client, "/feed.atom").content_type == "application/atom+xml; charset=utf-8"
    assert fetch(client, "/feed.rss").content_type == "application/rss+xml; charset=utf-8"
    assert fetch(client, "/feed.json").content_type == "application/feed+json"


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_city_feed_lists_newest_first_and_only_its_city(client: FlaskClient) -> None:
    parsed = feedparser.parse(fetch(client, "/cities/rosenheim/feed.atom").data)
    titles = [entry.title for entry in parsed.entries]
    assert titles == [
        "Neueste Meldung",
        "Besuch aus Shanghai: 李伟 im Rathaus 🎉",
        "Älteste Meldung: Straße gesperrt",
    ]


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_region_feed_holds_all_cities_of_the_region(client: FlaskClient) -> None:
    parsed = feedparser.parse(fetch(client, "/regions/region-rosenheim/feed.atom").data)
    titles = [entry.title for entry in parsed.entries]
    assert "Kurpark wird saniert" in titles and "Nur München" not in titles
    assert len(titles) == 4


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_city_topic_feed_holds_only_that_pair(client: FlaskClient) -> None:
    parsed = feedparser.parse(fetch(client, "/cities/rosenheim/topics/kultur/feed.atom").data)
    assert [entry.title for entry in parsed.entries] == ["Besuch aus Shanghai: 李伟 im Rathaus 🎉"]


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_atom_carries_required_elements(client: FlaskClient) -> None:
    url = "/cities/rosenheim/feed.atom"
    root = ElementTree.fromstring(fetch(client, url).data)
    assert root.findtext(f"{ATOM}title") == "Pressemitteilungen – Rosenheim"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["self"] == f"{BASE_URL}{url}"
    assert links["alternate"] == f"{BASE_URL}/cities/rosenheim"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    entries = root.findall(f"{ATOM}entry")
    newest = entries[0]
    assert newest.findtext(f"{ATOM}id", "").startswith("tag:feeds.example.test,2026-11-25:release:")
    assert newest.findtext(f"{ATOM}published", "").endswith("+01:00")
    assert newest.findtext(f"{ATOM}updated", "").endswith("+01:00")
    assert root.findtext(f"{ATOM}updated") == max(e.findtext(f"{ATOM}updated", "") for e in entries)
    visit = entries[1]
    terms = {(c.get("term"), c.get("scheme")) for c in visit.findall(f"{ATOM}category")}
    assert ("Soziales & Familie", f"{BASE_URL}/topics/") in terms
    assert ("Rosenheim", f"{BASE_URL}/cities/") in terms
    enclosure = [link for link in visit.findall(f"{ATOM}link") if link.get("rel") == "enclosure"]
    assert enclosure and enclosure[0].get("length") == "123456" and enclosure[0].get("type") == "image/jpeg"


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_rss_carries_enclosure_guid_and_self_link(client: FlaskClient) -> None:
    parsed = feedparser.parse(fetch(client, "/cities/rosenheim/feed.rss").data)
    visit = parsed.entries[1]
    assert visit.enclosures[0].href == "https://img.example.test/rathaus.jpg"
    assert visit.enclosures[0].length == "123456"
    assert parsed.feed.link == f"{BASE_URL}/cities/rosenheim"
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [f"{BASE_URL}/cities/rosenheim/feed.rss"]


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_json_feed_follows_version_1_1(client: FlaskClient) -> None:
    feed = json.loads(fetch(client, "/cities/rosenheim/feed.json").data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == f"{BASE_URL}/cities/rosenheim/feed.json"
    assert feed["home_page_url"] == f"{BASE_URL}/cities/rosenheim"
    item = feed["items"][1]
    assert item["attachments"][0]["size_in_bytes"] == 123456
    assert "Soziales & Familie" in item["tags"]
    assert item["date_published"].endswith("+01:00")


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_same_data_renders_byte_identical_feeds(client: FlaskClient) -> None:
    for fmt in FORMATS:
        assert fetch(client, f"/feed.{fmt}").data == fetch(client, f"/feed.{fmt}").data


def test_embargoed_release_appears_only_at_its_instant(
    five_releases_in_three_cities: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    add_release(
        five_releases_in_three_cities,
        title="Sperrfrist: Haushalt 2027",
        published_at=clock.now + timedelta(hours=2),
    )
    for fmt in FORMATS:
        assert b"Sperrfrist" not in fetch(client, f"/cities/rosenheim/feed.{fmt}").data
    clock.advance(hours=2)
    for fmt in FORMATS:
        assert b"Sperrfrist" in fetch(client, f"/cities/rosenheim/feed.{fmt}").data


def test_retracted_release_leaves_every_feed(
    five_releases_in_three_cities: Flask, client: FlaskClient
) -> None:
    release_id = add_release(
        five_releases_in_three_cities, title="Versehentlich veröffentlicht", topics=("kultur",), minutes_ago=1
    )
    retract(five_releases_in_three_cities, release_id)
    for subject in [*SUBJECTS, "/topics/kultur", "/cities/rosenheim/topics/kultur"]:
        for fmt in ("rss", "json"):
            assert b"Versehentlich" not in fetch(client, f"{subject}/feed.{fmt}").data


def test_ids_stay_when_a_title_is_edited(
    five_releases_in_three_cities: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    before = {fmt: ids_of(fmt, fetch(client, f"/cities/rosenheim/feed.{fmt}").data) for fmt in FORMATS}
    clock.advance(minutes=5)
    patch_release(five_releases_in_three_cities, 3, ReleasePatch(title="Neueste Meldung (korrigiert)"))
    for fmt in FORMATS:
        assert ids_of(fmt, fetch(client, f"/cities/rosenheim/feed.{fmt}").data) == before[fmt]
    parsed = feedparser.parse(fetch(client, "/cities/rosenheim/feed.atom").data)
    assert parsed.entries[0].title == "Neueste Meldung (korrigiert)"
    assert parsed.entries[0].updated != parsed.entries[0].published


@pytest.mark.parametrize(
    "url",
    [
        "/cities/nirgendwo/feed.atom",
        "/topics/nichts/feed.rss",
        "/regions/mars/feed.json",
        "/cities/rosenheim/topics/nichts/feed.atom",
        "/cities/rosenheim/feed.xml",
        "/feed.html",
    ],
)
@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_unknown_slug_or_format_is_404(client: FlaskClient, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", "", "٣", "99999999999999999999"])
@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_bad_limit_is_400(client: FlaskClient, limit: str) -> None:
    response = client.get(f"/feed.atom?limit={limit}")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert "limit" in response.get_json()["detail"]


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_limit_and_next_link_walk_every_release_once(client: FlaskClient) -> None:
    seen: list[str] = []
    url: str | None = "/feed.atom?limit=2"
    while url:
        parsed = feedparser.parse(fetch(client, url).data)
        assert not parsed.bozo
        assert len(parsed.entries) <= 2
        seen += [entry.id for entry in parsed.entries]
        nexts = [link.href for link in parsed.feed.links if link.rel == "next"]
        url = nexts[0].removeprefix(BASE_URL) if nexts else None
    assert seen == ids_of("atom", fetch(client, "/feed.atom").data)
    assert len(seen) == 5


@pytest.mark.parametrize(
    "after", ["x", "1-", "-1", "1-2-3", "9" * 40 + "-1", "999999999999999999-1", "1-99999999999999999999"]
)
@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_bad_cursor_is_400(client: FlaskClient, after: str) -> None:
    assert client.get(f"/feed.atom?after={after}").status_code == 400


FORBIDDEN = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF, 0xD800]))


def test_xml_forbidden_characters_in_any_field_still_give_well_formed_feeds(
    five_releases_in_three_cities: Flask, client: FlaskClient
) -> None:
    dirty = f"Gr{FORBIDDEN}üße aus 上海 🎉"
    add_release(
        five_releases_in_three_cities,
        title=dirty,
        body=f"<p>{dirty}</p>",
        summary=dirty,
        author=dirty,
        contact={"name": dirty, "email": "presse@rosenheim.de"},
        images=[{"url": "https://img.example.test/a.jpg", "caption": dirty, "credit": dirty, "length": 1}],
        minutes_ago=0,
    )
    for subject in ("", "/cities/rosenheim"):
        for fmt in FORMATS:
            body = fetch(client, f"{subject}/feed.{fmt}").data
            if fmt == "json":
                item = json.loads(body)["items"][0]
                assert item["title"] == "Grüße aus 上海 🎉"
            else:
                ElementTree.fromstring(body)
                parsed = feedparser.parse(body)
                assert not parsed.bozo
                assert parsed.entries[0].title == "Grüße aus 上海 🎉"
