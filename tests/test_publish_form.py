"""The publish form of press offices: sign in (here with an API token; accounts in
tests/test_accounts.py), then create, correct and retract releases of their own
cities, with the API's validation."""

from __future__ import annotations

import re
import threading
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import DeskSession, Release
from feedsvc.store import catalog
from feedsvc.store.secret_digest import hash_secret
from feedsvc.store.tokens import create_token, revoke_token
from tests.api_support import snapshot
from tests.conftest import POSTGRES_URL, AppFactory, FakeClock
from tests.factories import BY_OPERATOR, add_release, get_release, make_catalog

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
            by=BY_OPERATOR,
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


def test_signed_out_the_publish_page_asks_for_a_token(client: FlaskClient) -> None:
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


def test_the_session_is_the_tokens_but_the_cookie_never_holds_its_secret(
    app: Flask, client: FlaskClient
) -> None:
    make_catalog(app)
    token_id, secret = make_token(app)
    response = sign_in(client, secret)
    assert secret not in response.headers["Set-Cookie"]
    with client.session_transaction("/publish") as session:
        # A fresh session: the CSRF secret from before signing in is gone too.
        assert set(session) == {"desk"}
        session_secret = session["desk"]
    with app.app_context():
        row = db.session().scalars(select(DeskSession)).one()
        assert row.token_id == token_id and row.secret_hash == hash_secret(session_secret)


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
        token = db.session().scalars(select(DeskSession)).one().token
        assert token is not None
        revoke_token(token, clock(), by=BY_OPERATOR)
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


# --- sending the same form twice publishes once ------------------------------------------------------


def new_form(client: FlaskClient) -> dict[str, str]:
    """The hidden fields of a freshly shown new-release form: CSRF secret and submission key."""
    doc = doc_of(client.get("/publish/new"))
    return {name: str(doc.cssselect(f"input[name={name}]")[0].get("value")) for name in HIDDEN}


HIDDEN = ("csrf_token", "submission_key")


def send(client: FlaskClient, hidden: dict[str, str], fields: dict[str, Any]) -> TestResponse:
    return client.post("/publish/new", data={**fields, **hidden})


def flashes(client: FlaskClient) -> list[str]:
    return [text_of(message) for message in doc_of(client.get("/publish")).cssselect(".flash p")]


def releases_of_form(app: Flask, key: str) -> list[Release]:
    with app.app_context():
        query = select(Release).where(Release.external_id == f"form-{key}")
        return list(db.session().scalars(query))


def release_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Release)) or 0)


def city_feed_titles(client: FlaskClient) -> list[str]:
    return [entry.title for entry in feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).entries]


def test_every_new_release_form_carries_its_own_random_submission_key(
    signed_in: FlaskClient, app: Flask
) -> None:
    keys = {new_form(signed_in)["submission_key"] for _ in range(3)}
    assert len(keys) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", key) for key in keys)
    # A correction is no new release: its form has no key.
    release_id = add_release(app)
    assert not doc_of(signed_in.get(f"/publish/{release_id}/edit")).cssselect("input[name=submission_key]")


def test_sending_the_same_form_twice_publishes_once(signed_in: FlaskClient, app: Flask) -> None:
    hidden = new_form(signed_in)
    first = send(signed_in, hidden, VALID)
    assert (first.status_code, first.headers["Location"]) == (303, "/publish")
    assert flashes(signed_in) == ["Veröffentlicht: Winterdienst startet"]
    before = snapshot(app)
    again = send(signed_in, hidden, VALID)  # a double click, or the browser resending the POST
    assert (again.status_code, again.headers["Location"]) == (303, "/publish")
    assert snapshot(app) == before
    assert flashes(signed_in) == [
        "Bereits veröffentlicht: Winterdienst startet. "
        "Das Formular wurde mehrfach gesendet, die Meldung erscheint nur einmal."
    ]
    assert [release.title for release in releases_of_form(app, hidden["submission_key"])] == [VALID["title"]]
    assert release_count(app) == 1
    assert city_feed_titles(signed_in) == ["Winterdienst startet"]
    listed = doc_of(signed_in.get("/publish")).cssselect(".release-table tbody th")
    assert [text_of(cell) for cell in listed] == ["Winterdienst startet"]


def test_a_repeat_after_a_correction_still_publishes_nothing(signed_in: FlaskClient, app: Flask) -> None:
    hidden = new_form(signed_in)
    send(signed_in, hidden, VALID)
    (release,) = releases_of_form(app, hidden["submission_key"])
    edit_page = doc_of(signed_in.get(f"/publish/{release.id}/edit"))
    stored_time = str(edit_page.cssselect("#f-published_at")[0].get("value"))
    correction = {**VALID, "title": "Winterdienst startet früher", "published_at": stored_time}
    assert post_form(signed_in, f"/publish/{release.id}/edit", correction).status_code == 303
    flashes(signed_in)
    assert send(signed_in, hidden, VALID).status_code == 303
    assert flashes(signed_in)[0].startswith("Bereits veröffentlicht: Winterdienst startet früher.")
    assert release_count(app) == 1


def test_an_admin_sending_the_same_form_twice_publishes_once(app: Flask, client: FlaskClient) -> None:
    # An admin publishes in the name of the city's press office: the key is looked up there.
    make_catalog(app)
    sign_in(client, make_token(app, role="admin", cities=())[1])
    hidden = new_form(client)
    fields = {**VALID, "city": "muenchen"}
    assert [send(client, hidden, fields).status_code for _ in range(2)] == [303, 303]
    (release,) = releases_of_form(app, hidden["submission_key"])
    assert release.publisher.name == "Pressestelle München"
    assert release_count(app) == 1


def test_a_changed_form_sent_again_with_its_key_is_refused_and_writes_nothing(
    signed_in: FlaskClient, app: Flask
) -> None:
    hidden = new_form(signed_in)
    send(signed_in, hidden, VALID)
    (release,) = releases_of_form(app, hidden["submission_key"])
    flashes(signed_in)
    before = snapshot(app)
    response = send(signed_in, hidden, {**VALID, "title": "Winterdienst startet am Montag"})
    assert response.status_code == 409
    assert snapshot(app) == before
    doc = doc_of(response)
    summary = text_of(doc.cssselect(".error-summary")[0])
    assert "bereits als „Winterdienst startet“ veröffentlicht" in summary
    assert "nichts gespeichert" in summary
    link = doc.cssselect(".error-summary a")[-1]
    assert link.get("href") == f"/publish/{release.id}/edit"
    # What was typed is kept; sending it once more, knowingly, is a release of its own (once).
    assert doc.cssselect("#f-title")[0].get("value") == "Winterdienst startet am Montag"
    fresh = str(doc.cssselect("input[name=submission_key]")[0].get("value"))
    assert fresh != hidden["submission_key"]
    again = {**hidden, "submission_key": fresh}
    changed = {**VALID, "title": "Winterdienst startet am Montag"}
    assert [send(signed_in, again, changed).status_code for _ in range(2)] == [303, 303]
    assert sorted(city_feed_titles(signed_in)) == ["Winterdienst startet", "Winterdienst startet am Montag"]


def test_a_form_whose_release_was_retracted_does_not_publish_it_again(
    signed_in: FlaskClient, app: Flask
) -> None:
    hidden = new_form(signed_in)
    send(signed_in, hidden, VALID)
    (release,) = releases_of_form(app, hidden["submission_key"])
    assert post_form(signed_in, f"/publish/{release.id}/retract", {}).status_code == 303
    before = snapshot(app)
    response = send(signed_in, hidden, VALID)
    assert response.status_code == 409
    assert snapshot(app) == before
    doc = doc_of(response)
    assert "inzwischen zurückgezogen" in text_of(doc.cssselect(".error-summary")[0])
    assert not doc.cssselect(f".error-summary a[href='/publish/{release.id}/edit']")
    assert city_feed_titles(signed_in) == []


def test_a_form_shown_again_after_errors_keeps_its_key(signed_in: FlaskClient, app: Flask) -> None:
    hidden = new_form(signed_in)
    response = send(signed_in, hidden, {**VALID, "title": ""})
    assert response.status_code == 422
    kept = doc_of(response).cssselect("input[name=submission_key]")[0].get("value")
    assert kept == hidden["submission_key"]
    refused = send(signed_in, hidden, {**VALID, "city": "muenchen"})  # out of scope: refused after lookup
    assert refused.status_code == 422
    assert doc_of(refused).cssselect("input[name=submission_key]")[0].get("value") == kept
    assert [send(signed_in, hidden, VALID).status_code for _ in range(2)] == [303, 303]
    assert len(releases_of_form(app, hidden["submission_key"])) == 1
    assert release_count(app) == 1


@pytest.mark.parametrize("key", [None, "", "kurz", "x" * 65, "mit leerzeichen und mehr als 16"])
def test_a_form_without_a_usable_key_still_publishes(
    signed_in: FlaskClient, app: Flask, key: str | None
) -> None:
    # A page opened before keys existed (or a key that this service never made): published as
    # before, without the protection; a page shown again after an error gets a key of its own.
    hidden = {"csrf_token": csrf(signed_in)} | ({} if key is None else {"submission_key": key})
    response = send(signed_in, hidden, {**VALID, "title": ""})
    assert response.status_code == 422
    given = str(doc_of(response).cssselect("input[name=submission_key]")[0].get("value"))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", given)
    assert send(signed_in, hidden, VALID).status_code == 303
    release = release_titled(app, VALID["title"])
    assert release is not None and release.external_id is None


# --- sent at the same moment -------------------------------------------------------------------------

RACERS = 6


def clients_of_one_browser(signed_in: FlaskClient, apps: list[Flask]) -> list[FlaskClient]:
    """RACERS clients holding the signed-in session cookie, spread over the app instances
    (app servers sharing the database): the requests of one double-clicking browser."""
    cookie = signed_in.get_cookie("session", path="/publish")
    assert cookie is not None
    clients = []
    for index in range(RACERS):
        client = apps[index % len(apps)].test_client()
        client.set_cookie("session", cookie.value, path="/publish")
        clients.append(client)
    return clients


def send_at_once(
    clients: list[FlaskClient], hidden: dict[str, str], fields: dict[str, Any]
) -> list[TestResponse]:
    """Sends the same form from every client, released together; any exception fails the test."""
    start = threading.Barrier(len(clients), timeout=30)
    responses: list[TestResponse | None] = [None] * len(clients)
    failures: list[BaseException] = []

    def post(index: int) -> None:
        try:
            start.wait()
            responses[index] = send(clients[index], hidden, fields)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return [response for response in responses if response is not None]


def assert_published_once(
    app: Flask, clients: list[FlaskClient], responses: list[TestResponse], key: str, title: str
) -> None:
    assert [(r.status_code, r.headers.get("Location")) for r in responses] == [(303, "/publish")] * RACERS
    assert [release.title for release in releases_of_form(app, key)] == [title]
    messages = sorted(message for client in clients for message in flashes(client))
    assert len(messages) == RACERS
    assert messages[-1] == f"Veröffentlicht: {title}"
    assert all(message.startswith(f"Bereits veröffentlicht: {title}.") for message in messages[:-1])
    assert city_feed_titles(clients[0]).count(title) == 1


def test_the_same_form_sent_at_once_to_two_app_servers_publishes_once(
    signed_in: FlaskClient, app: Flask, make_app: AppFactory
) -> None:
    apps = [app, make_app()]
    for attempt in range(3):
        hidden = new_form(signed_in)
        clients = clients_of_one_browser(signed_in, apps)
        fields = {**VALID, "title": f"Winterdienst startet ({attempt})"}
        responses = send_at_once(clients, hidden, fields)
        assert_published_once(app, clients, responses, hidden["submission_key"], fields["title"])
    assert release_count(app) == 3


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="PostgreSQL only: on SQLite a write takes the write lock before its check "
    "(feedsvc.db.begin_writing), so no two can pass it together",
)
@pytest.mark.usefixtures("insert_rendezvous")
def test_the_same_form_that_passed_every_check_at_once_publishes_once(
    signed_in: FlaskClient, app: Flask, make_app: AppFactory, integrity_errors: list[BaseException]
) -> None:
    hidden = new_form(signed_in)
    clients = clients_of_one_browser(signed_in, [app, make_app()])
    responses = send_at_once(clients, hidden, VALID)
    assert_published_once(app, clients, responses, hidden["submission_key"], VALID["title"])
    assert release_count(app) == 1
    # Every loser really lost at the constraint, and was answered as a repeat.
    assert len(integrity_errors) >= RACERS - 1


def test_an_images_usage_terms_are_kept_and_shown_again(signed_in: FlaskClient, app: Flask) -> None:
    fields = {
        **VALID,
        "images-0-url": "https://www.rosenheim.de/bilder/winterdienst.jpg",
        "images-0-caption": "Räumfahrzeug am Bahnhof",
        "images-0-usage_terms": "Honorarfrei zur Berichterstattung",
    }
    assert post_form(signed_in, "/publish/new", fields).status_code == 303
    release = release_titled(app, "Winterdienst startet")
    assert release is not None
    assert [image.usage_terms for image in release.images] == ["Honorarfrei zur Berichterstattung"]
    form = doc_of(signed_in.get(f"/publish/{release.id}/edit"))
    assert (
        form.cssselect("input[name=images-0-usage_terms]")[0].get("value")
        == "Honorarfrei zur Berichterstattung"
    )
    too_long = {**fields, "images-0-usage_terms": "x" * 501, "title": "Zweite Meldung"}
    refused = post_form(signed_in, "/publish/new", too_long)
    assert refused.status_code == 422
    assert doc_of(refused).cssselect("#f-images-0-usage_terms-error")
