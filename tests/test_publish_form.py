"""The publish form of press offices: sign in with an API token, then create,
correct and retract releases of their own cities, with the API's validation."""

from __future__ import annotations

from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import Release
from feedsvc.store import catalog
from feedsvc.store.tokens import create_token, revoke_token, token_by_id
from tests.conftest import FakeClock
from tests.factories import add_release, get_release, make_catalog

VALID: dict[str, Any] = {
    "title": "Winterdienst startet",
    "city": "rosenheim",
    "topics": ["verkehr"],
    "body": "<p>Ab Montag räumt der Winterdienst.</p>",
}


def doc_of(response: TestResponse) -> HtmlElement:
    return html.fromstring(response.data)


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def csrf(client: FlaskClient, path: str = "/publish") -> str:
    field = doc_of(client.get(path)).cssselect("input[name=csrf_token]")[0]
    return str(field.get("value"))


def make_token(
    app: Flask, role: str = "publisher", cities: tuple[str, ...] = ("rosenheim",)
) -> tuple[int, str]:
    with app.app_context():
        session = db.session()
        rows = [row for slug in cities if (row := catalog.city_by_slug(session, slug)) is not None]
        publisher = (
            catalog.publisher_by_name(session, "Pressestelle Rosenheim") if role == "publisher" else None
        )
        token, secret = create_token(
            session,
            role=role,
            now=app.config["CLOCK"](),
            publisher=publisher,
            cities=rows if publisher else (),
        )
        session.commit()
        return token.id, secret


def sign_in(client: FlaskClient, secret: str) -> TestResponse:
    return client.post("/publish/sign-in", data={"token": secret, "csrf_token": csrf(client)})


def post_form(client: FlaskClient, path: str, fields: dict[str, Any]) -> TestResponse:
    return client.post(path, data={**fields, "csrf_token": csrf(client, path)})


def release_titled(app: Flask, title: str) -> Release | None:
    with app.app_context():
        return db.session().query(Release).filter_by(title=title).one_or_none()


@pytest.fixture
def signed_in(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client signed in with a token of the Rosenheim press office."""
    make_catalog(app)
    _, secret = make_token(app)
    assert sign_in(client, secret).status_code == 303
    return client


def test_signed_out_the_publish_page_asks_for_a_token(app: Flask, client: FlaskClient) -> None:
    doc = doc_of(client.get("/publish"))
    field = doc.cssselect("input#f-token")[0]
    assert field.get("type") == "password" and field.get("name") == "token"
    assert text_of(doc.cssselect("label[for=f-token]")[0]) == "API-Token"


def test_signing_in_lists_the_releases_of_the_tokens_cities(signed_in: FlaskClient, app: Flask) -> None:
    add_release(app, title="Meldung aus Rosenheim")
    add_release(app, city="muenchen", title="Meldung aus München")
    doc = doc_of(signed_in.get("/publish"))
    titles = [text_of(cell) for cell in doc.cssselect(".release-table tbody th")]
    assert titles == ["Meldung aus Rosenheim"]
    assert "Pressestelle Rosenheim" in text_of(doc.cssselect(".page-head")[0])


def test_the_session_holds_the_token_id_but_never_its_secret(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    token_id, secret = make_token(app)
    response = sign_in(client, secret)
    assert secret not in response.headers["Set-Cookie"]
    with client.session_transaction("/publish") as session:
        assert session["publish_token_id"] == token_id
        # A fresh session: the CSRF secret from before signing in is gone too.
        assert set(session) == {"publish_token_id"}


@pytest.mark.parametrize("role", ["journalist", "wrong"])
def test_unknown_and_read_only_tokens_cannot_sign_in(app: Flask, client: FlaskClient, role: str) -> None:
    make_catalog(app)
    secret = make_token(app, role=role, cities=())[1] if role == "journalist" else "fsv_falsch"
    response = sign_in(client, secret)
    assert response.status_code == 422
    doc = doc_of(response)
    assert "unbekannt" in text_of(doc.cssselect(".field__error")[0])
    assert doc.cssselect("input#f-token[aria-invalid=true]")


def test_revoking_the_token_signs_its_users_out(signed_in: FlaskClient, app: Flask, clock: FakeClock) -> None:
    with app.app_context():
        with signed_in.session_transaction("/publish") as session:
            token = token_by_id(db.session(), session["publish_token_id"])
        assert token is not None
        revoke_token(token, clock())
        db.session().commit()
    assert doc_of(signed_in.get("/publish")).cssselect("input#f-token")
    assert signed_in.get("/publish/new").status_code == 303


def test_signing_out_ends_the_session(signed_in: FlaskClient) -> None:
    signed_in.post("/publish/sign-out", data={"csrf_token": csrf(signed_in)})
    assert doc_of(signed_in.get("/publish")).cssselect("input#f-token")


@pytest.mark.parametrize("path", ["/publish/sign-in", "/publish/new", "/publish/sign-out"])
def test_posts_without_the_sessions_csrf_token_are_refused(
    signed_in: FlaskClient, app: Flask, path: str
) -> None:
    response = signed_in.post(path, data={**VALID, "token": "x", "csrf_token": "erraten"})
    assert response.status_code == 400
    assert "abgelaufen" in text_of(doc_of(response).cssselect(".error-page")[0])
    assert release_titled(app, VALID["title"]) is None


def test_a_new_release_appears_on_its_page_and_in_the_city_feed(signed_in: FlaskClient, app: Flask) -> None:
    response = post_form(signed_in, "/publish/new", VALID)
    assert response.status_code == 303 and response.headers["Location"] == "/publish"
    assert "Veröffentlicht: Winterdienst startet" in text_of(
        doc_of(signed_in.get("/publish")).cssselect(".flash")[0]
    )
    feed = feedparser.parse(signed_in.get("/cities/rosenheim/feed.atom").data)
    assert [entry.title for entry in feed.entries] == ["Winterdienst startet"]
    release = release_titled(app, "Winterdienst startet")
    assert release is not None and release.author == "Pressestelle Rosenheim"


def test_the_body_is_sanitised_exactly_as_in_the_api(signed_in: FlaskClient, app: Flask) -> None:
    fields = {**VALID, "body": '<p onclick="x()">Text<script>alert(1)</script></p>', "source_url": ""}
    post_form(signed_in, "/publish/new", fields)
    release = release_titled(app, VALID["title"])
    assert release is not None and release.body_html == "<p>Text</p>"


def test_errors_are_shown_next_to_their_fields_and_the_input_is_kept(
    signed_in: FlaskClient, app: Flask
) -> None:
    fields = {
        **VALID,
        "title": "",
        "body": "<p>Mein langer Text</p>",
        "contact-email": "keine-adresse",
        "images-0-url": "bild.jpg",
        "images-0-caption": "Das Rathaus",
    }
    response = post_form(signed_in, "/publish/new", fields)
    assert response.status_code == 422
    doc = doc_of(response)
    assert text_of(doc.cssselect("#f-title-error")[0]) == "Bitte ausfüllen."
    assert doc.cssselect("#f-title")[0].get("aria-invalid") == "true"
    assert "E-Mail" in text_of(doc.cssselect("#f-contact-email-error")[0])
    assert "https://" in text_of(doc.cssselect("#f-images-0-url-error")[0])
    assert doc.cssselect("#f-body")[0].text == "<p>Mein langer Text</p>"
    assert doc.cssselect("#f-images-0-caption")[0].get("value") == "Das Rathaus"
    assert doc.cssselect("input[name=topics][value=verkehr]")[0].get("checked") is not None
    summary = [link.get("href") for link in doc.cssselect(".error-summary a")]
    assert summary == ["#f-title", "#f-images-0-url", "#f-contact-email"]
    assert release_titled(app, "") is None


def test_a_city_outside_the_tokens_scope_is_refused(signed_in: FlaskClient, app: Flask) -> None:
    response = post_form(signed_in, "/publish/new", {**VALID, "city": "muenchen"})
    assert response.status_code == 422
    assert "nicht veröffentlichen" in text_of(doc_of(response).cssselect("#f-city-error")[0])
    assert release_titled(app, VALID["title"]) is None


def test_a_time_in_the_future_is_an_embargo_in_berlin_time(signed_in: FlaskClient, app: Flask) -> None:
    post_form(signed_in, "/publish/new", {**VALID, "published_at": "2026-12-24T09:00"})
    release = release_titled(app, VALID["title"])
    assert release is not None
    assert release.published_at.isoformat() == "2026-12-24T08:00:00+00:00"
    doc = doc_of(signed_in.get("/publish"))
    assert text_of(doc.cssselect(".status")[0]) == "Sperrfrist"
    assert signed_in.get("/cities/rosenheim/feed.atom").data.count(b"<entry>") == 0


def test_an_admin_token_may_publish_for_every_city(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    sign_in(client, make_token(app, role="admin", cities=())[1])
    post_form(client, "/publish/new", {**VALID, "city": "muenchen"})
    release = release_titled(app, VALID["title"])
    assert release is not None and release.publisher.name == "Pressestelle München"


def test_editing_shows_the_stored_values_and_saves_a_new_revision(signed_in: FlaskClient, app: Flask) -> None:
    image = {"url": "https://img.example.test/a.jpg", "caption": "Alt", "credit": "Foto: X", "length": 4711}
    release_id = add_release(app, title="Alter Titel", topics=("kultur",), images=[image])
    doc = doc_of(signed_in.get(f"/publish/{release_id}/edit"))
    assert doc.cssselect("#f-title")[0].get("value") == "Alter Titel"
    assert doc.cssselect("#f-images-0-url")[0].get("value") == image["url"]
    fields: dict[str, Any] = {
        "title": "Neuer Titel",
        "city": "rosenheim",
        "topics": ["kultur", "verkehr"],
        "body": "<p>Korrigiert.</p>",
        "published_at": doc.cssselect("#f-published_at")[0].get("value"),
        "images-0-url": image["url"],
        "images-0-caption": "Neu beschriftet",
        "correction_note": "Titel berichtigt",
    }
    assert post_form(signed_in, f"/publish/{release_id}/edit", fields).status_code == 303
    release = get_release(app, release_id)
    assert (release.title, release.revision, release.correction_note) == (
        "Neuer Titel",
        2,
        "Titel berichtigt",
    )
    assert {topic.slug for topic in release.topics} == {"kultur", "verkehr"}
    assert [(i.caption, i.length) for i in release.images] == [("Neu beschriftet", 4711)]


def test_releases_of_other_cities_cannot_be_edited_or_retracted(signed_in: FlaskClient, app: Flask) -> None:
    release_id = add_release(app, city="muenchen", title="Münchner Meldung")
    assert signed_in.get(f"/publish/{release_id}/edit").status_code == 403
    assert signed_in.get("/publish/99999999999/edit").status_code == 404
    response = signed_in.post(f"/publish/{release_id}/retract", data={"csrf_token": csrf(signed_in)})
    assert response.status_code == 403
    assert get_release(app, release_id).retracted_at is None


def test_retracting_takes_the_release_off_every_page_and_feed(signed_in: FlaskClient, app: Flask) -> None:
    release_id = add_release(app, title="Falsche Meldung")
    confirm = doc_of(signed_in.get(f"/publish/{release_id}/retract"))
    assert "Falsche Meldung" in text_of(confirm.cssselect(".notice")[0])
    response = post_form(signed_in, f"/publish/{release_id}/retract", {})
    assert response.status_code == 303
    assert signed_in.get(f"/releases/{release_id}").status_code == 410
    assert b"Falsche Meldung" not in signed_in.get("/cities/rosenheim/feed.rss").data
    assert signed_in.get(f"/publish/{release_id}/edit").status_code == 410


def test_publish_pages_are_private_and_never_stored(signed_in: FlaskClient, app: Flask) -> None:
    release_id = add_release(app)
    for path in ("/publish", "/publish/new", f"/publish/{release_id}/edit", f"/publish/{release_id}/retract"):
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store"
        assert doc_of(response).cssselect("meta[name=robots][content=noindex]")


def test_every_form_field_has_a_label(signed_in: FlaskClient) -> None:
    doc = doc_of(signed_in.get("/publish/new"))
    for field in doc.cssselect("input:not([type=hidden]), select, textarea"):
        labelled = field.getparent().tag == "label" or doc.cssselect(f"label[for='{field.get('id')}']")
        assert labelled, field.get("name")


def test_the_list_of_releases_continues_on_older_pages(signed_in: FlaskClient, app: Flask) -> None:
    for number in range(51):
        add_release(app, title=f"Meldung {number:02d}", minutes_ago=100 - number)
    first = doc_of(signed_in.get("/publish"))
    assert len(first.cssselect(".release-table tbody tr")) == 50
    older = first.cssselect(".pager a[rel=next]")[0].get("href")
    second = doc_of(signed_in.get(older))
    assert [text_of(cell) for cell in second.cssselect(".release-table tbody th")] == ["Meldung 00"]
