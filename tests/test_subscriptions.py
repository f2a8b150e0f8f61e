"""Subscriptions: any filter as one object with a stable URL and feeds cached, validated,
paged and purged like every other feed (docs/feeds.md#subscriptions)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc import db
from feedsvc.models import Release
from feedsvc.store import subscriptions
from feedsvc.store.keys import scope_key
from feedsvc.store.scope import Scope
from feedsvc.worker.websub import feed_urls
from tests.api_support import field_errors, snapshot
from tests.conftest import FakeClock
from tests.desk_support import doc_of
from tests.factories import add_release

API = "/api/v1/subscriptions"


def subscribe(client: FlaskClient, status: int = 201, **filters: Any) -> dict[str, Any]:
    response = client.post(API, json=filters)
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def titles(client: FlaskClient, feed_url: str) -> list[str]:
    response = client.get(path_of(feed_url))
    assert response.status_code == 200, response.status_code
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [entry.title for entry in parsed.entries]


def test_the_same_filter_is_the_same_subscription(api: Flask, client: FlaskClient) -> None:
    first = subscribe(client, cities=["rosenheim", "bad-aibling"], topics=["verkehr"])
    again = subscribe(client, 200, topics=["verkehr", "verkehr"], cities=["bad-aibling", "rosenheim"])
    assert again["key"] == first["key"]
    assert first["url"].endswith(f"/subscriptions/{first['key']}")
    assert set(first["feeds"]) >= {"atom", "rss", "json"}
    assert first["cities"] == ["bad-aibling", "rosenheim"] and first["topics"] == ["verkehr"]
    read = client.get(f"{API}/{first['key']}")
    assert read.status_code == 200 and read.get_json()["key"] == first["key"]
    other = subscribe(client, cities=["rosenheim"], topics=["verkehr"])
    assert other["key"] != first["key"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cities": ["nirgendwo"]}, "cities.0"),
        ({"topics": ["verkehr", "unbekannt"]}, "topics.1"),
        ({"regions": ["Region Rosenheim"]}, "regions.0"),
        ({"cities": "rosenheim"}, "cities"),
        ({"cities": [f"stadt-{n}" for n in range(51)]}, "cities"),
        ({"q": "x" * 501}, "q"),
        ({"urgency": 0}, "urgency"),
        ({"urgency": "3"}, "urgency"),
        ({"colour": "blau"}, "colour"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    api: Flask, client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    before = snapshot(api)
    assert field in field_errors(client.post(API, json=body))
    assert snapshot(api) == before


def test_unknown_subscriptions_are_404(api: Flask, client: FlaskClient) -> None:
    for key in ("aaaaaaaaaaaaaaaa", "zu-kurz", "x" * 300, "%C3%A4" * 8):
        assert client.get(f"{API}/{key}").status_code == 404
        assert client.get(f"/subscriptions/{key}").status_code in (404, 400)
        assert client.get(f"/subscriptions/{key}/feed.atom").status_code in (404, 400)


def test_a_union_holds_each_release_once(api: Flask, client: FlaskClient) -> None:
    add_release(api, title="Radweg Rosenheim", city="rosenheim", topics=("verkehr", "kultur"), minutes_ago=30)
    add_release(api, title="Radweg Bad Aibling", city="bad-aibling", topics=("verkehr",), minutes_ago=20)
    add_release(api, title="Konzert Rosenheim", city="rosenheim", topics=("kultur",), minutes_ago=10)
    add_release(api, title="Radweg München", city="muenchen", topics=("verkehr",), minutes_ago=5)
    both = subscribe(client, cities=["rosenheim", "bad-aibling"], topics=["verkehr", "kultur"])
    assert titles(client, both["feeds"]["atom"]) == [
        "Konzert Rosenheim",
        "Radweg Bad Aibling",
        "Radweg Rosenheim",
    ]
    traffic = subscribe(client, cities=["rosenheim", "bad-aibling"], topics=["verkehr"])
    assert titles(client, traffic["feeds"]["rss"]) == ["Radweg Bad Aibling", "Radweg Rosenheim"]
    region = subscribe(client, regions=["region-rosenheim"], topics=["verkehr"])
    assert titles(client, region["feeds"]["atom"]) == ["Radweg Bad Aibling", "Radweg Rosenheim"]
    searched = subscribe(client, topics=["verkehr"], q="München")
    assert titles(client, searched["feeds"]["atom"]) == ["Radweg München"]
    everything = subscribe(client)
    assert len(titles(client, everything["feeds"]["atom"])) == 4
    items = json.loads(client.get(path_of(both["feeds"]["json"])).data)["items"]
    assert len({item["id"] for item in items}) == len(items) == 3


def test_the_urgency_floor_keeps_urgent_releases(api: Flask, client: FlaskClient) -> None:
    add_release(api, title="Hochwasserwarnung", urgency=1, minutes_ago=3)
    add_release(api, title="Adventsmarkt", minutes_ago=2)
    urgent = subscribe(client, cities=["rosenheim"], urgency=2)
    assert titles(client, urgent["feeds"]["atom"]) == ["Hochwasserwarnung"]


def test_subscription_feeds_are_validated_purged_and_told_like_others(
    api: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    add_release(api, title="Radweg Rosenheim", city="rosenheim", topics=("verkehr",), minutes_ago=30)
    sub = subscribe(client, cities=["rosenheim", "bad-aibling"])
    feed = path_of(sub["feeds"]["atom"])
    first = client.get(feed)
    etag = first.headers["ETag"]
    assert client.get(feed, headers={"If-None-Match": etag}).status_code == 304
    with api.app_context():
        session = db.session()
        rosenheim = session.get(Release, 1)
        assert rosenheim is not None
        city_keys = {scope_key(Scope(city_id=rosenheim.city_id))}
    assert city_keys <= set(first.headers["xkey"].split())
    # A release elsewhere changes nothing this feed shows: the same validator.
    add_release(api, title="Radweg München", city="muenchen", minutes_ago=1)
    assert client.get(feed, headers={"If-None-Match": etag}).status_code == 304
    add_release(api, title="Brücke Bad Aibling", city="bad-aibling", minutes_ago=0)
    changed = client.get(feed, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Brücke Bad Aibling" in changed.get_data(as_text=True)
    with api.app_context():
        told = feed_urls(db.session(), sorted(city_keys), "https://feeds.example.test")
        assert f"https://feeds.example.test/subscriptions/{sub['key']}/feed.atom" in told


def test_an_embargoed_release_reaches_the_subscription_at_its_instant(
    api: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    add_release(api, title="Haushalt", published_at=clock.now + timedelta(hours=1))
    sub = subscribe(client, cities=["rosenheim"], topics=[])
    assert titles(client, sub["feeds"]["atom"]) == []
    clock.advance(hours=1, seconds=1)
    assert titles(client, sub["feeds"]["atom"]) == ["Haushalt"]


def test_paging_walks_a_subscription_exactly_once(api: Flask, client: FlaskClient) -> None:
    for number in range(7):
        add_release(
            api,
            title=f"Meldung {number}",
            city=("rosenheim", "bad-aibling")[number % 2],
            minutes_ago=60 - number,
        )
    add_release(api, title="Anderswo", city="muenchen", minutes_ago=1)
    sub = subscribe(client, cities=["rosenheim", "bad-aibling"])
    seen: list[str] = []
    url: str | None = sub["feeds"]["atom"] + "?limit=3"
    while url:
        parsed = feedparser.parse(client.get(path_of(url)).data)
        seen += [entry.title for entry in parsed.entries]
        url = next((link.href for link in parsed.feed.links if link.rel == "next"), None)
    assert seen == [f"Meldung {number}" for number in reversed(range(7))]


def test_the_subscription_page_and_form(api: Flask, client: FlaskClient) -> None:
    add_release(api, title="Radweg Rosenheim", city="rosenheim", topics=("verkehr",), minutes_ago=30)
    form = doc_of(client.get("/subscriptions/new"))
    assert form.cssselect("input[name=cities][value=rosenheim]")
    made = client.post("/subscriptions", data={"cities": ["rosenheim"], "topics": ["verkehr"], "q": ""})
    assert made.status_code == 303
    page = client.get(made.headers["Location"])
    assert page.status_code == 200
    doc = doc_of(page)
    assert "Rosenheim · Verkehr" in doc.cssselect("h1")[0].text_content()
    assert [node.text_content().strip() for node in doc.cssselect(".card h3")] == ["Radweg Rosenheim"]
    assert doc.cssselect("link[rel=alternate][type='application/atom+xml']")
    assert 'name="robots" content="noindex' in page.get_data(as_text=True)
    refused = client.post("/subscriptions", data={"cities": ["nirgendwo"], "urgency": "zehn"})
    assert refused.status_code == 422
    errors = " ".join(node.text_content() for node in doc_of(refused).cssselect(".field__error"))
    assert "Städte" in errors and "Dringlichkeit" in errors


def test_changed_keys_find_the_subscriptions_they_cover(api: Flask, client: FlaskClient) -> None:
    release_id = add_release(api, title="Radweg", city="bad-aibling", topics=("verkehr",), minutes_ago=1)
    city_topic = subscribe(client, cities=["rosenheim"], topics=["verkehr"])
    region = subscribe(client, regions=["region-rosenheim"])
    everything = subscribe(client)
    with api.app_context():
        session = db.session()
        by_key = {
            row.key: row
            for row in (subscriptions.by_key(session, sub["key"]) for sub in (city_topic, region, everything))
            if row
        }
        found = {row.key for row in subscriptions.for_changed_keys(session, ["all"])}
        assert found == {everything["key"]}
        keys_of_city_topic = subscriptions.subject_keys(by_key[city_topic["key"]])
        found = {row.key for row in subscriptions.for_changed_keys(session, list(keys_of_city_topic))}
        assert found == {city_topic["key"]}
        release = session.get(Release, release_id)
        assert release is not None
        matched = {row.key for row in subscriptions.matching_release(session, release)}
        assert matched == {region["key"], everything["key"]}
