"""IPTC ninjs 3.1: every document feedsvc writes in it is valid against the official schema.

A release alone (`/releases/<id>-<slug>.ninjs.json`), every feed kind (`…/feed.ninjs.json`),
corrected, retracted, embargoed (journalists), with images, and without contact or AGS; the
mapping of each field; the HTTP behaviour of feeds (304) and of the release document.
The schema and its licence are in tests/data/ninjs/ (docs/feeds.md#ninjs-for-newsroom-systems).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry
from werkzeug.test import TestResponse

from feedsvc import db, paths
from feedsvc.formats.common import BERLIN
from feedsvc.formats.model import Entry, Feed, Image, Person, Tombstone
from feedsvc.formats.ninjs import (
    AGS_URI,
    as_uri,
    body_text,
    render_canceled,
    render_ninjs,
    render_release,
)
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store import catalog
from tests.api_support import bearer, make_token
from tests.conftest import BASE_URL, AppFactory, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog, patch_release, retract

SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "ninjs" / "ninjs-schema_3.1.json"
FEED_SUBJECTS = (
    "",
    "/cities/rosenheim",
    "/topics/kultur",
    "/cities/rosenheim/topics/kultur",
    "/regions/region-rosenheim",
    "/cities/muenchen",
)
IMAGE = {
    # An IRI as press offices send them: it goes out as a URI.
    "url": "https://www.rosenheim.de/bilder/innbrücke_1.jpg",
    "caption": "Die Innbrücke am Morgen",
    "credit": "Foto: Stadt Rosenheim",
    "usage_terms": "Honorarfrei zur Berichterstattung über diese Meldung",
    "type": "image/jpeg",
    "length": 48213,
    "width": 1200,
    "height": 800,
}
BODY_TEXT = ("Wegen Bauarbeiten ist die Innbrücke gesperrt.", "Umleitungen sind ausgeschildert.")
CONTACT = {"name": "Julia Berger", "email": "presse@rosenheim.de", "phone": "+49 8031 365-1000"}


@functools.cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    # An empty registry retrieves nothing: the schema refers to GeoJSON's, which feedsvc never
    # needs (it writes no geoJSON), and tests do not reach out to the network.
    return Draft202012Validator(
        schema, registry=Registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def valid(document: bytes) -> dict[str, Any]:
    """The parsed document, after checking it against the ninjs 3.1 schema."""
    parsed: dict[str, Any] = json.loads(document)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator().iter_errors(parsed)
    ]
    assert not errors, "\n".join(errors)
    return parsed


def items(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [each for each in document.get("associations", []) if each["rel"] == "item"]


def neighbours(document: dict[str, Any]) -> dict[str, str]:
    return {each["rel"]: each["uri"] for each in document.get("associations", []) if each["rel"] != "item"}


def rendition(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(each for each in document["renditions"] if each["name"] == name)


def local(url: str) -> str:
    assert url.startswith(BASE_URL), url
    return url.removeprefix(BASE_URL)


# --- the schema check itself ---------------------------------------------------------------------


def test_the_schema_check_refuses_what_ninjs_does_not_allow() -> None:
    """Formats are checked (a test that cannot fail proves nothing) and so are unknown properties."""
    good = {
        "uri": "tag:feeds.example.test,2026-11-25:release:1",
        "versionCreated": "2026-11-25T13:00:00+01:00",
    }
    assert list(validator().iter_errors(good)) == []
    for bad in (
        {**good, "uri": "kein URI"},
        {**good, "versionCreated": "25.11.2026 13:00"},
        {**good, "links": []},
        {**good, "associations": [{"uri": "tag:x,2026:1"}]},  # an association needs a name
        {**good, "pubStatus": "retracted"},
    ):
        assert list(validator().iter_errors(bad)), bad


# --- the writer ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def _entry(**fields: Any) -> Entry:
    defaults: dict[str, Any] = {
        "id": "tag:feeds.example.test,2026-11-25:release:7",
        "title": "Innbrücke gesperrt",
        "link": f"{BASE_URL}/releases/7-innbruecke-gesperrt",
        "summary": "Ab Montag",
        "content_html": "<p>Ab Montag.</p>",
        "published": NOW,
        "updated": NOW,
        "author": Person(name="Pressestelle der Stadt Rosenheim"),
    }
    return Entry(**{**defaults, **fields})


def test_the_plain_text_body_keeps_paragraphs_and_line_breaks() -> None:
    html = (
        "<h2>Sperrung</h2><p>Die  Innbrücke\nist <b>gesperrt</b>.<br>Ab Montag.</p>"
        "<ul><li>Umleitung A&amp;B</li><li>Busse</li></ul><!-- intern -->Ende<script>x()</script>"
    )
    assert (
        body_text(html)
        == "Sperrung\n\nDie Innbrücke ist gesperrt.\nAb Montag.\n\nUmleitung A&B\n\nBusse\n\nEnde"
    )
    assert body_text("") == ""
    assert body_text("nur Text") == "nur Text"


def test_iris_go_out_as_uris() -> None:
    assert as_uri("https://www.rosenheim.de/bilder/innbrücke_1.jpg?größe=groß#teil") == (
        "https://www.rosenheim.de/bilder/innbr%C3%BCcke_1.jpg?gr%C3%B6%C3%9Fe=gro%C3%9F#teil"
    )
    assert as_uri("https://example.org/a%20b/100%/x|y") == "https://example.org/a%20b/100%25/x%7Cy"
    assert as_uri("http://[::1]:8000/feed.ninjs.json?q=a+b") == "http://[::1]:8000/feed.ninjs.json?q=a+b"


def test_hostile_text_and_fields_only_ninjs_uses() -> None:
    image = Image(
        url="https://example.org/ä.jpg",
        type="image/png",
        length=None,
        caption='</p>"<x>',
        credit="© A & B",
        usage_terms="Nur mit dieser Mitteilung",
        width=640,
        height=480,
    )
    entry = _entry(
        title='Tom & Jerry <script>alert("x")</script>',
        content_html='<p title="&lt;/p&gt;">a</p><p>\u2028b</p>',
        images=(image,),
        shortened=True,
        revision=3,
        urgency=2,
        author=Person(name=""),
    )
    item = valid(render_release(entry))
    assert item["headlines"][0]["value"] == entry.title
    assert (item["representationType"], item["version"], item["urgency"]) == ("partial", "3", 2)
    assert "infoSources" not in item and "by" not in item
    (picture,) = item["associations"]
    assert picture["usageTerms"] == "Nur mit dieser Mitteilung" and picture["by"] == "© A & B"
    assert picture["descriptions"] == [{"role": "caption", "contentType": "text/plain", "value": '</p>"<x>'}]
    assert picture["renditions"] == [
        {
            "name": "web",
            "href": "https://example.org/%C3%A4.jpg",
            "contentType": "image/png",
            "width": 640,
            "height": 480,
        }
    ]
    feed = Feed(
        id=f"{BASE_URL}/",
        title="Alle",
        subtitle="",
        self_url=f"{BASE_URL}/feed.ninjs.json",
        alternate_url=f"{BASE_URL}/",
        language="de",
        updated=NOW,
        author=Person(name="feedsvc"),
        entries=(entry,),
        tombstones=(Tombstone(ref="tag:x,2026:2", when=NOW, comment="Fehler"),),
    )
    document = valid(render_ninjs(feed))
    assert [each["pubStatus"] for each in items(document)] == ["usable", "canceled"]
    assert valid(render_canceled(Tombstone(ref="tag:x,2026:2", when=NOW)))["pubStatus"] == "canceled"
    assert render_ninjs(feed) == render_ninjs(feed)  # deterministic: validators come from the bytes


# --- the service ---------------------------------------------------------------------------------


@pytest.fixture
def published(app: Flask) -> dict[str, int]:
    """Three releases in Rosenheim (one with images, contact and source), one in Bad Aibling."""

    def fill() -> dict[str, int]:
        make_catalog(app)
        return {
            "older": add_release(
                app, title="Stadtbücherei verlängert Öffnungszeiten", topics=("kultur",), minutes_ago=90
            ),
            "other": add_release(
                app, city="bad-aibling", title="Kurpark wird saniert", topics=("kultur",), minutes_ago=60
            ),
            "full": add_release(
                app,
                title="Innbrücke ab Montag gesperrt",
                topics=("verkehr", "kultur"),
                minutes_ago=30,
                summary="Wegen Bauarbeiten ist die Innbrücke ab Montag gesperrt.",
                body=f"<p>{BODY_TEXT[0]}</p><p>{BODY_TEXT[1]}</p>",
                images=[IMAGE],
                contact=CONTACT,
                source_url="https://www.rosenheim.de/presse/innbrücke",
            ),
            "newest": add_release(app, title="Wochenmarkt zieht um", minutes_ago=10),
        }

    return fill_once(app, "four releases, for ninjs", fill)


def _document_path(client: FlaskClient, release_id: int) -> str:
    """The canonical URL of a release's ninjs document, as the redirect from its id names it."""
    moved = client.get(f"/releases/{release_id}.ninjs.json")
    assert moved.status_code == 301, moved.status_code
    location = moved.headers["Location"]
    assert location.endswith(".ninjs.json") and location.startswith(f"/releases/{release_id}-")
    return location


def test_a_release_document_maps_every_field(published: dict[str, int], client: FlaskClient) -> None:
    path = _document_path(client, published["full"])
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    item = valid(response.data)
    with client.application.app_context():
        city = catalog.city_by_slug(db.session(), "rosenheim")
        assert city is not None
        guid = json.loads(client.get(f"/api/v1/releases/{published['full']}").data)["guid"]
    atom = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data)
    assert guid in {entry.id for entry in atom.entries}
    assert item["uri"] == guid
    assert item["standard"] == {
        "name": "ninjs",
        "version": "3.1",
        "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#",
    }
    assert (item["type"], item["version"], item["pubStatus"], item["language"]) == (
        "text",
        "1",
        "usable",
        "de",
    )
    assert item["firstCreated"] == item["versionCreated"] == "2026-11-25T12:30:00+01:00"
    assert "embargoedUntil" not in item and "edNote" not in item
    assert item["headlines"] == [
        {"role": "main", "contentType": "text/plain", "value": "Innbrücke ab Montag gesperrt"}
    ]
    assert item["descriptions"][0]["value"] == "Wegen Bauarbeiten ist die Innbrücke ab Montag gesperrt."
    html, text = item["bodies"]
    assert html["contentType"] == "text/html" and html["value"].startswith("<p>Wegen Bauarbeiten")
    assert "SPERRFRIST" not in html["value"] and "Pressekontakt" not in html["value"]
    assert text == {
        "role": "main",
        "contentType": "text/plain",
        "value": "\n\n".join(BODY_TEXT),
    }
    assert item["located"] == "Rosenheim"
    assert item["places"] == [{"name": "Rosenheim", "uri": f"{AGS_URI}09163000", "literal": "09163000"}]
    assert sorted((s["name"], s["uri"]) for s in item["subjects"]) == [
        ("Kultur", f"{BASE_URL}/topics/kultur"),
        ("Verkehr", f"{BASE_URL}/topics/verkehr"),
    ]
    assert item["by"] == "Pressestelle Rosenheim"
    assert item["infoSources"] == [
        {
            "name": "Pressestelle Rosenheim",
            "contactInfo": [
                {"type": "email", "role": "press", "name": "Julia Berger", "value": "presse@rosenheim.de"},
                {"type": "phone", "role": "press", "name": "Julia Berger", "value": "+49 8031 365-1000"},
            ],
        }
    ]
    assert rendition(item, "page")["href"] == f"{BASE_URL}{path.removesuffix('.ninjs.json')}"
    assert rendition(item, "source")["href"] == "https://www.rosenheim.de/presse/innbr%C3%BCcke"
    assert rendition(item, "ninjs") == {
        "name": "ninjs",
        "href": f"{BASE_URL}{path}",
        "contentType": "application/json",
    }
    (picture,) = item["associations"]
    assert picture == {
        "name": "image-1",
        "uri": "https://www.rosenheim.de/bilder/innbr%C3%BCcke_1.jpg",
        "type": "picture",
        "descriptions": [
            {"role": "caption", "contentType": "text/plain", "value": "Die Innbrücke am Morgen"}
        ],
        "by": "Foto: Stadt Rosenheim",
        "usageTerms": "Honorarfrei zur Berichterstattung über diese Meldung",
        "renditions": [
            {
                "name": "web",
                "href": "https://www.rosenheim.de/bilder/innbr%C3%BCcke_1.jpg",
                "contentType": "image/jpeg",
                "sizeInBytes": 48213,
                "width": 1200,
                "height": 800,
            }
        ],
    }
    # Cached and validated like the release page, and purged with it.
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert {f"city:{city.id}", f"release:{published['full']}", "catalog"} <= set(
        response.headers["xkey"].split()
    )
    for validators in (
        {"If-None-Match": response.headers["ETag"]},
        {"If-Modified-Since": response.headers["Last-Modified"]},
    ):
        again = client.get(path, headers=validators)
        assert again.status_code == 304 and again.data == b"", validators
    assert client.get(f"{path.partition('-')[0]}-alter-titel.ninjs.json").headers["Location"] == path


def test_a_release_without_contact_or_official_key(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    with app.app_context():
        session = db.session()
        region = catalog.region_by_slug(session, "region-rosenheim")
        assert region is not None
        kolbermoor = catalog.upsert_city(session, "kolbermoor", "Kolbermoor", "Bayern", region, None)
        session.flush()
        catalog.upsert_publisher(session, "Pressestelle Kolbermoor", [kolbermoor], app.config["CLOCK"]())
        session.commit()
    release_id = add_release(app, city="kolbermoor", title="Neues Hallenbad", minutes_ago=5)
    item = valid(client.get(_document_path(client, release_id)).data)
    assert item["places"] == [{"name": "Kolbermoor"}]
    assert item["infoSources"] == [{"name": "Pressestelle Kolbermoor"}]
    assert "subjects" not in item and "associations" not in item and "descriptions" in item
    assert [each["name"] for each in item["renditions"]] == ["page", "ninjs"]
    (feed_item,) = items(valid(client.get("/cities/kolbermoor/feed.ninjs.json").data))
    assert feed_item == {
        "name": "release",
        "rel": "item",
        **{k: v for k, v in item.items() if k != "standard"},
    }


def test_every_feed_kind_is_valid_ninjs(published: dict[str, int], client: FlaskClient) -> None:
    for subject in FEED_SUBJECTS:
        path = f"{subject}/feed.ninjs.json"
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content_type == "application/json"
        document = valid(response.data)
        assert document["type"] == "composite" and document["standard"]["version"] == "3.1"
        assert document["uri"] == f"{BASE_URL}{subject or '/'}"
        assert rendition(document, "self")["href"] == f"{BASE_URL}{path}"
        assert rendition(document, "alternate") == {
            "name": "alternate",
            "href": f"{BASE_URL}{subject or '/'}",
            "contentType": "text/html",
        }
        # The same releases, in the same order and with the same ids, as the Atom feed.
        atom = feedparser.parse(client.get(f"{subject}/feed.atom").data)
        assert [each["uri"] for each in items(document)] == [entry.id for entry in atom.entries], path
    search = valid(client.get("/cities/rosenheim/feed.ninjs.json?q=Innbr%C3%BCcke").data)
    assert [each["headlines"][0]["value"] for each in items(search)] == ["Innbrücke ab Montag gesperrt"]
    assert (
        rendition(search, "self")["href"] == f"{BASE_URL}/cities/rosenheim/feed.ninjs.json?q=Innbr%C3%BCcke"
    )
    by_key = client.get("/ags/09163000/feed.ninjs.json")
    assert by_key.status_code == 301 and by_key.headers["Location"].endswith(
        "/cities/rosenheim/feed.ninjs.json"
    )
    assert client.get("/cities/rosenheim/feed.ninjs").status_code == 404


def test_past_the_byte_budget_items_are_partial(published: dict[str, int], make_app: AppFactory) -> None:
    client = make_app(FEED_CONTENT_BUDGET=1).test_client()
    document = valid(client.get("/cities/rosenheim/feed.ninjs.json").data)
    assert [each["representationType"] for each in items(document)] == ["full", "partial", "partial"]
    shortened = items(document)[1]
    assert "Vollständige Mitteilung lesen" in shortened["bodies"][0]["value"]
    whole = valid(client.get(local(rendition(shortened, "ninjs")["href"])).data)
    assert whole["representationType"] == "full" and "Umleitungen" in whole["bodies"][1]["value"]


def test_paging_walks_every_release_once(published: dict[str, int], client: FlaskClient) -> None:
    first = valid(client.get("/cities/rosenheim/feed.ninjs.json?limit=1").data)
    assert set(neighbours(first)) == {"first", "next", "prev-archive"}
    seen = [each["uri"] for each in items(first)]
    page, rels = first, []
    while "next" in neighbours(page):
        link = next(each for each in page["associations"] if each["rel"] == "next")
        assert link["type"] == "composite" and link["representationType"] == "partial"
        assert link["renditions"] == [
            {"name": "ninjs", "href": link["uri"], "contentType": "application/json"}
        ]
        response = client.get(local(link["uri"]))
        assert response.status_code == 200
        page = valid(response.data)
        assert page["uri"] == first["uri"]  # every page names the feed, as Atom's <id>
        rels.append(set(neighbours(page)))
        seen += [each["uri"] for each in items(page)]
    assert len(seen) == len(set(seen)) == 3
    assert rels[0] >= {"first", "current", "previous", "next", "next-archive"}


def test_a_corrected_release_is_a_new_version_with_its_note(
    published: dict[str, int], client: FlaskClient, app: Flask, clock: FakeClock
) -> None:
    path = _document_path(client, published["full"])
    before = client.get(path)
    # Past the wall-clock instants the catalog's changes were stamped with.
    clock.now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    patch_release(
        app,
        published["full"],
        ReleasePatch(
            title="Innbrücke ab Dienstag gesperrt", correction_note="Der Termin war falsch: Dienstag."
        ),
    )
    after = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200  # Last-Modified moved with the correction
    item = valid(after.data)
    assert (item["version"], item["edNote"]) == ("2", "Der Termin war falsch: Dienstag.")
    assert item["firstCreated"] == "2026-11-25T12:30:00+01:00"
    assert item["versionCreated"] == clock.now.astimezone(BERLIN).isoformat()
    assert item["headlines"][0]["value"] == "Innbrücke ab Dienstag gesperrt"
    assert after.headers["ETag"] != before.headers["ETag"]
    in_feed = next(
        each for each in items(valid(client.get("/feed.ninjs.json").data)) if each["uri"] == item["uri"]
    )
    assert (in_feed["version"], in_feed["edNote"], in_feed["versionCreated"]) == (
        "2",
        item["edNote"],
        item["versionCreated"],
    )


def test_a_retracted_release_is_canceled(
    published: dict[str, int], client: FlaskClient, app: Flask, clock: FakeClock
) -> None:
    path = _document_path(client, published["full"])
    clock.advance(minutes=5)
    guid = retract(app, published["full"])
    gone = client.get(path)
    assert gone.status_code == 410 and gone.content_type == "application/json"
    assert gone.headers["Cache-Control"].startswith("public, max-age=")
    assert f"release:{published['full']}" in gone.headers["xkey"].split()
    assert valid(gone.data) == {
        "uri": guid,
        "standard": {
            "name": "ninjs",
            "version": "3.1",
            "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#",
        },
        "type": "text",
        "version": "2",
        "versionCreated": "2026-11-25T13:05:00+01:00",
        "pubStatus": "canceled",
    }
    for subject in ("", "/cities/rosenheim", "/topics/verkehr"):
        document = valid(client.get(f"{subject}/feed.ninjs.json").data)
        canceled = [each for each in items(document) if each["pubStatus"] == "canceled"]
        assert canceled == [
            {
                "name": "release",
                "rel": "item",
                **{k: v for k, v in valid(gone.data).items() if k != "standard"},
            }
        ], subject
        assert guid not in [each["uri"] for each in items(document) if each["pubStatus"] == "usable"]


def test_embargoed_releases_reach_journalists_only(
    published: dict[str, int], client: FlaskClient, app: Flask, clock: FakeClock
) -> None:
    embargoed = add_release(
        app, title="Haushalt unter Sperrfrist", topics=("kultur",), published_at=clock.now + timedelta(days=2)
    )
    secret = make_token(app, role="journalist", cities=(), publisher=None)
    public = valid(client.get("/cities/rosenheim/feed.ninjs.json").data)
    assert "Haushalt unter Sperrfrist" not in json.dumps(public, ensure_ascii=False)
    for subject in ("/cities/rosenheim", "/topics/kultur", ""):
        private = client.get(f"{subject}/feed.ninjs.json", headers=bearer(secret))
        assert private.status_code == 200 and private.headers["Cache-Control"] == "private, no-store"
        item = items(valid(private.data))[0]
        assert item["headlines"][0]["value"] == "Haushalt unter Sperrfrist"
        assert item["embargoedUntil"] == "2026-11-27T13:00:00+01:00"
        assert item["edNote"] == "SPERRFRIST bis 27.11.2026 13:00 Uhr"
    # Its document is unknown to the public, exactly as an id that never existed ...
    unknown_id = 987654
    hidden, never = (client.get(f"/releases/{each}.ninjs.json") for each in (embargoed, unknown_id))
    assert hidden.status_code == never.status_code == 404
    assert _as_seen(hidden, embargoed) == _as_seen(never, unknown_id)
    # ... and shown to journalists early, marked.
    early = client.get(f"/releases/{embargoed}.ninjs.json", headers=bearer(secret))
    assert early.status_code == 301 and early.headers["Cache-Control"] == "private, no-store"
    document = client.get(early.headers["Location"], headers=bearer(secret))
    assert document.status_code == 200 and document.headers["Cache-Control"] == "private, no-store"
    assert valid(document.data)["embargoedUntil"] == "2026-11-27T13:00:00+01:00"
    assert client.get(early.headers["Location"], headers=bearer("fsv_kein-token")).status_code == 401
    clock.advance(days=2)
    assert client.get(early.headers["Location"]).status_code == 200


def _as_seen(response: TestResponse, release_id: int) -> tuple[int, dict[str, str], str]:
    """An answer about a release id, with that id (in its URL and its surrogate key) masked."""

    def masked(text: str) -> str:
        return text.replace(f"/releases/{release_id}.", "/releases/ID.").replace(
            f"release:{release_id}", "ID"
        )

    headers = {name: masked(value) for name, value in response.headers.items() if name != "Content-Length"}
    return response.status_code, headers, masked(response.get_data(as_text=True))


def test_polling_a_ninjs_feed_gets_304(published: dict[str, int], client: FlaskClient, app: Flask) -> None:
    path = "/cities/rosenheim/feed.ninjs.json"
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Last-Modified"]
    with app.app_context():
        city = catalog.city_by_slug(db.session(), "rosenheim")
        assert city is not None
    assert first.headers["xkey"] == f"city:{city.id} catalog"
    assert f'<{BASE_URL}{path}>; rel="self"' in first.headers["Link"]
    # The view renders, the poll front answers the repeats: both with a 304.
    for _ in range(2):
        for validators in (
            {"If-None-Match": first.headers["ETag"]},
            {"If-Modified-Since": first.headers["Last-Modified"]},
        ):
            again = client.get(path, headers=validators)
            assert again.status_code == 304 and again.data == b"", validators
            assert again.headers["ETag"] == first.headers["ETag"]
    add_release(app, title="Neu im Rathaus", minutes_ago=0)
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert items(valid(changed.data))[0]["headlines"][0]["value"] == "Neu im Rathaus"
    # Every format has a distinct ETag: the cache keeps them apart.
    assert client.get("/cities/rosenheim/feed.json").headers["ETag"] != changed.headers["ETag"]


def test_ninjs_is_for_newsroom_systems_not_feed_readers(
    published: dict[str, int], client: FlaskClient
) -> None:
    page = client.get("/cities/rosenheim").get_data(as_text=True)
    assert "feed.ninjs.json" not in page and 'type="application/json"' not in page
    assert client.get("/feeds.opml?format=ninjs.json").status_code == 400
    cities = {city["slug"]: city for city in json.loads(client.get("/api/v1/cities").data)}
    rosenheim = cities["rosenheim"]
    assert rosenheim["feeds"]["ninjs.json"] == f"{BASE_URL}/cities/rosenheim/feed.ninjs.json"
    # Hubs and caches in front hear of ninjs feeds as of every other format.
    assert "/cities/rosenheim/feed.ninjs.json" in paths.feed_paths("/cities/rosenheim")
