"""A city, district or state defines its catalog itself (`feedsvc catalog`, the admin API),
and no subscriber notices: old slugs redirect in one hop, feed and entry ids stay, merged
releases move with their ids, retired entries keep their feeds; bad input changes nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from feedsvc import db
from feedsvc.models import FeedVersion, OutboxEntry, ReleaseTopic
from feedsvc.store import catalog, counts
from feedsvc.web.feeds.front import front_of
from feedsvc.worker import websub
from tests.api_support import RELEASE, bearer, field_errors, make_token, problem_of, snapshot
from tests.conftest import BASE_URL as BASE
from tests.databases import fill_once
from tests.factories import add_release, make_catalog
from tests.test_publish_form import doc_of, post_form, sign_in
from tests.test_publish_form import make_token as form_token


@pytest.fixture
def catalog_app(app: Flask) -> Flask:
    """Three cities in two regions; Rosenheim with releases in two topics, one release
    each in Bad Aibling (Verkehr and Kultur both) and München."""

    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Neue Buslinie 12", topics=("verkehr",), minutes_ago=50)
        add_release(app, title="Kulturnacht am Samstag", topics=("kultur",), minutes_ago=40)
        add_release(app, title="Stadtrat tagt", minutes_ago=30)
        add_release(
            app, city="bad-aibling", title="Radweg und Konzert", topics=("verkehr", "kultur"), minutes_ago=20
        )
        add_release(app, city="muenchen", title="Oktoberfest-Verkehr", topics=("verkehr",), minutes_ago=10)

    fill_once(app, "three cities with releases, for catalog changes", fill)
    return app


def cli(runner: FlaskCliRunner, *args: str) -> Any:
    return runner.invoke(args=["catalog", *args])


def ok(runner: FlaskCliRunner, *args: str) -> str:
    result = cli(runner, *args)
    assert result.exit_code == 0, result.output
    output: str = result.output
    return output


def refused(runner: FlaskCliRunner, *args: str) -> str:
    """The message of a refused command, which must end with a non-zero status."""
    result = cli(runner, *args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    output: str = result.output
    return output


def moved(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 301, (path, response.status_code)
    location: str = response.headers["Location"]
    return location


def feed(client: FlaskClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, (path, parsed.bozo_exception)
    return parsed


def entry_ids(parsed: Any) -> set[str]:
    return {entry.id for entry in parsed.entries}


def json_ids(client: FlaskClient, path: str) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200, path
    return {item["id"] for item in json.loads(response.get_data())["items"]}


def kept_counts_match(app: Flask) -> None:
    """Every subject's kept release count is what its releases say."""
    with app.app_context():
        session = db.session()
        held = counts.counted_releases(session)
        kept = {
            key: count for key, count in session.execute(select(FeedVersion.key, FeedVersion.release_count))
        }
        wrong = {
            key: (held.get(key, 0), kept.get(key, 0))
            for key in set(held) | set(kept)
            if key != "catalog" and held.get(key, 0) != kept.get(key, 0)
        }
        assert wrong == {}


def versions(app: Flask, keys: Sequence[str]) -> dict[str, int]:
    with app.app_context():
        rows = db.session().execute(
            select(FeedVersion.key, FeedVersion.version).where(FeedVersion.key.in_(keys))
        )
        return {key: version for key, version in rows}


def last_outbox(app: Flask) -> tuple[str, set[str]]:
    with app.app_context():
        entry = db.session().scalars(select(OutboxEntry).order_by(OutboxEntry.id.desc()).limit(1)).one()
        return entry.kind, set(entry.subject_keys.split())


# --- adding ------------------------------------------------------------------------------------------


def test_a_city_defines_its_catalog_from_the_command_line(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    assert "region landkreis-ebersberg added" in ok(
        runner,
        "add",
        "region",
        "--slug",
        "landkreis-ebersberg",
        "--name",
        "Landkreis Ebersberg",
        "--state",
        "Bayern",
    )
    ok(
        runner,
        "add",
        "city",
        "--slug",
        "grafing",
        "--name",
        "Grafing b. München",
        "--region",
        "landkreis-ebersberg",
    )
    ok(runner, "add", "topic", "--slug", "feuerwehr", "--name", "Feuerwehr")
    assert "press office Pressestelle Grafing" in ok(
        runner, "add", "publisher", "--name", "Pressestelle Grafing", "--city", "grafing"
    )
    listed = ok(runner, "list", "city").splitlines()
    # The state comes from the region when none is given.
    assert listed == ["city\tgrafing\tGrafing b. München\tlandkreis-ebersberg\tBayern"]
    assert ok(runner, "list", "publisher").splitlines() == ["publisher\t1\tPressestelle Grafing\tgrafing"]
    cities = json.loads(client.get("/api/v1/cities").get_data())
    assert [(city["slug"], city["region"], city["retired_at"]) for city in cities] == [
        ("grafing", "landkreis-ebersberg", None)
    ]
    assert feed(client, "/cities/grafing/feed.atom").feed.title == "Pressemitteilungen – Grafing b. München"
    assert client.get("/topics/feuerwehr").status_code == 200
    token = make_token(app, cities=("grafing",), publisher="Pressestelle Grafing")
    release = {**RELEASE, "city": "grafing", "topics": ["feuerwehr"]}
    assert client.post("/api/v1/releases", json=release, headers=bearer(token)).status_code == 201


# --- renames -----------------------------------------------------------------------------------------


OLD_URLS = [
    ("/cities/rosenheim", "/cities/rosenheim-stadt"),
    ("/cities/rosenheim/feed.atom", "/cities/rosenheim-stadt/feed.atom"),
    ("/cities/rosenheim/feed.rss", "/cities/rosenheim-stadt/feed.rss"),
    ("/cities/rosenheim/feed.json", "/cities/rosenheim-stadt/feed.json"),
    ("/cities/rosenheim/topics/verkehr", "/cities/rosenheim-stadt/topics/verkehr"),
    ("/cities/rosenheim/topics/verkehr/feed.atom", "/cities/rosenheim-stadt/topics/verkehr/feed.atom"),
    ("/cities/rosenheim/feed.atom?limit=1", "/cities/rosenheim-stadt/feed.atom?limit=1"),
    ("/cities/rosenheim?q=Buslinie", "/cities/rosenheim-stadt?q=Buslinie"),
    ("/cities/rosenheim/", "/cities/rosenheim-stadt"),
    ("/cities/Rosenheim/feed.rss", "/cities/rosenheim-stadt/feed.rss"),
]


def test_a_renamed_city_keeps_its_feed_ids_and_every_old_url_redirects(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    before = {
        path: feed(client, path)
        for path in ("/cities/rosenheim/feed.atom", "/cities/rosenheim/topics/verkehr/feed.atom")
    }
    rss_before = entry_ids(feed(client, "/cities/rosenheim/feed.rss"))
    json_before = json_ids(client, "/cities/rosenheim/feed.json")
    assert "its old URLs redirect to /cities/rosenheim-stadt" in ok(
        runner, "rename", "city", "rosenheim", "rosenheim-stadt", "--name", "Stadt Rosenheim"
    )
    for old, new in OLD_URLS:
        assert moved(client, old) == new, old
    for path, parsed in before.items():
        now = feed(client, path.replace("/rosenheim/", "/rosenheim-stadt/"))
        assert now.feed.id == parsed.feed.id == f"{BASE}{path.removesuffix('/feed.atom')}"
        assert entry_ids(now) == entry_ids(parsed)
        assert (
            now.feed.link
            == f"{BASE}{path.replace('/rosenheim/', '/rosenheim-stadt/').removesuffix('/feed.atom')}"
        )
    renamed = feed(client, "/cities/rosenheim-stadt/feed.atom")
    assert renamed.feed.title == "Pressemitteilungen – Stadt Rosenheim"
    searched = feed(client, "/cities/rosenheim-stadt/feed.atom?q=Buslinie")
    assert searched.feed.id == f"{BASE}/cities/rosenheim?q=Buslinie"
    assert entry_ids(feed(client, "/cities/rosenheim-stadt/feed.rss")) == rss_before
    assert json_ids(client, "/cities/rosenheim-stadt/feed.json") == json_before
    # The OPML and the directory list the new URLs only.
    opml = client.get("/feeds.opml").get_data(as_text=True)
    assert "/cities/rosenheim-stadt/feed.atom" in opml and "/cities/rosenheim/" not in opml
    assert "/cities/rosenheim-stadt" in client.get("/feeds").get_data(as_text=True)
    listed = json.loads(client.get("/api/v1/releases?city=rosenheim").get_data())["items"]
    assert {item["city"] for item in listed} == {"rosenheim-stadt"} and len(listed) == 3
    # What a press office sends with the old slug still reaches the city.
    token = make_token(catalog_app, cities=("rosenheim-stadt",))
    created = client.post("/api/v1/releases", json=RELEASE, headers=bearer(token))
    assert (
        created.status_code == 201 and created.json is not None and created.json["city"] == "rosenheim-stadt"
    )


def test_chained_renames_resolve_in_one_hop_and_a_slug_can_come_back(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    atom_id = feed(client, "/topics/verkehr/feed.atom").feed.id
    ok(runner, "rename", "topic", "verkehr", "mobilitaet")
    ok(runner, "rename", "topic", "mobilitaet", "verkehr-mobilitaet")
    assert moved(client, "/topics/verkehr/feed.json") == "/topics/verkehr-mobilitaet/feed.json"
    assert moved(client, "/topics/mobilitaet") == "/topics/verkehr-mobilitaet"
    assert moved(client, "/cities/muenchen/topics/verkehr") == "/cities/muenchen/topics/verkehr-mobilitaet"
    assert feed(client, "/topics/verkehr-mobilitaet/feed.atom").feed.id == atom_id
    ok(runner, "rename", "topic", "verkehr-mobilitaet", "verkehr")
    assert moved(client, "/topics/mobilitaet") == "/topics/verkehr"
    assert moved(client, "/topics/verkehr-mobilitaet/feed.rss") == "/topics/verkehr/feed.rss"
    assert feed(client, "/topics/verkehr/feed.atom").feed.id == atom_id
    assert "formerly mobilitaet, verkehr-mobilitaet" in ok(runner, "list", "topic")


def test_the_poll_front_passes_an_old_slug_on_to_its_redirect(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    path = "/regions/region-rosenheim/feed.atom"
    feed(client, path)  # rendered: the front holds it now
    front = front_of(catalog_app)
    assert front.reply(EnvironBuilder(path=path).get_environ()) is not None
    ok(runner, "rename", "region", "region-rosenheim", "rosenheimer-land")
    assert front.reply(EnvironBuilder(path=path).get_environ()) is None
    assert moved(client, path) == "/regions/rosenheimer-land/feed.atom"
    assert client.head(path).status_code == 301


def test_a_rename_tells_the_feeds_it_changed_through_the_outbox(
    catalog_app: Flask, runner: FlaskCliRunner, app: Flask
) -> None:
    ok(runner, "rename", "city", "bad-aibling", "aibling")
    kind, keys = last_outbox(app)
    with app.app_context():
        city = catalog.city_by_slug(db.session(), "aibling")
        assert city is not None
        city_key, region_key = f"city:{city.id}", f"region:{city.region_id}"
    assert kind == "catalog"
    assert {"catalog", "all", city_key, region_key} <= keys
    # Hubs hear of the feeds under the old slug too: their subscribers know those URLs.
    with app.app_context():
        told = websub.feed_urls(db.session(), [city_key], BASE)
    assert f"{BASE}/cities/aibling/feed.atom" in told and f"{BASE}/cities/bad-aibling/feed.atom" in told


# --- merges ------------------------------------------------------------------------------------------


def test_a_merge_moves_the_releases_with_their_entry_ids(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient, app: Flask
) -> None:
    merged_ids = entry_ids(feed(client, "/cities/bad-aibling/feed.atom"))
    kept_ids = entry_ids(feed(client, "/cities/rosenheim/feed.atom"))
    target_id = feed(client, "/cities/rosenheim/feed.atom").feed.id
    keys = ["city:1", "city:2"]
    before = versions(app, keys)
    assert "merged into rosenheim" in ok(runner, "merge", "city", "bad-aibling", "rosenheim")
    after = versions(app, keys)
    assert all(after[key] > before[key] for key in keys)
    kind, told = last_outbox(app)
    assert kind == "catalog" and {"city:1", "city:2", "catalog"} <= told
    merged = feed(client, "/cities/rosenheim/feed.atom")
    assert entry_ids(merged) == kept_ids | merged_ids
    assert merged.feed.id == target_id
    assert moved(client, "/cities/bad-aibling/feed.atom") == "/cities/rosenheim/feed.atom"
    assert moved(client, "/cities/bad-aibling/topics/kultur") == "/cities/rosenheim/topics/kultur"
    assert entry_ids(feed(client, "/cities/rosenheim/topics/kultur/feed.atom")) >= merged_ids
    kept_counts_match(app)
    cities = [city["slug"] for city in json.loads(client.get("/api/v1/cities").get_data())]
    assert "bad-aibling" not in cities
    assert "bad-aibling" not in client.get("/feeds.opml").get_data(as_text=True)
    # A token of the merged city writes the city it went into.
    token = make_token(app, role="admin", publisher=None)
    answer = client.post("/api/v1/releases", json={**RELEASE, "city": "bad-aibling"}, headers=bearer(token))
    assert answer.status_code == 201 and answer.json is not None and answer.json["city"] == "rosenheim"


def test_merging_topics_keeps_one_link_for_a_release_that_had_both(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient, app: Flask
) -> None:
    verkehr = entry_ids(feed(client, "/topics/verkehr/feed.atom"))
    kultur = entry_ids(feed(client, "/topics/kultur/feed.atom"))
    ok(runner, "merge", "topic", "kultur", "verkehr")
    assert entry_ids(feed(client, "/topics/verkehr/feed.atom")) == verkehr | kultur
    assert moved(client, "/topics/kultur/feed.rss") == "/topics/verkehr/feed.rss"
    with app.app_context():
        links = db.session().execute(select(ReleaseTopic.release_id, ReleaseTopic.topic_id)).all()
    assert len(links) == len(set(links)) and {topic for _, topic in links} == {2}
    kept_counts_match(app)


def test_merging_regions_moves_their_cities(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient, app: Flask
) -> None:
    ok(runner, "merge", "region", "muenchen-region", "region-rosenheim")
    region = feed(client, "/regions/region-rosenheim/feed.atom")
    assert "Oktoberfest-Verkehr" in {entry.title for entry in region.entries}
    assert moved(client, "/regions/muenchen-region") == "/regions/region-rosenheim"
    assert "city\tmuenchen\tMünchen\tregion-rosenheim" in ok(runner, "list", "city")
    kept_counts_match(app)


def test_merging_press_offices_moves_their_releases_and_tokens(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    token = make_token(catalog_app, cities=("bad-aibling",), publisher="Pressestelle Bad Aibling")
    ok(runner, "merge", "publisher", "Pressestelle Bad Aibling", "Pressestelle Rosenheim")
    answer = client.post("/api/v1/releases", json={**RELEASE, "city": "bad-aibling"}, headers=bearer(token))
    assert answer.status_code == 201 and answer.json is not None
    assert answer.json["publisher"] == "Pressestelle Rosenheim"
    listed = ok(runner, "list", "publisher")
    assert "Pressestelle Bad Aibling\t" not in listed
    assert "Pressestelle Rosenheim\tbad-aibling,rosenheim\t\tformerly Pressestelle Bad Aibling" in listed


# --- retiring ----------------------------------------------------------------------------------------


def test_a_retired_city_takes_no_new_releases_and_its_feed_says_where_to_go_on(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient, tmp_path: Path
) -> None:
    release_id = add_release(catalog_app, city="bad-aibling", title="Letzte Meldung", minutes_ago=5)
    assert "retired" in ok(runner, "retire", "city", "bad-aibling")
    token = make_token(catalog_app, role="admin", publisher=None)
    refusal = client.post("/api/v1/releases", json={**RELEASE, "city": "bad-aibling"}, headers=bearer(token))
    assert field_errors(refusal) == {"city": "the city 'bad-aibling' is retired: it takes no new releases"}
    # Its releases stay, and can still be corrected.
    patch = client.patch(
        f"/api/v1/releases/{release_id}", json={"title": "Letzte Meldung (korrigiert)"}, headers=bearer(token)
    )
    assert patch.status_code == 200, patch.get_data(as_text=True)
    # Its feeds answer with one entry saying so, linking the feeds its releases go on in.
    for fmt in ("atom", "rss"):
        ended = feed(client, f"/cities/bad-aibling/feed.{fmt}")
        assert [entry.title for entry in ended.entries] == ["Dieser Feed wurde eingestellt"], fmt
        content = ended.entries[0].get("content", [{}])[0].get("value", "") or ended.entries[0].summary
        assert f"/regions/region-rosenheim/feed.{fmt}" in content, fmt
    items = json.loads(client.get("/cities/bad-aibling/feed.json").data)["items"]
    assert [item["title"] for item in items] == ["Dieser Feed wurde eingestellt"]
    assert "/regions/region-rosenheim/feed.json" in items[0]["content_html"]
    assert "Eingestellt am" in feed(client, "/cities/bad-aibling/feed.atom").feed.subtitle
    gone = client.get("/cities/bad-aibling/feed.ninjs.json")
    assert gone.status_code == 410
    assert gone.get_json()["successors"] == [
        "http://feeds.example.test/regions/region-rosenheim/feed.ninjs.json"
    ]
    # Its page keeps its releases.
    page = client.get("/cities/bad-aibling").get_data(as_text=True)
    assert "hier erscheinen keine neuen Pressemitteilungen mehr" in page
    assert "Letzte Meldung (korrigiert)" in page
    # Listed nowhere.
    assert "bad-aibling" not in client.get("/feeds.opml").get_data(as_text=True)
    assert "/cities/bad-aibling" not in client.get("/feeds").get_data(as_text=True)
    assert "bad-aibling" not in [city["slug"] for city in json.loads(client.get("/api/v1/cities").get_data())]
    one = json.loads(client.get("/api/v1/cities/bad-aibling").get_data())
    assert one["retired_at"] is not None
    # An import naming it is refused by line, and imports nothing.
    records = tmp_path / "releases.json"
    records.write_text(json.dumps([{**RELEASE, "city": "bad-aibling"}]), encoding="utf-8")
    result = runner.invoke(args=["import", str(records)])
    assert result.exit_code == 1
    assert "line 1: city: the city 'bad-aibling' is retired: it takes no new releases" in result.output


def test_the_publish_form_offers_no_retired_city_and_refuses_one_in_german(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    _, secret = form_token(catalog_app, cities=("rosenheim", "bad-aibling"))
    assert sign_in(client, secret).status_code == 303
    ok(runner, "retire", "city", "bad-aibling")
    offered = [
        option.get("value")
        for option in doc_of(client.get("/publish/new")).cssselect("select[name=city] option")
    ]
    assert "rosenheim" in offered and "bad-aibling" not in offered
    fields = {
        "title": "Winterdienst",
        "city": "bad-aibling",
        "body": "<p>Ab Montag räumt der Winterdienst.</p>",
    }
    answer = post_form(client, "/publish/new", fields)
    assert answer.status_code == 422
    assert "Für „bad-aibling“ erscheinen keine neuen Pressemitteilungen mehr." in answer.get_data(
        as_text=True
    )


def test_a_retired_topic_is_refused_and_a_retired_press_office_publishes_nothing(
    catalog_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    token = make_token(catalog_app)
    ok(runner, "retire", "topic", "kultur")
    answer = client.post(
        "/api/v1/releases", json={**RELEASE, "topics": ["verkehr", "kultur"]}, headers=bearer(token)
    )
    assert field_errors(answer) == {"topics.1": "the topic 'kultur' is retired: it takes no new releases"}
    assert client.get("/topics/kultur/feed.atom").status_code == 200
    ok(runner, "retire", "publisher", "Pressestelle Rosenheim")
    answer = client.post("/api/v1/releases", json=RELEASE, headers=bearer(token))
    assert field_errors(answer) == {
        "publisher": "the press office 'Pressestelle Rosenheim' is retired: it takes no new releases"
    }


def test_a_region_with_cities_is_not_retired(catalog_app: Flask, runner: FlaskCliRunner) -> None:
    assert "still has the cities 'bad-aibling', 'rosenheim'" in refused(
        runner, "retire", "region", "region-rosenheim"
    )
    ok(runner, "edit", "city", "bad-aibling", "--region", "muenchen-region")
    ok(runner, "retire", "city", "rosenheim")
    ok(runner, "retire", "region", "region-rosenheim")


# --- bad input changes nothing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rename", "city", "nowhere", "somewhere"), "no city 'nowhere'"),
        (("rename", "city", "rosenheimm", "x"), "no city 'rosenheimm'; did you mean 'rosenheim'?"),
        (("rename", "city", "rosenheim", "muenchen"), "there is a city 'muenchen' already"),
        (("merge", "city", "rosenheim", "rosenheim"), "a city cannot be merged into itself"),
        (("merge", "city", "rosenheim", "verkehr"), "'verkehr' is a topic, not a city"),
        (("merge", "topic", "kultur", "nowhere"), "no topic 'nowhere'"),
        (("rename", "city", "rosenheim", "Rosen Heim"), "--slug: must be a slug"),
        (
            ("add", "city", "--slug", "neu_stadt", "--name", "Neustadt", "--region", "region-rosenheim"),
            "--slug: must be a slug",
        ),
        (
            ("add", "city", "--slug", "neustadt", "--name", "Neustadt", "--region", "nirgends"),
            "unknown region 'nirgends'",
        ),
        (
            (
                "add",
                "city",
                "--slug",
                "neustadt",
                "--name",
                "N",
                "--region",
                "region-rosenheim",
                "--ags",
                "0916300x",
            ),
            "--ags",
        ),
        (
            (
                "add",
                "city",
                "--slug",
                "neustadt",
                "--name",
                "N",
                "--region",
                "region-rosenheim",
                "--ags",
                "09163000",
            ),
            "the AGS 09163000 is the city 'rosenheim's already",
        ),
        (
            ("add", "city", "--slug", "rosenheim", "--name", "Rosenheim", "--region", "region-rosenheim"),
            "there is a city 'rosenheim' already",
        ),
        (("add", "topic", "--slug", "feuerwehr", "--name", "  "), "--name: must not be empty"),
        (
            ("add", "publisher", "--name", "pressestelle  rosenheim", "--city", "rosenheim"),
            "there is a press office 'Pressestelle Rosenheim' already: names that differ only in case",
        ),
        (
            ("rename", "publisher", "Pressestelle Bad Aibling", "PRESSESTELLE ROSENHEIM"),
            "there is a press office 'Pressestelle Rosenheim' already",
        ),
        (
            ("add", "publisher", "--name", "Pressestelle Kolbermoor", "--city", "kolbermoor"),
            "unknown city 'kolbermoor'",
        ),
        (("edit", "city", "rosenheim"), "nothing to change"),
    ],
)
def test_bad_commands_say_why_and_change_nothing(
    catalog_app: Flask, runner: FlaskCliRunner, args: tuple[str, ...], message: str
) -> None:
    before = snapshot(catalog_app)
    assert message in refused(runner, *args)
    assert snapshot(catalog_app) == before


def test_retiring_twice_and_old_slugs_are_refused_by_name(catalog_app: Flask, runner: FlaskCliRunner) -> None:
    ok(runner, "retire", "city", "bad-aibling")
    ok(runner, "add", "region", "--slug", "alt", "--name", "Alt", "--state", "Bayern")
    ok(runner, "retire", "region", "alt")
    before = snapshot(catalog_app)
    assert "the city 'bad-aibling' was retired already, on " in refused(
        runner, "retire", "city", "bad-aibling"
    )
    assert "is retired: merge into a current one" in refused(
        runner, "merge", "city", "muenchen", "bad-aibling"
    )
    assert "the region 'alt' is retired" in refused(
        runner, "add", "city", "--slug", "neu", "--name", "Neu", "--region", "alt"
    )
    assert "the region 'alt' is retired" in refused(runner, "edit", "city", "muenchen", "--region", "alt")
    assert snapshot(catalog_app) == before
    ok(runner, "rename", "city", "muenchen", "landeshauptstadt-muenchen")
    before = snapshot(catalog_app)
    assert "there is no city 'muenchen' any more: it is now 'landeshauptstadt-muenchen'" in refused(
        runner, "retire", "city", "muenchen"
    )
    # An old slug stays its city's: nobody else takes it (feed ids stay unique).
    assert "the slug 'muenchen' belonged to the city now called 'landeshauptstadt-muenchen'" in refused(
        runner, "add", "city", "--slug", "muenchen", "--name", "München", "--region", "muenchen-region"
    )
    assert snapshot(catalog_app) == before


def test_press_offices_with_conflicting_external_ids_are_not_merged(
    catalog_app: Flask, runner: FlaskCliRunner
) -> None:
    add_release(catalog_app, title="Eins", external_id="pm-1")
    add_release(catalog_app, city="bad-aibling", title="Zwei", external_id="pm-1")
    before = snapshot(catalog_app)
    assert "both press offices hold releases with the external_id 'pm-1'" in refused(
        runner, "merge", "publisher", "Pressestelle Bad Aibling", "Pressestelle Rosenheim"
    )
    assert snapshot(catalog_app) == before


# --- misspelt press offices in imports -------------------------------------------------------------


def test_a_misspelt_press_office_is_refused_with_the_one_meant(
    catalog_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = tmp_path / "releases.json"
    records.write_text(json.dumps([{**RELEASE, "external_id": "x-1"}]), encoding="utf-8")
    before = snapshot(catalog_app)
    result = runner.invoke(args=["import", str(records), "--publisher", "Pressestelle  rosenheim"])
    assert result.exit_code == 1
    assert "did you mean 'Pressestelle Rosenheim'?" in result.output
    records.write_text(json.dumps([{**RELEASE, "publisher": "PRESSESTELLE ROSENHEIM"}]), encoding="utf-8")
    result = runner.invoke(args=["import", str(records)])
    assert result.exit_code == 1
    assert (
        "line 1: publisher: there is no press office 'PRESSESTELLE ROSENHEIM'; did you mean" in result.output
    )
    result = runner.invoke(
        args=["create-token", "--publisher", "pressestelle rosenheim", "--city", "rosenheim"]
    )
    assert result.exit_code != 0 and "did you mean 'Pressestelle Rosenheim'?" in result.output
    assert snapshot(catalog_app) == before
    # A renamed office's old name still names it.
    ok(runner, "rename", "publisher", "Pressestelle Rosenheim", "Pressestelle der Stadt Rosenheim")
    records.write_text(json.dumps([{**RELEASE, "publisher": "Pressestelle Rosenheim"}]), encoding="utf-8")
    assert runner.invoke(args=["import", str(records)]).exit_code == 0
    assert "publisher\t1\tPressestelle der Stadt Rosenheim" in ok(runner, "list", "publisher")


def test_a_catalog_file_must_name_entries_as_they_are_called_now(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    sample = Path(__file__).resolve().parent.parent / "data"
    data = json.loads((sample / "catalog.json").read_text(encoding="utf-8"))
    data["publishers"][0]["name"] = data["publishers"][0]["name"].upper()
    (tmp_path / "catalog.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "releases.json").write_text("[]", encoding="utf-8")
    before = snapshot(sample_app)
    result = runner.invoke(args=["load-sample", "--dir", str(tmp_path)])
    assert (
        result.exit_code == 1 and "names that differ only in case or spaces name one office" in result.output
    )
    assert snapshot(sample_app) == before
    ok(runner, "rename", "city", "rosenheim", "rosenheim-stadt")
    result = runner.invoke(args=["load-sample"])
    assert result.exit_code == 1
    assert "catalog.json: city rosenheim: is called 'rosenheim-stadt' now" in result.output


# --- the admin API ---------------------------------------------------------------------------------


def test_the_api_changes_the_catalog_with_an_admin_token_only(
    catalog_app: Flask, client: FlaskClient
) -> None:
    city = {"slug": "stephanskirchen", "name": "Stephanskirchen", "region": "region-rosenheim"}
    problem_of(client.post("/api/v1/cities", json=city), 401)
    publisher = bearer(make_token(catalog_app))
    assert "admin" in problem_of(client.post("/api/v1/cities", json=city, headers=publisher), 403)["detail"]
    admin = bearer(make_token(catalog_app, role="admin", publisher=None))
    created = client.post("/api/v1/cities", json=city, headers=admin)
    assert (
        created.status_code == 201 and created.headers["Location"] == f"{BASE}/api/v1/cities/stephanskirchen"
    )
    assert created.json is not None and created.json["state"] == "Bayern"
    renamed = client.patch(
        "/api/v1/cities/stephanskirchen", json={"slug": "stephanskirchen-simssee"}, headers=admin
    )
    assert (
        renamed.status_code == 200
        and renamed.json is not None
        and renamed.json["slug"] == "stephanskirchen-simssee"
    )
    assert (
        "it is now 'stephanskirchen-simssee'"
        in problem_of(client.get("/api/v1/cities/stephanskirchen"), 404)["detail"]
    )
    merged = client.post(
        "/api/v1/cities/stephanskirchen-simssee/merge", json={"into": "rosenheim"}, headers=admin
    )
    assert merged.status_code == 200 and merged.json is not None and merged.json["slug"] == "rosenheim"
    retired = client.post("/api/v1/topics/kultur/retire", headers=admin)
    assert retired.status_code == 200 and retired.json is not None and retired.json["retired_at"]
    offices = json.loads(client.get("/api/v1/publishers").get_data())
    office = next(item for item in offices if item["name"] == "Pressestelle Bad Aibling")
    changed = client.patch(
        f"/api/v1/publishers/{office['id']}", json={"cities": ["bad-aibling", "rosenheim"]}, headers=admin
    )
    assert changed.status_code == 200 and changed.json is not None
    assert changed.json["cities"] == ["bad-aibling", "rosenheim"]


def test_the_api_refuses_bad_changes_with_problem_details(catalog_app: Flask, client: FlaskClient) -> None:
    admin = bearer(make_token(catalog_app, role="admin", publisher=None))
    before = snapshot(catalog_app)
    problem_of(client.patch("/api/v1/cities/nowhere", json={"name": "X"}, headers=admin), 404)
    problem_of(client.patch("/api/v1/cities/rosenheim", json={"slug": "muenchen"}, headers=admin), 409)
    assert field_errors(
        client.post("/api/v1/cities/rosenheim/merge", json={"into": "rosenheim"}, headers=admin)
    ) == {"into": "a city cannot be merged into itself"}
    assert (
        "is a region, not a city"
        in field_errors(
            client.post("/api/v1/cities/rosenheim/merge", json={"into": "region-rosenheim"}, headers=admin)
        )["into"]
    )
    assert "slug" in field_errors(
        client.post("/api/v1/topics", json={"slug": "Feuer Wehr", "name": "F"}, headers=admin)
    )
    assert "name" in field_errors(client.patch("/api/v1/topics/kultur", json={"name": None}, headers=admin))
    problem_of(client.post("/api/v1/publishers/99999/retire", headers=admin), 404)
    problem_of(client.post("/api/v1/publishers/1/merge", json={"into": 1}, headers=admin), 422)
    problem_of(client.post("/api/v1/cities", data="{", content_type="application/json", headers=admin), 400)
    assert snapshot(catalog_app) == before
    assert client.post("/api/v1/cities/rosenheim/retire", headers=admin).status_code == 200
    assert (
        "retired already"
        in problem_of(client.post("/api/v1/cities/rosenheim/retire", headers=admin), 409)["detail"]
    )
