"""Syndication extras: RFC 6721 tombstones, polling guidance that agrees with
Cache-Control, the city's official key as a category, correction notes."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from xml.etree import ElementTree

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc import db
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store.tokens import create_token
from tests.conftest import FakeClock
from tests.databases import fill_once
from tests.factories import BY_OPERATOR, add_release, make_catalog, patch_release, retract

ATOM = "{http://www.w3.org/2005/Atom}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"


@pytest.fixture
def one_rosenheim_release(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Bleibt", topics=("kultur",), minutes_ago=60)

    fill_once(app, "one release in Rosenheim, for syndication", fill)
    return app


def test_atom_announces_a_retraction_and_the_others_drop_it(
    one_rosenheim_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    release_id = add_release(one_rosenheim_release, title="Zurückgezogen", topics=("kultur",), minutes_ago=30)
    clock.advance(minutes=5)
    guid = retract(one_rosenheim_release, release_id)
    for subject in ("", "/cities/rosenheim", "/topics/kultur", "/cities/rosenheim/topics/kultur"):
        body = client.get(f"{subject}/feed.atom").data
        assert not feedparser.parse(body).bozo
        stones = ElementTree.fromstring(body).findall(TOMBSTONE)
        assert [(s.get("ref"), s.get("when")) for s in stones] == [(guid, "2026-11-25T13:05:00+01:00")]
        assert guid not in [
            e.findtext(f"{ATOM}id") for e in ElementTree.fromstring(body).findall(f"{ATOM}entry")
        ]
        assert b"deleted-entry" not in client.get(f"{subject}/feed.rss").data
        assert guid not in client.get(f"{subject}/feed.json").get_data(as_text=True)
    assert ElementTree.fromstring(client.get("/cities/muenchen/feed.atom").data).findall(TOMBSTONE) == []


def test_tombstones_leave_after_the_configured_window(
    one_rosenheim_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    release_id = add_release(one_rosenheim_release, title="Zurückgezogen", minutes_ago=30)
    retract(one_rosenheim_release, release_id)
    clock.advance(days=31)
    add_release(one_rosenheim_release, title="Später", minutes_ago=0)  # the next change renders the feed anew
    root = ElementTree.fromstring(client.get("/cities/rosenheim/feed.atom").data)
    assert root.findall(TOMBSTONE) == []


def test_an_embargoed_release_retracted_before_its_lift_leaves_no_tombstone(
    one_rosenheim_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    release_id = add_release(
        one_rosenheim_release, title="Nie erschienen", published_at=clock.now + timedelta(days=1)
    )
    retract(one_rosenheim_release, release_id)
    assert ElementTree.fromstring(client.get("/cities/rosenheim/feed.atom").data).findall(TOMBSTONE) == []


@pytest.mark.usefixtures("one_rosenheim_release")
def test_rss_polling_guidance_agrees_with_cache_control(client: FlaskClient, clock: FakeClock) -> None:
    """sy:* says the max-age a feed has at a point of the expiry grid (the test's clock is on
    one); <ttl> is left out, as the max-age of the same bytes counts down to the next point."""
    assert clock.now.second == 0
    response = client.get("/cities/rosenheim/feed.rss")
    max_age = int(response.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    channel = ElementTree.fromstring(response.data).find("channel")
    assert channel is not None
    assert channel.find("ttl") is None
    period, frequency = (
        channel.findtext(f"{SY}updatePeriod"),
        int(channel.findtext(f"{SY}updateFrequency", "0")),
    )
    seconds = {"hourly": 3600, "daily": 86400}[period or ""]
    assert seconds // frequency == max_age == 60


@pytest.mark.usefixtures("one_rosenheim_release")
def test_the_city_carries_its_official_municipality_key(client: FlaskClient) -> None:
    entry = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).entries[0]
    assert ("09163000", "urn:de:destatis:ags") in {(t.term, t.scheme) for t in entry.tags}
    assert "Rosenheim" in {t.term for t in entry.tags}


def test_a_correction_note_leads_the_entry_with_its_date(
    one_rosenheim_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    clock.advance(days=2)
    patch_release(
        one_rosenheim_release,
        1,
        ReleasePatch(title="Bleibt (korrigiert)", correction_note="Uhrzeit berichtigt"),
    )
    expected = '<p class="correction"><strong>Korrektur vom 27.11.2026:</strong> Uhrzeit berichtigt</p>'
    atom = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).entries[0]
    assert atom.content[0].value.startswith(expected)
    assert atom.updated.startswith("2026-11-27")
    assert json.loads(client.get("/cities/rosenheim/feed.json").data)["items"][0]["content_html"].startswith(
        expected
    )


def _token(app: Flask, role: str) -> str:
    with app.app_context():
        _, secret = create_token(db.session(), role=role, now=app.config["CLOCK"](), by=BY_OPERATOR)
        db.session().commit()
        return secret


def test_a_journalist_sees_embargoed_releases_early_and_marked(
    one_rosenheim_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    add_release(
        one_rosenheim_release, title="Haushalt unter Sperrfrist", published_at=clock.now + timedelta(days=2)
    )
    secret = _token(one_rosenheim_release, "journalist")
    public = client.get("/cities/rosenheim/feed.json")
    assert b"Haushalt unter Sperrfrist" not in public.data
    private = client.get("/cities/rosenheim/feed.json", headers={"Authorization": f"Bearer {secret}"})
    assert private.status_code == 200
    assert private.headers["Cache-Control"] == "private, no-store"
    item = json.loads(private.data)["items"][0]
    assert item["title"] == "Haushalt unter Sperrfrist"
    assert item["_feedsvc"] == {"embargoed": True, "embargoed_until": "2026-11-27T13:00:00+01:00"}
    assert item["content_html"].startswith('<p class="embargo"><strong>SPERRFRIST bis 27.11.2026 13:00 Uhr')
    basic = base64.b64encode(f"redaktion:{secret}".encode()).decode()
    atom = client.get("/cities/rosenheim/feed.atom", headers={"Authorization": f"Basic {basic}"})
    parsed = feedparser.parse(atom.data)
    assert not parsed.bozo and parsed.entries[0].title == "Haushalt unter Sperrfrist"
    assert b"Haushalt unter Sperrfrist" not in client.get("/cities/rosenheim/feed.json").data


@pytest.mark.parametrize("role", ["publisher", None])
def test_private_feeds_refuse_other_tokens(
    one_rosenheim_release: Flask, client: FlaskClient, role: str | None
) -> None:
    secret = _token(one_rosenheim_release, role) if role else "fsv_not-a-token"
    response = client.get("/cities/rosenheim/feed.atom", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert "Bearer" in response.headers["WWW-Authenticate"]


@pytest.mark.usefixtures("one_rosenheim_release")
def test_feeds_carry_an_icon_and_logo_that_resolve(client: FlaskClient) -> None:
    atom = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).feed
    rss = feedparser.parse(client.get("/cities/rosenheim/feed.rss").data).feed
    json_feed = json.loads(client.get("/cities/rosenheim/feed.json").data)
    for url in (atom.icon, atom.logo, rss.image.href, json_feed["icon"], json_feed["favicon"]):
        with client.get(url.removeprefix("http://feeds.example.test")) as response:
            assert response.status_code == 200 and response.content_type == "image/png"
