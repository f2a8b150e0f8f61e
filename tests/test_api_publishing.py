"""The publishing API end to end: a press office publishes, corrects and retracts a release,
and every feed format shows it (docs/api.md#a-release)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc import db
from feedsvc.models import Release
from tests.api_support import RELEASE, bearer, make_token, problem_of, snapshot
from tests.conftest import BASE_URL, FakeClock
from tests.factories import add_release

FORMATS = ("atom", "rss", "json")
FEEDS = (
    "/feed",
    "/cities/rosenheim/feed",
    "/topics/verkehr/feed",
    "/cities/rosenheim/topics/verkehr/feed",
    "/regions/region-rosenheim/feed",
)


def publish(client: FlaskClient, token: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/releases", json={**RELEASE, **changes}, headers=token)
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()
    return created


def entries(client: FlaskClient, path: str, fmt: str) -> dict[str, dict[str, str]]:
    """{entry id: {title, updated, published}} of a feed, parsed as a reader would."""
    response = client.get(f"{path}.{fmt}")
    assert response.status_code == 200, response.get_data(as_text=True)
    if fmt == "json":
        items = json.loads(response.get_data())["items"]
        return {
            item["id"]: {
                "title": item["title"],
                "updated": item["date_modified"],
                "published": item["date_published"],
            }
            for item in items
        }
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return {
        entry.id: {
            "title": entry.title,
            # dict.get: feedparser's own get() maps a missing updated to published, with a warning.
            "updated": dict.get(entry, "updated", ""),
            "published": dict.get(entry, "published", ""),
        }
        for entry in parsed.entries
    }


def instant(text: str) -> datetime:
    """An instant as any of the three formats writes it (RFC 3339 or RFC 822)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(text)


def test_a_press_office_publishes_a_release_and_gets_it_back(
    client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    response = client.post("/api/v1/releases", json=RELEASE, headers=token)
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    created = response.get_json()
    assert response.headers["Location"] == f"{BASE_URL}/api/v1/releases/{created['id']}"
    assert created["title"] == RELEASE["title"]
    assert created["city"] == "rosenheim" and created["region"] == "region-rosenheim"
    assert created["topics"] == ["verkehr"]
    assert created["guid"] == f"tag:feeds.example.test,2026-11-25:release:{created['id']}"
    assert created["url"] == f"{BASE_URL}/releases/{created['id']}-innbruecke-ab-montag-gesperrt"
    assert created["revision"] == 1
    assert created["author"] == created["publisher"] == "Pressestelle Rosenheim"
    assert created["language"] == "de"
    assert created["summary"].startswith("Wegen Bauarbeiten ist die Innbrücke")
    assert datetime.fromisoformat(created["published_at"]) == clock.now
    assert datetime.fromisoformat(created["created_at"]) == clock.now
    assert datetime.fromisoformat(created["updated_at"]) == clock.now
    fetched = client.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.get_json() == created


def test_every_optional_field_is_stored_and_returned(client: FlaskClient, token: dict[str, str]) -> None:
    image = {
        "url": "https://www.rosenheim.de/bilder/innbruecke.jpg",
        "caption": "Die Innbrücke & der Inn",
        "credit": "Foto: Stadt Rosenheim",
        "type": "image/jpeg",
        "length": 123456,
    }
    created = publish(
        client,
        token,
        summary="Kurz: die Brücke ist zu.",
        published_at="2026-11-25T09:00:00+01:00",
        images=[image],
        source_url="https://www.rosenheim.de/presse/117",
        author="Max Mustermann",
        contact={"name": "Pressestelle", "email": "presse@rosenheim.de", "phone": "+49 8031 365-0"},
        language="de-DE",
        external_id="ro-2026-117",
    )
    assert created["summary"] == "Kurz: die Brücke ist zu."
    assert datetime.fromisoformat(created["published_at"]) == datetime.fromisoformat("2026-11-25T08:00:00Z")
    assert created["images"] == [image]
    assert created["source_url"] == "https://www.rosenheim.de/presse/117"
    assert created["author"] == "Max Mustermann"
    assert created["contact"] == {
        "name": "Pressestelle",
        "email": "presse@rosenheim.de",
        "phone": "+49 8031 365-0",
    }
    assert created["language"] == "de-DE"
    assert created["external_id"] == "ro-2026-117"


def test_plain_text_is_returned_as_stored_not_decoded_twice(
    client: FlaskClient, token: dict[str, str]
) -> None:
    # "&amp;lt;b&amp;gt;" is the text "&lt;b&gt;" once decoded; a second decoding would turn
    # it into markup and a third cleaning would drop it.
    image = {"url": "https://img.example.test/a.jpg", "caption": "Code &amp;lt;b&amp;gt; zeigen", "length": 1}
    created = publish(client, token, images=[image], contact={"name": "A &amp;lt; B"})
    assert created["images"][0]["caption"] == "Code &lt;b&gt; zeigen"
    assert created["contact"]["name"] == "A &lt; B"


def test_a_published_release_appears_in_every_feed_that_holds_it(
    client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token)
    for path in FEEDS:
        for fmt in FORMATS:
            found = entries(client, path, fmt)
            assert found[created["guid"]]["title"] == RELEASE["title"], (path, fmt)
    assert created["guid"] not in entries(client, "/cities/muenchen/feed", "atom")


def test_patch_changes_only_the_given_fields_and_bumps_revision_and_updated(
    client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token, summary="Die Brücke ist zu.")
    clock.advance(minutes=30)
    response = client.patch(
        f"/api/v1/releases/{created['id']}",
        json={"title": "Innbrücke erst ab Dienstag gesperrt", "correction_note": "Termin korrigiert"},
        headers=token,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    changed = response.get_json()
    assert changed["title"] == "Innbrücke erst ab Dienstag gesperrt"
    assert changed["correction_note"] == "Termin korrigiert"
    assert changed["revision"] == 2
    assert datetime.fromisoformat(changed["updated_at"]) == clock.now
    unchanged = ("id", "guid", "body", "summary", "city", "topics", "published_at", "created_at", "author")
    assert {key: changed[key] for key in unchanged} == {key: created[key] for key in unchanged}
    assert client.get(f"/api/v1/releases/{created['id']}").get_json() == changed


def test_an_empty_patch_changes_nothing(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    clock.advance(minutes=30)
    before = snapshot(api)
    response = client.patch(f"/api/v1/releases/{created['id']}", json={}, headers=token)
    assert response.status_code == 200
    assert response.get_json() == created
    assert snapshot(api) == before


def test_patch_shows_in_all_three_feed_formats_under_the_same_id(
    client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    before = {(path, fmt): entries(client, path, fmt) for path in FEEDS for fmt in FORMATS}
    clock.advance(hours=2)
    response = client.patch(
        f"/api/v1/releases/{created['id']}", json={"title": "Innbrücke: Sperrung verschoben"}, headers=token
    )
    assert response.status_code == 200
    for path in FEEDS:
        for fmt in FORMATS:
            after = entries(client, path, fmt)
            assert after.keys() == before[path, fmt].keys(), (path, fmt)
            entry = after[created["guid"]]
            assert entry["title"] == "Innbrücke: Sperrung verschoben", (path, fmt)
            assert instant(entry["published"]) == clock.now - timedelta(hours=2)
            if fmt == "rss":  # RSS 2.0 items have no updated date; the channel's lastBuildDate has
                channel = feedparser.parse(client.get(f"{path}.rss").get_data()).feed
                assert instant(str(dict.get(channel, "updated"))) == clock.now
                continue
            assert instant(entry["updated"]) == clock.now, (path, fmt)
            assert instant(entry["updated"]) > instant(before[path, fmt][created["guid"]]["updated"])


def test_patch_can_move_a_release_to_another_city_and_topic(api: Flask, client: FlaskClient) -> None:
    token = bearer(make_token(api, cities=("rosenheim", "bad-aibling")))
    created = publish(client, token)
    response = client.patch(
        f"/api/v1/releases/{created['id']}", json={"city": "bad-aibling", "topics": ["kultur"]}, headers=token
    )
    assert response.status_code == 200
    assert (response.get_json()["city"], response.get_json()["topics"]) == ("bad-aibling", ["kultur"])
    assert created["guid"] not in entries(client, "/cities/rosenheim/feed", "atom")
    assert created["guid"] not in entries(client, "/topics/verkehr/feed", "json")
    assert created["guid"] in entries(client, "/cities/bad-aibling/feed", "rss")
    assert created["guid"] in entries(client, "/cities/bad-aibling/topics/kultur/feed", "atom")
    assert created["guid"] in entries(client, "/regions/region-rosenheim/feed", "json")


def test_a_corrected_body_resolves_relative_links_against_the_stored_source_url(
    client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token, source_url="https://www.rosenheim.de/presse/117")
    response = client.patch(
        f"/api/v1/releases/{created['id']}",
        json={"body": '<p>Mehr im <a href="plan.pdf">Umleitungsplan</a>.</p>'},
        headers=token,
    )
    assert response.get_json()["body"] == (
        '<p>Mehr im <a href="https://www.rosenheim.de/presse/plan.pdf">Umleitungsplan</a>.</p>'
    )


def test_delete_retracts_a_release_from_every_feed_and_page_but_keeps_it_in_the_database(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    pages = ("/", "/cities/rosenheim", "/topics/verkehr", "/regions/region-rosenheim")
    title = RELEASE["title"].encode()
    assert all(title in client.get(page).get_data() for page in pages)
    assert client.get(f"/releases/{created['id']}", follow_redirects=True).status_code == 200
    clock.advance(minutes=10)
    response = client.delete(f"/api/v1/releases/{created['id']}", headers=token)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    for path in FEEDS:
        for fmt in FORMATS:
            assert created["guid"] not in entries(client, path, fmt), (path, fmt)
    for path in FEEDS:  # RFC 6721: Atom feeds tell readers to remove the entry
        root = ElementTree.fromstring(client.get(f"{path}.atom").get_data())
        tombstones = root.findall("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
        assert [(t.get("ref"), instant(t.get("when", ""))) for t in tombstones] == [
            (created["guid"], clock.now)
        ]
    for page in pages:
        shown = client.get(page)
        assert shown.status_code == 200 and title not in shown.get_data(), page
    assert client.get(f"/releases/{created['id']}", follow_redirects=True).status_code == 410
    listed = client.get("/api/v1/releases").get_json()["items"]
    assert created["id"] not in [item["id"] for item in listed]
    gone = problem_of(client.get(f"/api/v1/releases/{created['id']}"), 410)
    assert str(created["id"]) in gone["detail"]
    with api.app_context():
        kept = db.session().get(Release, created["id"])
        assert kept is not None
        assert kept.retracted_at == clock.now
        assert kept.title == RELEASE["title"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_retracted_release_answers_410_to_every_method(
    api: Flask, client: FlaskClient, token: dict[str, str], method: str
) -> None:
    created = publish(client, token)
    assert client.delete(f"/api/v1/releases/{created['id']}", headers=token).status_code == 204
    before = snapshot(api)
    response = client.open(
        f"/api/v1/releases/{created['id']}", method=method.upper(), json={"title": "Neu"}, headers=token
    )
    problem_of(response, 410)
    assert snapshot(api) == before


def test_an_embargoed_release_is_hidden_until_its_instant(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token, published_at=(clock.now + timedelta(hours=1)).isoformat())
    assert client.get(f"/api/v1/releases/{created['id']}").status_code == 404
    assert client.get(f"/api/v1/releases/{created['id']}", headers=token).status_code == 200
    journalist = bearer(make_token(api, role="journalist", publisher=None))
    assert client.get(f"/api/v1/releases/{created['id']}", headers=journalist).status_code == 200
    assert created["guid"] not in entries(client, "/cities/rosenheim/feed", "atom")
    assert client.get("/api/v1/releases").get_json()["items"] == []
    clock.advance(hours=1)
    assert client.get(f"/api/v1/releases/{created['id']}").status_code == 200
    assert created["guid"] in entries(client, "/cities/rosenheim/feed", "atom")


def test_list_filters_by_city_topic_region_and_their_combinations(api: Flask, client: FlaskClient) -> None:
    add_release(api, title="Rosenheim Verkehr", city="rosenheim", topics=("verkehr",), minutes_ago=40)
    add_release(api, title="Bad Aibling Kultur", city="bad-aibling", topics=("kultur",), minutes_ago=30)
    add_release(api, title="München Verkehr", city="muenchen", topics=("verkehr",), minutes_ago=20)
    add_release(api, title="Rosenheim Kultur", city="rosenheim", topics=("kultur",), minutes_ago=10)

    def titles(query: str) -> list[str]:
        response = client.get(f"/api/v1/releases{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["title"] for item in response.get_json()["items"]]

    assert titles("") == ["Rosenheim Kultur", "München Verkehr", "Bad Aibling Kultur", "Rosenheim Verkehr"]
    assert titles("?city=rosenheim") == ["Rosenheim Kultur", "Rosenheim Verkehr"]
    assert titles("?topic=verkehr") == ["München Verkehr", "Rosenheim Verkehr"]
    assert titles("?region=region-rosenheim") == [
        "Rosenheim Kultur",
        "Bad Aibling Kultur",
        "Rosenheim Verkehr",
    ]
    assert titles("?city=rosenheim&topic=kultur") == ["Rosenheim Kultur"]
    assert titles("?topic=verkehr&region=region-rosenheim") == ["Rosenheim Verkehr"]
    assert titles("?topic=verkehr&region=muenchen-region") == ["München Verkehr"]
    assert titles("?city=muenchen&region=region-rosenheim") == []


def test_list_since_keeps_releases_changed_at_or_after_it(
    client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    old = publish(client, token, title="Alt")
    clock.advance(hours=1)
    new = publish(client, token, title="Neu")
    clock.advance(hours=1)
    client.patch(f"/api/v1/releases/{old['id']}", json={"summary": "Korrigiert"}, headers=token)
    since = (clock.now - timedelta(minutes=90)).isoformat().replace("+", "%2B")
    listed = client.get(f"/api/v1/releases?since={since}").get_json()["items"]
    assert sorted(item["id"] for item in listed) == sorted([old["id"], new["id"]])
    since = (clock.now - timedelta(minutes=30)).isoformat().replace("+", "%2B")
    assert [item["id"] for item in client.get(f"/api/v1/releases?since={since}").get_json()["items"]] == [
        old["id"]
    ]


def test_list_pages_visit_every_release_once(api: Flask, client: FlaskClient) -> None:
    for minutes in range(7):
        add_release(api, title=f"Meldung {minutes}", minutes_ago=minutes * 10)
    seen: list[int] = []
    url: str | None = "/api/v1/releases?limit=3&city=rosenheim"
    while url is not None:
        page = client.get(url).get_json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        url = page["next"].removeprefix(BASE_URL) if page["next"] else None
        assert url is None or "city=rosenheim" in url
    assert seen == [item["id"] for item in client.get("/api/v1/releases?limit=200").get_json()["items"]]
    assert len(seen) == 7


@pytest.mark.usefixtures("api")
def test_catalog_lists_cities_topics_and_regions_with_their_feeds(client: FlaskClient) -> None:
    cities = {city["slug"]: city for city in client.get("/api/v1/cities").get_json()}
    assert set(cities) == {"rosenheim", "bad-aibling", "muenchen"}
    rosenheim = cities["rosenheim"]
    assert (rosenheim["name"], rosenheim["ags"], rosenheim["region"]) == (
        "Rosenheim",
        "09163000",
        "region-rosenheim",
    )
    assert rosenheim["url"] == f"{BASE_URL}/cities/rosenheim"
    assert rosenheim["feeds"]["atom"] == f"{BASE_URL}/cities/rosenheim/feed.atom"
    topics = {topic["slug"]: topic["name"] for topic in client.get("/api/v1/topics").get_json()}
    assert topics["soziales-familie"] == "Soziales & Familie"
    regions = {region["slug"]: region for region in client.get("/api/v1/regions").get_json()}
    assert regions["region-rosenheim"]["cities"] == ["bad-aibling", "rosenheim"]
    assert regions["region-rosenheim"]["feeds"]["json"] == f"{BASE_URL}/regions/region-rosenheim/feed.json"


def test_an_admin_publishes_in_the_name_of_the_citys_press_office(api: Flask, client: FlaskClient) -> None:
    admin = bearer(make_token(api, role="admin", publisher=None))
    created = publish(client, admin, city="muenchen")
    assert created["publisher"] == created["author"] == "Pressestelle München"
