"""The catalog in the desk (`/publish/catalog`): admins add, rename, merge and retire
regions, cities, topics and press offices through the same changes as `feedsvc catalog`
and the admin API; old URLs redirect, refusals are German and change nothing, editors
get 403, and every form needs its CSRF secret and, to merge or retire, a confirmation."""

from __future__ import annotations

from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import OutboxEntry
from feedsvc.store import catalog
from tests.api_support import snapshot
from tests.databases import fill_once
from tests.desk_support import doc_of, make_user, post, sign_in, text_of
from tests.factories import add_release, make_catalog

PAGE = "/publish/catalog"


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> FlaskClient:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Neue Buslinie 12", topics=("verkehr",), minutes_ago=30)
        add_release(app, city="bad-aibling", title="Konzert im Kurpark", topics=("kultur",), minutes_ago=20)
        make_user(app, "chef@example.org", role="admin", cities=())

    fill_once(app, "two releases and an administrator, for the catalog desk", fill)
    assert sign_in(client, "chef@example.org").status_code == 303
    return client


def act(client: FlaskClient, kind: str, action: str, fields: dict[str, Any]) -> TestResponse:
    return post(client, f"{PAGE}/{kind}/{action}", fields, page=PAGE)


def done(client: FlaskClient, kind: str, action: str, fields: dict[str, Any]) -> str:
    """The flashed message of a change that succeeded."""
    response = act(client, kind, action, fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"{PAGE}#{kind}"
    return text_of(doc_of(client.get(PAGE)).cssselect(".flash")[0])


def errors_of(response: TestResponse) -> dict[str, str]:
    """The page's messages at its fields (`form`: above the form), by field name."""
    found: dict[str, str] = {}
    page = doc_of(response)
    for error in page.cssselect(".field__error"):
        found[str(error.get("id")).rsplit("-", 2)[-2]] = text_of(error)
    for notice in page.cssselect("form .notice--error"):
        found["form"] = text_of(notice)
    return found


def slugs(app: Flask, kind: str, *, retired: bool = False) -> list[str]:
    with app.app_context():
        rows: Any = {"city": catalog.cities, "topic": catalog.topics, "region": catalog.regions}[kind](
            db.session(), retired=retired
        )
        return sorted(row.slug for row in rows)


def rows_of(client: FlaskClient, kind: str) -> list[list[str]]:
    """The cells of each row of the page's table of `kind`."""
    rows = doc_of(client.get(PAGE)).cssselect(f"section#{kind} tbody tr")
    return [[text_of(cell) for cell in row.cssselect("th, td")] for row in rows]


def feed_titles(client: FlaskClient, path: str) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return {entry.title for entry in feedparser.parse(response.data).entries}


def test_editors_get_403_and_strangers_the_sign_in(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    make_user(app)
    stranger = app.test_client()
    assert stranger.get(PAGE).headers["Location"] == "/publish"
    assert sign_in(client).status_code == 303
    before = snapshot(app)
    assert client.get(PAGE).status_code == 403
    answer = post(client, f"{PAGE}/city/retire", {"key": "rosenheim", "confirm": "ja"})
    assert answer.status_code == 403
    assert "Administration vorbehalten" in text_of(doc_of(answer).cssselect(".error-page")[0])
    assert snapshot(app) == before
    assert not doc_of(client.get("/publish")).cssselect(f"a[href='{PAGE}']"), "nor is it offered"


def test_the_page_lists_every_kind_and_is_linked_from_the_desk(app: Flask, admin: FlaskClient) -> None:
    assert doc_of(admin.get("/publish")).cssselect(f".desk-nav a[href='{PAGE}']")
    page = doc_of(admin.get(PAGE))
    for kind, expected in (
        ("region", "region-rosenheim"),
        ("city", "bad-aibling"),
        ("topic", "soziales-familie"),
        ("publisher", "Pressestelle München"),
    ):
        (section,) = page.cssselect(f"section#{kind}")
        assert expected in text_of(section.cssselect("table")[0])
        actions = {form.get("action") for form in section.cssselect("form")}
        assert actions == {f"{PAGE}/{kind}/{action}" for action in ("add", "rename", "merge", "retire")}


def test_an_admin_adds_a_city_and_a_topic(app: Flask, admin: FlaskClient) -> None:
    fields = {"slug": "kolbermoor", "name": "Kolbermoor", "region": "region-rosenheim", "ags": "09187177"}
    assert "Stadt „Kolbermoor“ (kolbermoor) angelegt." in done(admin, "city", "add", fields)
    assert "Thema „Feuerwehr“ (feuerwehr) angelegt." in done(
        admin, "topic", "add", {"slug": "feuerwehr", "name": "Feuerwehr"}
    )
    assert "kolbermoor" in slugs(app, "city") and "feuerwehr" in slugs(app, "topic")
    with app.app_context():
        city = catalog.city_by_slug(db.session(), "kolbermoor")
        assert city is not None and city.state == "Bayern" and city.ags == "09187177"
    assert admin.get("/cities/kolbermoor/feed.atom").status_code == 200
    assert admin.get("/topics/feuerwehr").status_code == 200
    assert ["kolbermoor", "Kolbermoor", "region-rosenheim", "Bayern", "09187177", "–", "Aktiv"] in rows_of(
        admin, "city"
    )


def test_a_renamed_city_answers_its_old_feed_url_with_301(app: Flask, admin: FlaskClient) -> None:
    titles = feed_titles(admin, "/cities/rosenheim/feed.atom")
    message = done(admin, "city", "rename", {"key": "rosenheim", "slug": "rosenheim-stadt", "name": ""})
    assert "Stadt heißt jetzt „Rosenheim“ (rosenheim-stadt)" in message
    old = admin.get("/cities/rosenheim/feed.atom")
    assert old.status_code == 301 and old.headers["Location"].endswith("/cities/rosenheim-stadt/feed.atom")
    assert feed_titles(admin, "/cities/rosenheim-stadt/feed.atom") == titles
    assert [
        "rosenheim-stadt",
        "Rosenheim",
        "region-rosenheim",
        "Bayern",
        "09163000",
        "rosenheim",
        "Aktiv",
    ] in (rows_of(admin, "city")), "the old slug is listed as its former one"
    # A new name alone keeps the slug.
    done(admin, "city", "rename", {"key": "rosenheim-stadt", "slug": "", "name": "Stadt Rosenheim"})
    with app.app_context():
        city = catalog.city_by_slug(db.session(), "rosenheim-stadt")
        assert city is not None and city.name == "Stadt Rosenheim"


def test_an_admin_merges_a_topic(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        outbox_before = db.session().query(OutboxEntry).count()
    message = done(admin, "topic", "merge", {"key": "kultur", "into": "verkehr", "confirm": "ja"})
    assert "„kultur“ ist in „verkehr“ aufgegangen" in message
    assert "kultur" not in slugs(app, "topic")
    assert feed_titles(admin, "/topics/verkehr/feed.atom") >= {"Neue Buslinie 12", "Konzert im Kurpark"}
    moved = admin.get("/topics/kultur/feed.atom")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/topics/verkehr/feed.atom")
    with app.app_context():
        assert db.session().query(OutboxEntry).count() > outbox_before, "the feeds are told"


def test_a_retired_city_is_refused_by_the_publish_form(app: Flask, admin: FlaskClient) -> None:
    message = done(admin, "city", "retire", {"key": "bad-aibling", "confirm": "ja"})
    assert "Stadt „bad-aibling“ ist eingestellt" in message
    (retired,) = [row for row in rows_of(admin, "city") if row[0] == "bad-aibling"]
    assert retired[-1].startswith("Eingestellt am ")
    assert all(row[-1] == "Aktiv" for row in rows_of(admin, "city") if row[0] != "bad-aibling")
    fields = {"title": "Winterdienst", "city": "bad-aibling", "body": "<p>Ab Montag räumt er.</p>"}
    answer = post(admin, "/publish/new", fields, page="/publish/new")
    assert answer.status_code == 422
    assert "Für „bad-aibling“ erscheinen keine neuen Pressemitteilungen mehr." in answer.get_data(
        as_text=True
    )
    assert admin.get("/cities/bad-aibling/feed.atom").status_code == 200, "its feed stays"


@pytest.mark.parametrize(
    ("kind", "action", "fields", "expected"),
    [
        (
            "city",
            "retire",
            {"key": "rosenheimm", "confirm": "ja"},
            {"form": "Es gibt keine Stadt „rosenheimm“. Meinten Sie „rosenheim“?"},
        ),
        (
            "city",
            "add",
            {"slug": "muenchen", "name": "München", "region": "muenchen-region"},
            {"form": "Es gibt schon eine Stadt „muenchen“."},
        ),
        (
            "city",
            "add",
            {"slug": "Neu Stadt", "name": "", "region": "nirgendwo", "ags": "123"},
            {
                "slug": "Nur Kleinbuchstaben a–z, Ziffern und einzelne Bindestriche, etwa „bad-aibling“.",
                "name": "Bitte ausfüllen.",
                "ags": "Der Amtliche Gemeindeschlüssel hat genau 8 Ziffern.",
            },
        ),
        (
            "city",
            "add",
            {"slug": "neustadt", "name": "Neustadt", "region": "nirgendwo"},
            {"region": "Es gibt keine Region „nirgendwo“."},
        ),
        (
            "city",
            "add",
            {"slug": "neustadt", "name": "Neustadt", "region": "region-rosenheim", "ags": "09163000"},
            {"form": "Den Amtlichen Gemeindeschlüssel 09163000 hat schon die Stadt „rosenheim“."},
        ),
        ("topic", "add", {"slug": "feuerwehr", "name": "F" * 201}, {"name": "Höchstens 200 Zeichen."}),
        (
            "topic",
            "merge",
            {"key": "kultur", "into": "kultur", "confirm": "ja"},
            {"into": "Ein Thema lässt sich nicht mit sich selbst zusammenführen."},
        ),
        (
            "city",
            "merge",
            {"key": "bad-aibling", "into": "verkehr", "confirm": "ja"},
            {
                "into": "„verkehr“ ist ein Thema, keine Stadt: "
                "Zusammengeführt wird nur mit Einträgen derselben Art."
            },
        ),
        (
            "topic",
            "merge",
            {"key": "kultur", "into": "verkehr"},
            {
                "confirm": "Bitte bestätigen Sie, dass Sie zusammenführen wollen: "
                "Das lässt sich nicht rückgängig machen."
            },
        ),
        (
            "city",
            "retire",
            {"key": "bad-aibling", "confirm": "nein"},
            {
                "confirm": "Bitte bestätigen Sie, dass Sie einstellen wollen: "
                "Das lässt sich nicht rückgängig machen."
            },
        ),
        (
            "region",
            "retire",
            {"key": "muenchen-region", "confirm": "ja"},
            {
                "form": "Zur Region „muenchen-region“ gehören noch die Städte „muenchen“: "
                "Bitte ordnen Sie sie zuerst einer anderen Region zu oder stellen Sie sie ein."
            },
        ),
        (
            "city",
            "rename",
            {"key": "rosenheim", "slug": "muenchen", "name": ""},
            {"form": "Es gibt schon eine Stadt „muenchen“."},
        ),
        (
            "city",
            "rename",
            {"key": "rosenheim", "slug": "", "name": ""},
            {"slug": "Bitte geben Sie ein neues Kürzel, einen neuen Namen oder beides an."},
        ),
        ("city", "rename", {"key": "", "slug": "neu", "name": ""}, {"key": "Bitte ausfüllen."}),
        (
            "publisher",
            "add",
            {"name": "pressestelle  rosenheim", "cities": "rosenheim"},
            {
                "form": "Meinten Sie „Pressestelle Rosenheim“? Namen, die sich nur in "
                "Groß- und Kleinschreibung oder Leerzeichen unterscheiden, bezeichnen dieselbe Pressestelle."
            },
        ),
        (
            "publisher",
            "add",
            {"name": "Pressestelle Kolbermoor", "cities": "rosenheim, kolbermoor"},
            {"cities": "Es gibt keine Stadt „kolbermoor“."},
        ),
        (
            "publisher",
            "retire",
            {"key": "99999999999", "confirm": "ja"},
            {"form": "Es gibt keine Pressestelle „99999999999“."},
        ),
        (
            "topic",
            "retire",
            {"key": "kul\x00tur<b>x</b>", "confirm": "ja"},
            {"form": "Es gibt kein Thema „kulturx“. Meinten Sie „kultur“?"},
        ),
    ],
)
def test_bad_input_is_refused_in_german_and_changes_nothing(
    app: Flask,
    admin: FlaskClient,
    kind: str,
    action: str,
    fields: dict[str, Any],
    expected: dict[str, str],
) -> None:
    before = snapshot(app)
    response = act(admin, kind, action, fields)
    assert response.status_code == 422
    assert errors_of(response) == expected
    assert snapshot(app) == before
    # What was typed is still there (as plain text: spaces run together).
    page = doc_of(response)
    for name, value in fields.items():
        if name not in ("confirm",) and value and "\x00" not in value:
            (field,) = page.cssselect(f"#f-{kind}-{action}-{name}")
            assert field.get("value") == " ".join(value.split())


def test_retiring_twice_and_old_slugs_are_refused_by_name(app: Flask, admin: FlaskClient) -> None:
    done(admin, "city", "retire", {"key": "bad-aibling", "confirm": "ja"})
    done(admin, "city", "rename", {"key": "muenchen", "slug": "landeshauptstadt-muenchen", "name": ""})
    before = snapshot(app)
    twice = errors_of(act(admin, "city", "retire", {"key": "bad-aibling", "confirm": "ja"}))
    assert twice["form"].startswith("Die Stadt „bad-aibling“ ist schon eingestellt, seit dem ")
    old = errors_of(act(admin, "city", "retire", {"key": "muenchen", "confirm": "ja"}))
    assert old == {"form": "„muenchen“ gibt es nicht mehr: Das ist jetzt „landeshauptstadt-muenchen“."}
    reserved = errors_of(
        act(admin, "city", "add", {"slug": "muenchen", "name": "M", "region": "muenchen-region"})
    )
    assert reserved == {
        "form": "„muenchen“ bleibt reserviert: So hieß früher „landeshauptstadt-muenchen“, und die alten "
        "Adressen leiten dorthin weiter."
    }
    into_retired = errors_of(
        act(admin, "city", "merge", {"key": "rosenheim", "into": "bad-aibling", "confirm": "ja"})
    )
    assert into_retired == {
        "into": "Die Stadt „bad-aibling“ ist eingestellt: Zusammengeführt wird nur mit einem Eintrag, "
        "der noch geführt wird."
    }
    assert snapshot(app) == before


def test_press_offices_are_named_by_number_or_name(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        office = catalog.publisher_by_name(db.session(), "Pressestelle Bad Aibling")
        assert office is not None
        office_id = office.id
    done(admin, "publisher", "rename", {"key": str(office_id), "name": "Pressestelle der Stadt Bad Aibling"})
    message = done(
        admin,
        "publisher",
        "merge",
        {"key": "Pressestelle der Stadt Bad Aibling", "into": "Pressestelle Rosenheim", "confirm": "ja"},
    )
    assert "ist in „Pressestelle Rosenheim“ aufgegangen" in message
    gone = errors_of(act(admin, "publisher", "retire", {"key": str(office_id), "confirm": "ja"}))
    assert gone["form"].startswith(f"Die Pressestelle Nr. {office_id} ist in „Pressestelle Rosenheim“")


def test_every_form_needs_its_csrf_secret(app: Flask, admin: FlaskClient) -> None:
    before = snapshot(app)
    fields = {"key": "bad-aibling", "confirm": "ja"}
    for data in (fields, {**fields, "csrf_token": "falsch"}):
        answer = admin.post(f"{PAGE}/city/retire", data=data)
        assert answer.status_code == 400
        assert "Formular ist abgelaufen" in answer.get_data(as_text=True)
    assert snapshot(app) == before
    assert admin.post(f"{PAGE}/planet/add", data=fields).status_code == 404
