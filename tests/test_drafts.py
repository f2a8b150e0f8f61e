"""Drafts, preview links and the states of the desk (docs/pages.md#drafts).

A draft, and a release scheduled from one, change nothing anybody outside the desk can
observe before its instant: every feed in every format, page, search, count, sitemap, OPML
list and API answer stays byte for byte as it was, from this app and from another, and no
cache is purged and no hub pinged (the exhaustive watch of tests/test_embargo_side_channels.py).
A preview link shows the page to whoever has it, marked, private and noindex, until it expires
or is revoked, and then answers as an unknown page. Drafts are seen by those who write their
city (or, without one, by their author alone); bad input is refused in German and stores
nothing.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import AuditEvent, Draft, OutboxEntry, PreviewLink, Release
from feedsvc.publishing.input import MAX_BODY_CHARS
from feedsvc.text import clean_body
from feedsvc.web.pages.formatting import datetime_local_value
from tests import test_embargo_side_channels as side_channels
from tests.conftest import AppFactory, FakeClock
from tests.desk_support import ADDRESS, csrf, doc_of, make_user, post, post_bytes, sign_in, text_of
from tests.factories import add_release, make_catalog, retract
from tests.media_support import SVG_SCRIPT, camera_jpeg, pdf
from tests.test_embargo_side_channels import HOLDING, Site, assert_unobservable, changed_feeds, observe

BASE = "http://feeds.example.test"
TITLE = "Haushalt 2027: Stadtrat beschließt Investitionen"
BODY = "Die Stadt Rosenheim investiert 2027 in Schulen.\n\nDer Haushalt wächst um vier Prozent."
UNKNOWN_SECRET = "A" * 43
# The watched site of the embargo tests: every public answer, another app server, the hubs and caches.
site = side_channels.site
ADMIN = "admin@example.org"
SECOND = "zweite@rosenheim.de"
MUNICH = "presse@muenchen.de"


@pytest.fixture
def desk_app(make_app: AppFactory) -> Flask:
    """The test catalog, two editors of Rosenheim, one of München and an admin; links last an hour."""
    app = make_app(PREVIEW_LINK_MAX_AGE=3600)
    make_catalog(app)
    make_user(app)
    make_user(app, SECOND)
    make_user(app, MUNICH, cities=("muenchen",))
    make_user(app, ADMIN, role="admin", cities=())
    return app


def desk(app: Flask, email: str = "presse@rosenheim.de") -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def new_form(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    """The fields of a new release's form, with its submission key, and `fields`."""
    field = doc_of(client.get("/publish/new")).cssselect("input[name=submission_key]")[0]
    return {"submission_key": field.get("value"), "title": "", "city": "", "body": "", **fields}


def save(client: FlaskClient, fields: dict[str, Any]) -> TestResponse:
    return post(client, "/publish/drafts", fields, page="/publish/new")


def saved_id(answer: TestResponse) -> int:
    assert answer.status_code == 303, answer.data.decode()[:2000]
    match = re.fullmatch(r"/publish/drafts/(\d+)", answer.headers["Location"])
    assert match, answer.headers["Location"]
    return int(match.group(1))


def form_of(client: FlaskClient, draft_id: int) -> dict[str, Any]:
    """The draft's form as the desk shows it, ready to post again."""
    doc = doc_of(client.get(f"/publish/drafts/{draft_id}"))
    fields: dict[str, Any] = {
        element.get("name"): element.get("value") or ""
        for element in doc.cssselect("form.form input[name]")
        if element.get("type") not in ("checkbox", "radio")
    }
    fields["topics"] = [box.get("value") for box in doc.cssselect("input[name=topics][checked]")]
    fields["body"] = doc.cssselect("textarea[name=body]")[0].text or ""
    fields["city"] = next((o.get("value") for o in doc.cssselect("#f-city option[selected]")), "")
    fields.pop("csrf_token", None)
    return fields


def make_link(client: FlaskClient, path: str) -> str:
    answer = post(client, path, {}, page=path)
    assert answer.status_code == 200, answer.data.decode()[:2000]
    return str(doc_of(answer).cssselect(".new-link__url a")[0].get("href")).removeprefix(BASE)


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


def drafts_of(app: Flask) -> list[tuple[str, int, int | None]]:
    with app.app_context():
        rows = db.session().scalars(select(Draft).order_by(Draft.id))
        return [(draft.title, draft.revision, draft.city_id) for draft in rows]


def local(moment: datetime) -> str:
    return datetime_local_value(moment)


# --- nothing public, before the instant ----------------------------------------------------------


def test_a_draft_saved_changed_previewed_and_deleted_changes_nothing_public(site: Site) -> None:
    make_user(site.app)
    client = desk(site.app)
    fields = new_form(client, title=TITLE, city="rosenheim", topics=["kultur", "verkehr"], body=BODY)
    outbox = count(site.app, OutboxEntry)
    before = site.public()
    draft_id = saved_id(save(client, fields))
    changed = {**form_of(client, draft_id), "summary": "Mehr Geld für Schulen in der Stadt."}
    assert saved_id(save(client, changed)) == draft_id
    preview = site.client.get(make_link(client, f"/publish/drafts/{draft_id}/preview"))
    assert preview.status_code == 200 and TITLE.encode() in preview.data
    assert_unobservable(site, before)
    assert post(client, f"/publish/drafts/{draft_id}/delete", {}).status_code == 303
    assert_unobservable(site, before)
    assert count(site.app, OutboxEntry) == outbox, "a draft is nothing to deliver"


def test_a_release_scheduled_from_a_draft_shows_nowhere_until_its_instant_but_in_its_preview(
    site: Site,
) -> None:
    make_user(site.app)
    client = desk(site.app)
    fields = new_form(client, title=TITLE, city="rosenheim", topics=["kultur", "verkehr"], body=BODY)
    draft_id = saved_id(save(client, fields))
    link = make_link(client, f"/publish/drafts/{draft_id}/preview")
    release_id = site.next_id()
    before = site.public()
    instant = site.clock.now + timedelta(minutes=10)
    scheduled = {**form_of(client, draft_id), "published_at": local(instant), "action": "schedule"}
    answer = post(client, "/publish/new", scheduled, page="/publish/new")
    assert answer.status_code == 303 and answer.headers["Location"] == "/publish"
    assert drafts_of(site.app) == [], "publishing a draft removes it"
    assert_unobservable(site, before)
    assert site.client.get(f"/releases/{release_id}").status_code == 404
    # The draft's link now shows the scheduled release, marked with its embargo.
    preview = site.client.get(link)
    assert preview.status_code == 200
    assert "Sperrfrist bis 25. November 2026, 13:15 Uhr" in text_of(
        doc_of(preview).cssselect(".preview-banner")[0]
    )
    assert_unobservable(site, before)
    site.clock.now = instant
    assert changed_feeds(before, site.public()) == set(HOLDING)
    moved = site.client.get(link)
    assert moved.status_code == 303 and moved.headers["Location"].startswith(f"/releases/{release_id}-")


# --- preview links -------------------------------------------------------------------------------


def test_a_preview_is_the_page_as_published_marked_private_and_never_indexed(desk_app: Flask) -> None:
    client = desk(desk_app)
    hostile = (
        "Erster Absatz mit <b>Fett</b>.\n\n<script>alert(1)</script><img src=x onerror=alert(1)>"
        '<a href="javascript:alert(1)">Link</a>\n\nDritter Absatz.'
    )
    fields = new_form(client, title="<em>Adventssingen</em> am Ludwigsplatz", city="rosenheim", body=hostile)
    fields |= {
        "topics": ["kultur"],
        "images-0-url": "kein Bild",  # left out, as publishing would refuse it
        "images-1-url": "https://www.rosenheim.de/singen.jpg",
        "images-1-caption": "Der Chor",
        "contact-email": "presse@rosenheim.de",
    }
    draft_id = saved_id(save(client, fields))
    answer = desk_app.test_client().get(make_link(client, f"/publish/drafts/{draft_id}/preview"))
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["X-Robots-Tag"] == "noindex"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in answer.headers
    doc = doc_of(answer)
    assert doc.cssselect("meta[name=robots]")[0].get("content") == "noindex"
    assert text_of(doc.cssselect(".preview-banner")[0]).startswith("Vorschau · Entwurf, nicht veröffentlicht")
    assert text_of(doc.cssselect("h1")[0]) == "Adventssingen am Ludwigsplatz"
    assert len(doc.cssselect(".release__body p")) == 3
    stored_as = clean_body(hostile)
    assert stored_as in answer.data.decode(), "the body exactly as publishing would store it"
    shown = html.tostring(doc.cssselect(".release__body")[0], encoding="unicode")
    for bad in ("<script", "onerror", "javascript:", "alert"):
        assert bad not in shown and bad not in stored_as
    assert [img.get("src") for img in doc.cssselect("figure img")] == ["https://www.rosenheim.de/singen.jpg"]
    assert text_of(doc.cssselect(".contact")[0]).endswith("presse@rosenheim.de")


def assert_as_unknown(reader: FlaskClient, path: str) -> None:
    """`path` answers exactly as a link that never existed (its secret in place of the other's)."""
    secret = path.rsplit("/", 1)[1]
    status, _, modified, control, keys, location, body = observe(reader, path)
    unknown = observe(reader, f"/preview/{UNKNOWN_SECRET}")
    assert status == unknown[0] == 404
    assert (modified, control, keys, location) == unknown[2:6]
    assert body == unknown[6].replace(UNKNOWN_SECRET.encode(), secret.encode())


def test_an_expired_or_revoked_link_answers_as_an_unknown_page(desk_app: Flask, clock: FakeClock) -> None:
    client = desk(desk_app)
    draft_id = saved_id(save(client, new_form(client, title=TITLE, city="rosenheim", body=BODY)))
    links_page = f"/publish/drafts/{draft_id}/preview"
    assert "Jeder Link gilt 1 Stunde" in text_of(doc_of(client.get(links_page)).cssselect(".page-head")[0])
    revoked = make_link(client, links_page)
    [revoked_id] = _link_ids(desk_app)
    expiring = make_link(client, links_page)
    reader = desk_app.test_client()
    assert reader.get(revoked).status_code == reader.get(expiring).status_code == 200
    assert post(client, f"/publish/preview-links/{revoked_id}/revoke", {}).status_code == 303
    assert_as_unknown(reader, revoked)
    clock.advance(seconds=3599)
    assert reader.get(expiring).status_code == 200
    clock.advance(seconds=1)
    assert_as_unknown(reader, expiring)
    for path in ("/preview/short", f"/preview/{'ü' * 43}", "/preview/" + "B" * 43, "/preview/" + "C" * 4000):
        assert reader.get(path).status_code == 404, path
    assert count(desk_app, PreviewLink) == 1, "an expired link stays until the next one is made"
    make_link(client, links_page)
    assert count(desk_app, PreviewLink) == 1


def test_a_scheduled_release_gets_links_a_public_one_none(desk_app: Flask, clock: FakeClock) -> None:
    client = desk(desk_app)
    scheduled = add_release(desk_app, title="Geplant", published_at=clock.now + timedelta(days=1))
    public = add_release(desk_app, title="Öffentlich", minutes_ago=5)
    gone = add_release(desk_app, title="Zurückgezogen", published_at=clock.now + timedelta(days=1))
    retract(desk_app, gone)
    munich = add_release(
        desk_app, city="muenchen", title="München", published_at=clock.now + timedelta(days=1)
    )
    link = make_link(client, f"/publish/{scheduled}/preview")
    shown = desk_app.test_client().get(link)
    assert shown.status_code == 200
    assert "Sperrfrist bis 26. November 2026, 13:00 Uhr" in shown.data.decode()
    assert client.get(f"/publish/{public}/preview").status_code == 409
    assert client.get(f"/publish/{gone}/preview").status_code == 410
    assert client.get(f"/publish/{munich}/preview").status_code == 403
    assert post(client, f"/publish/{public}/preview", {}).status_code == 409
    retract(desk_app, scheduled)
    assert desk_app.test_client().get(link).status_code == 404, "a retracted release shows nothing"


# --- who sees which draft ------------------------------------------------------------------------


def test_a_draft_is_seen_by_whoever_writes_its_city_and_one_without_by_its_author(desk_app: Flask) -> None:
    author = desk(desk_app)
    city_draft = saved_id(save(author, new_form(author, title="Für Rosenheim", city="rosenheim")))
    own_draft = saved_id(save(author, new_form(author, title="Noch ohne Stadt")))
    make_link(author, f"/publish/drafts/{city_draft}/preview")
    [link_id] = _link_ids(desk_app)

    def listed(client: FlaskClient) -> list[str]:
        return [
            text_of(row) for row in doc_of(client.get("/publish")).cssselect("section.desk-section tbody th")
        ]

    assert listed(author) == ["Noch ohne Stadt", "Für Rosenheim"]
    second, munich, admin = desk(desk_app, SECOND), desk(desk_app, MUNICH), desk(desk_app, ADMIN)
    assert listed(second) == listed(admin) == ["Für Rosenheim"]
    assert listed(munich) == []
    assert second.get(f"/publish/drafts/{city_draft}").status_code == 200
    for outsider, hidden in (
        (second, own_draft),
        (admin, own_draft),
        (munich, own_draft),
        (munich, city_draft),
    ):
        assert outsider.get(f"/publish/drafts/{hidden}").status_code == 404
        assert outsider.get(f"/publish/drafts/{hidden}/delete").status_code == 404
        assert post(outsider, f"/publish/drafts/{hidden}/delete", {}).status_code == 404
        assert outsider.get(f"/publish/drafts/{hidden}/preview").status_code == 404
        assert post(outsider, f"/publish/drafts/{hidden}/preview", {}).status_code == 404
    assert post(munich, f"/publish/preview-links/{link_id}/revoke", {}).status_code == 404
    # Saving over another city's draft by its key is no way in either.
    key = form_of(author, city_draft)["submission_key"]
    assert save(munich, {"submission_key": key, "title": "Übernommen", "city": ""}).status_code == 404
    assert sorted(drafts_of(desk_app)) == sorted([("Für Rosenheim", 1, 1), ("Noch ohne Stadt", 1, None)])
    assert count(desk_app, PreviewLink) == 1


def _link_ids(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session().scalars(select(PreviewLink.id).order_by(PreviewLink.id)))


def test_a_draft_for_a_city_one_may_not_write_is_refused_next_to_the_city(desk_app: Flask) -> None:
    client = desk(desk_app)
    for city, message in (
        ("muenchen", "Für diese Stadt dürfen Sie nicht veröffentlichen."),
        ("atlantis", "Unbekannte Stadt „atlantis“."),
        ("Ro\x00senheim", "Unbekannte Stadt"),
    ):
        answer = save(client, new_form(client, title="Entwurf", city=city))
        assert answer.status_code == 422, city
        assert message in text_of(doc_of(answer).cssselect(".field--error")[0]), city
    assert drafts_of(desk_app) == []


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_refused_in_german_or_cleaned_and_never_half_stored(desk_app: Flask) -> None:
    client = desk(desk_app)
    huge = save(client, new_form(client, title="Lang", body="x" * (MAX_BODY_CHARS + 1)))
    assert huge.status_code == 422
    assert f"Höchstens {MAX_BODY_CHARS} Zeichen." in text_of(doc_of(huge).cssselect(".error-summary")[0])
    too_big = save(client, new_form(client, title="Zu groß", body="x" * (1024 * 1024 + 1)))
    assert too_big.status_code == 413
    topics = save(client, new_form(client, title="Themen", topics=[f"thema-{n}" for n in range(60)]))
    assert topics.status_code == 422
    long_title = save(client, new_form(client, title="T" * 3001))
    assert long_title.status_code == 422
    assert drafts_of(desk_app) == []
    # Broken encodings and control characters are stored as text can hold them.
    key = new_form(client)["submission_key"].encode()
    answer = post_bytes(
        client,
        "/publish/drafts",
        {
            "submission_key": key,
            "title": b"Stra\xdfe \xff gesperrt\x00\x07",
            "body": b"Text\x00 \xc3\xa4",
            "city": b"",
        },
        page="/publish/new",
    )
    draft_id = saved_id(answer)
    [(title, _, _)] = drafts_of(desk_app)
    assert title == "Strae gesperrt", "U+FFFD and controls are no text"
    assert client.get(f"/publish/drafts/{draft_id}").status_code == 200
    # Hostile HTML comes back escaped into the form, never as markup of the page.
    hostile = '</textarea><script>alert(1)</script>"><img src=x onerror=alert(1)>'
    draft_id = saved_id(save(client, new_form(client, title=hostile, body=hostile)))
    page = client.get(f"/publish/drafts/{draft_id}")
    assert page.status_code == 200
    assert b"<script>alert(1)" not in page.data and b"<img src=x" not in page.data
    assert doc_of(page).cssselect("textarea[name=body]")[0].text == hostile
    # Ids that name no draft, or could not name one.
    for path in ("/publish/drafts/999", f"/publish/drafts/{2**31}", f"/publish/drafts/{2**70}",
                 "/publish/drafts/999/delete", "/publish/drafts/999/preview",
                 "/publish/999/preview"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    for path in ("/publish/drafts/999/delete", "/publish/preview-links/999/revoke",
                 f"/publish/preview-links/{2**31}/revoke"):  # fmt: skip
        assert post(client, path, {}).status_code == 404, path
    # Without the form's CSRF secret nothing is saved.
    assert client.post("/publish/drafts", data={"title": "Ohne"}).status_code == 400
    assert len(drafts_of(desk_app)) == 2


# --- saving and publishing -----------------------------------------------------------------------


def test_a_form_saved_twice_is_one_draft_and_a_save_over_a_newer_one_is_refused(desk_app: Flask) -> None:
    author, second = desk(desk_app), desk(desk_app, SECOND)
    fields = new_form(author, title=TITLE, city="rosenheim", body=BODY)
    draft_id = saved_id(save(author, fields))
    assert saved_id(save(author, fields)) == draft_id, "a double click saves once"
    assert drafts_of(desk_app) == [(TITLE, 1, 1)]
    mine, theirs = form_of(author, draft_id), form_of(second, draft_id)
    saved_id(save(second, {**theirs, "summary": "Von der zweiten Redakteurin."}))
    stale = save(author, {**mine, "title": "Meine Fassung"})
    assert stale.status_code == 409
    doc = doc_of(stale)
    assert "inzwischen noch einmal gespeichert" in text_of(doc.cssselect(".error-summary")[0])
    assert "zweite@rosenheim.de" in text_of(doc.cssselect(".error-summary")[0])
    assert doc.cssselect("#f-title")[0].get("value") == "Meine Fassung", "nothing typed is lost"
    assert drafts_of(desk_app) == [(TITLE, 2, 1)]
    # Sent again from that page, knowingly, it replaces the newer draft.
    revision = doc.cssselect("input[name=draft_revision]")[0].get("value")
    again = {**mine, "title": "Meine Fassung", "draft_revision": revision}
    assert saved_id(save(author, again)) == draft_id
    assert drafts_of(desk_app) == [("Meine Fassung", 3, 1)]


def test_publishing_a_draft_checks_it_keeps_it_on_error_and_removes_it_once(desk_app: Flask) -> None:
    client = desk(desk_app)
    draft_id = saved_id(save(client, new_form(client, city="rosenheim", body=BODY)))
    link = make_link(client, f"/publish/drafts/{draft_id}/preview")
    incomplete = {**form_of(client, draft_id), "action": "publish"}
    refused = post(client, "/publish/new", incomplete, page="/publish/new")
    assert refused.status_code == 422
    doc = doc_of(refused)
    assert text_of(doc.cssselect("h1")[0]) == "Entwurf bearbeiten"
    assert "Bitte ausfüllen." in text_of(doc.cssselect(".field--error")[0])
    assert doc.cssselect("textarea[name=body]")[0].text == BODY, "nothing typed is lost"
    assert drafts_of(desk_app) == [("", 1, 1)] and count(desk_app, Release) == 0
    complete = {**incomplete, "title": TITLE}
    for _ in range(2):  # sent twice: published once
        answer = post(client, "/publish/new", complete, page="/publish/new")
        assert answer.status_code == 303
    with desk_app.app_context():
        [release] = db.session().scalars(select(Release))
        assert release.external_id == f"form-{complete['submission_key']}"
        assert release.body_html == clean_body(BODY)
    assert drafts_of(desk_app) == []
    flashes = text_of(doc_of(client.get("/publish")).cssselect(".flash")[0])
    assert "Bereits veröffentlicht" in flashes
    assert desk_app.test_client().get(link).status_code == 303, "its link leads to the page now"


def test_scheduling_needs_a_future_time_and_publishing_now_none(desk_app: Flask, clock: FakeClock) -> None:
    client = desk(desk_app)
    cases = (
        ("schedule", "", "Bitte Datum und Uhrzeit angeben"),
        ("schedule", local(clock.now - timedelta(hours=1)), "schon vorbei"),
        ("publish", local(clock.now + timedelta(hours=1)), "liegt in der Zukunft"),
    )
    for action, when, message in cases:
        fields = new_form(client, title=TITLE, city="rosenheim", body=BODY, published_at=when, action=action)
        answer = post(client, "/publish/new", fields, page="/publish/new")
        assert answer.status_code == 422, (action, when)
        assert message in text_of(doc_of(answer).cssselect(".error-summary")[0])
    assert count(desk_app, Release) == 0
    later = clock.now + timedelta(days=2)
    fields = new_form(
        client, title=TITLE, city="rosenheim", body=BODY, published_at=local(later), action="schedule"
    )
    assert post(client, "/publish/new", fields, page="/publish/new").status_code == 303
    assert "Geplant für 27. November 2026, 13:00 Uhr" in text_of(
        doc_of(client.get("/publish")).cssselect(".flash")[0]
    )


def test_the_list_shows_each_state_with_its_actions(desk_app: Flask, clock: FakeClock) -> None:
    client = desk(desk_app)
    saved_id(save(client, new_form(client, title="Ein Entwurf", city="rosenheim")))
    saved_id(save(client, new_form(client, title="Entwurf ohne Stadt")))
    add_release(desk_app, title="Eine geplante", published_at=clock.now + timedelta(days=1))
    add_release(desk_app, title="Eine veröffentlichte", minutes_ago=10)
    retract(desk_app, add_release(desk_app, title="Eine zurückgezogene", minutes_ago=20))
    doc = doc_of(client.get("/publish"))
    rows = {
        text_of(row.cssselect("th")[0]): (
            text_of(row.cssselect(".status")[0]),
            [text_of(a).split(":")[0] for a in row.cssselect(".release-table__actions a")],
        )
        for row in doc.cssselect("tbody tr")
    }
    assert rows == {
        "Ein Entwurf": ("Entwurf", ["Bearbeiten", "Vorschau", "Löschen"]),
        "Entwurf ohne Stadt": ("Entwurf", ["Bearbeiten", "Löschen"]),
        "Eine geplante": ("Sperrfrist", ["Bearbeiten", "Ansehen", "Vorschau", "Zurückziehen"]),
        "Eine veröffentlichte": ("Veröffentlicht", ["Bearbeiten", "Zurückziehen"]),
        "Eine zurückgezogene": ("Zurückgezogen", []),
    }
    scheduled = next(row for row in doc.cssselect("tbody tr") if "Eine geplante" in text_of(row))
    assert (
        text_of(scheduled.cssselect("td[data-label=Veröffentlichung]")[0]) == "26. November 2026, 13:00 Uhr"
    )


def test_every_write_of_a_draft_is_in_the_audit_log(desk_app: Flask) -> None:
    client = desk(desk_app)
    draft_id = saved_id(save(client, new_form(client, title=TITLE, city="rosenheim")))
    saved_id(save(client, {**form_of(client, draft_id), "summary": "Kurz."}))
    make_link(client, f"/publish/drafts/{draft_id}/preview")
    [link_id] = _link_ids(desk_app)
    post(client, f"/publish/preview-links/{link_id}/revoke", {})
    post(client, f"/publish/drafts/{draft_id}/delete", {})
    with desk_app.app_context():
        events = db.session().scalars(
            select(AuditEvent).where(AuditEvent.subject_kind == "draft").order_by(AuditEvent.id)
        )
        seen = [(e.action, e.subject_id, e.actor_label, e.address) for e in events]
    actor = ("presse@rosenheim.de", "192.0.2.10")
    assert seen == [
        ("draft.saved", str(draft_id), *actor),
        ("draft.saved", str(draft_id), *actor),
        ("preview.created", str(draft_id), *actor),
        ("preview.revoked", str(draft_id), *actor),
        ("draft.deleted", str(draft_id), *actor),
    ]


def test_a_draft_keeps_its_uploads_and_refuses_a_bad_file_next_to_its_field(desk_app: Flask) -> None:
    client = desk(desk_app)
    fields = new_form(client, title="Innbrücke wieder frei", city="rosenheim", body=BODY)
    sent = client.post(
        "/publish/drafts",
        data={
            **fields,
            "csrf_token": csrf(client, "/publish/new"),
            "images-0-file": (io.BytesIO(camera_jpeg()), "IMG_0815.jpg"),
            "images-0-caption": "Die Innbrücke am Morgen",
            "attachments-0-file": (io.BytesIO(pdf()), "Verkehrsführung.pdf"),
        },
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    draft_id = saved_id(sent)
    kept = form_of(client, draft_id)
    assert kept["images-0-url"].startswith(f"{BASE}/media/"), "the draft names its upload"
    assert kept["attachments-0-url"].startswith(f"{BASE}/media/")
    preview = doc_of(desk_app.test_client().get(make_link(client, f"/publish/drafts/{draft_id}/preview")))
    assert [img.get("alt") for img in preview.cssselect("figure img")] == ["Die Innbrücke am Morgen"]
    assert text_of(preview.cssselect(".attachments")[0]).startswith("Dokumente")
    refused = client.post(
        "/publish/drafts",
        data={
            **new_form(client, title="Mit SVG"),
            "csrf_token": csrf(client, "/publish/new"),
            "images-0-file": (io.BytesIO(SVG_SCRIPT), "plan.svg"),
        },
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    assert refused.status_code == 422
    assert "SVG-Grafiken werden nicht angenommen" in text_of(
        doc_of(refused).cssselect("#f-images-0-file-error")[0]
    )
    assert [title for title, _, _ in drafts_of(desk_app)] == ["Innbrücke wieder frei"]
