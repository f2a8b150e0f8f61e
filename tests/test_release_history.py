"""Corrections keep the versions they replace; major and minor changes; retraction reasons;
no published release moved back into the future (docs/api.md#corrections-and-revisions)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from feedsvc import db
from feedsvc.models import AuditEvent, OutboxEntry, Release, ReleaseRevision
from tests.api_support import RELEASE, field_errors, problem_of, snapshot
from tests.conftest import FakeClock
from tests.desk_support import doc_of

AT_NS = "http://purl.org/atompub/tombstones/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"


def publish(client: FlaskClient, token: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/releases", json={**RELEASE, **changes}, headers=token)
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()
    return created


def patch(client: FlaskClient, token: dict[str, str], release_id: int, **changes: Any) -> Any:
    return client.patch(f"/api/v1/releases/{release_id}", json=changes, headers=token)


def page_of(client: FlaskClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return doc_of(response)


def atom_entry(client: FlaskClient, release_id: int) -> Any:
    parsed = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data)
    assert not parsed.bozo
    return next(entry for entry in parsed.entries if entry.id.endswith(f":release:{release_id}"))


def audit_actions(app: Flask, release_id: int) -> list[str]:
    with app.app_context():
        rows = db.session().scalars(
            select(AuditEvent).where(
                AuditEvent.subject_kind == "release", AuditEvent.subject_id == str(release_id)
            )
        )
        return [row.action for row in rows]


def test_a_major_correction_keeps_the_version_it_replaces_and_shows_what_changed(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    clock.advance(hours=2)
    before = atom_entry(client, created["id"])
    response = patch(
        client,
        token,
        created["id"],
        title="Innbrücke ab Dienstag gesperrt",
        body="<p>Wegen Bauarbeiten ist die Innbrücke ab Dienstag für den Verkehr gesperrt.</p>",
        correction_note="Beginn der Sperrung korrigiert",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["revision"] == 2
    after = atom_entry(client, created["id"])
    assert after.id == before.id and after.link == before.link
    assert after.updated_parsed > before.updated_parsed

    page = page_of(client, created["url"].removeprefix("http://feeds.example.test"))
    history = page.cssselect("section.history li")
    assert len(history) == 1
    assert "Beginn der Sperrung korrigiert" in history[0].text_content()
    version_link = history[0].cssselect("a")[0].get("href")
    assert version_link.endswith("/versions/1")

    earlier = client.get(version_link)
    assert earlier.status_code == 200
    assert 'content="noindex' in earlier.get_data(as_text=True)
    version = doc_of(earlier)
    assert version.cssselect("h1")[0].text_content() == RELEASE["title"]
    # The title, the summary derived from the body, and the body: one word each.
    assert [node.text_content() for node in version.cssselect(".changes h3")] == ["Titel", "Vorspann", "Text"]
    assert [node.text_content() for node in version.cssselect(".changes del")] == ["Montag "] * 3
    assert [node.text_content() for node in version.cssselect(".changes ins")] == ["Dienstag "] * 3
    assert version.cssselect("link[rel=canonical]")[0].get("href") == created["url"]


def test_a_minor_correction_is_carried_quietly(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    clock.advance(hours=1)
    before = atom_entry(client, created["id"])
    etag = client.get("/cities/rosenheim/feed.atom").headers["ETag"]
    response = patch(client, token, created["id"], title="Innbrücke ab Montag gesperrt.", change="minor")
    assert response.status_code == 200
    assert response.get_json()["updated_at"] == created["updated_at"]
    after = atom_entry(client, created["id"])
    assert after.title == "Innbrücke ab Montag gesperrt."
    assert after.updated == before.updated
    assert client.get("/cities/rosenheim/feed.atom").headers["ETag"] != etag
    page = page_of(client, created["url"].removeprefix("http://feeds.example.test"))
    assert not page.cssselect("section.history")
    with api.app_context():
        kinds = [row.kind for row in db.session().scalars(select(OutboxEntry).order_by(OutboxEntry.id))]
        assert kinds[-1] == "corrected_minor"
        kept = db.session().scalars(select(ReleaseRevision)).all()
        assert [(row.revision, row.major) for row in kept] == [(1, False)]
    # The earlier version still has its page (linked from nowhere, not to be indexed).
    assert (
        client.get(f"{created['url'].removeprefix('http://feeds.example.test')}/versions/1").status_code
        == 200
    )


def test_change_must_be_major_or_minor(api: Flask, client: FlaskClient, token: dict[str, str]) -> None:
    created = publish(client, token)
    before = snapshot(api)
    for wrong in ("tiny", 1, None, ["minor"]):
        response = patch(client, token, created["id"], title="Neu", change=wrong)
        assert "change" in field_errors(response)
    assert snapshot(api) == before


def test_a_published_release_is_not_moved_into_the_future(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    before = snapshot(api)
    later = (clock.now + timedelta(days=1)).isoformat()
    response = patch(client, token, created["id"], published_at=later)
    errors = field_errors(response)
    assert "retract" in errors["published_at"]
    assert snapshot(api) == before
    assert client.get(created["url"].removeprefix("http://feeds.example.test")).status_code == 200
    # Moving it into the past is a correction like any other.
    earlier = (clock.now - timedelta(hours=3)).isoformat()
    assert patch(client, token, created["id"], published_at=earlier).status_code == 200


def test_an_embargo_moved_is_one_rescheduled_entry_and_its_versions_stay_private(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    instant = clock.now + timedelta(hours=4)
    created = publish(client, token, published_at=instant.isoformat())
    moved = patch(client, token, created["id"], published_at=(instant + timedelta(hours=2)).isoformat())
    assert moved.status_code == 200
    assert audit_actions(api, created["id"]) == ["release.published", "release.rescheduled"]
    clock.advance(hours=7)
    path = created["url"].removeprefix("http://feeds.example.test")
    assert client.get(path).status_code == 200
    # Nobody saw version 1 (it stood under embargo): no page, no history.
    assert client.get(f"{path}/versions/1").status_code == 404
    assert not page_of(client, path).cssselect("section.history")


def test_a_retraction_reason_is_on_the_410_page_and_in_the_atom_tombstone(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    clock.advance(minutes=5)
    response = client.delete(
        f"/api/v1/releases/{created['id']}", json={"reason": "Termin abgesagt"}, headers=token
    )
    assert response.status_code == 204
    gone = client.get(created["url"].removeprefix("http://feeds.example.test"))
    assert gone.status_code == 410
    assert "Termin abgesagt" in doc_of(gone).cssselect(".error-page__reason")[0].text_content()
    atom = etree.fromstring(client.get("/cities/rosenheim/feed.atom").data)
    tombstone = atom.find(f"{{{AT_NS}}}deleted-entry")
    assert tombstone is not None
    assert tombstone.get("ref") == created["guid"]
    assert tombstone.findtext(f"{{{AT_NS}}}comment") == "Termin abgesagt"
    assert audit_actions(api, created["id"]) == ["release.published", "release.retracted"]


def test_a_retraction_without_a_body_has_no_reason(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token)
    assert client.delete(f"/api/v1/releases/{created['id']}", headers=token).status_code == 204
    atom = etree.fromstring(client.get("/cities/rosenheim/feed.atom").data)
    tombstone = atom.find(f"{{{AT_NS}}}deleted-entry")
    assert tombstone is not None and tombstone.find(f"{{{AT_NS}}}comment") is None


@pytest.mark.parametrize(
    "body",
    [
        {"reason": 5},
        {"reason": "x" * 1001},
        {"why": "Termin abgesagt"},
        ["Termin abgesagt"],
    ],
)
def test_a_bad_retraction_body_is_refused_and_retracts_nothing(
    api: Flask, client: FlaskClient, token: dict[str, str], body: Any
) -> None:
    created = publish(client, token)
    before = snapshot(api)
    response = client.delete(f"/api/v1/releases/{created['id']}", json=body, headers=token)
    problem_of(response, 422)
    assert snapshot(api) == before


def test_a_retraction_body_that_is_no_json_is_refused(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token)
    response = client.delete(
        f"/api/v1/releases/{created['id']}",
        data=b"\xff\xfe reason",
        headers={**token, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/releases/{created['id']}", headers=token).status_code == 200


def test_every_write_leaves_exactly_one_audit_entry(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token, external_id="pm-1")
    # A retry writes nothing, and so records nothing.
    again = client.post("/api/v1/releases", json={**RELEASE, "external_id": "pm-1"}, headers=token)
    assert again.status_code == 200
    # A refused write records nothing.
    assert patch(client, token, created["id"], city="nowhere").status_code == 422
    assert patch(client, token, created["id"], summary="Kurz gesagt").status_code == 200
    assert client.delete(f"/api/v1/releases/{created['id']}", headers=token).status_code == 204
    assert audit_actions(api, created["id"]) == [
        "release.published",
        "release.corrected",
        "release.retracted",
    ]
    with api.app_context():
        entries = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        release_entries = [entry for entry in entries if entry.subject_kind == "release"]
        assert {entry.actor_kind for entry in release_entries} == {"token"}
        correction = json.loads(release_entries[1].detail)
        assert correction == {"change": "major", "fields": ["summary"], "revision": 2}
        assert all(entry.at == clock.now for entry in release_entries)


def test_the_audit_log_cannot_be_rewritten(api: Flask, client: FlaskClient, token: dict[str, str]) -> None:
    publish(client, token)
    with api.app_context():
        session = db.session()
        for statement in ("UPDATE audit_events SET actor_label = 'nobody'", "DELETE FROM audit_events"):
            with pytest.raises(Exception, match="append-only"):
                session.execute(sa_text(statement))
            session.rollback()
        assert session.scalars(select(AuditEvent)).all()


def sa_text(statement: str) -> Any:
    from sqlalchemy import text

    return text(statement)


def test_versions_of_unknown_releases_and_numbers_are_404(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token)
    path = created["url"].removeprefix("http://feeds.example.test")
    for wrong in (f"{path}/versions/1", f"{path}/versions/99999999999", "/releases/999999/versions/1"):
        assert client.get(wrong).status_code == 404, wrong
    assert client.get(f"{path}/versions/x").status_code == 404


def test_an_earlier_version_page_with_an_old_slug_moves_to_the_canonical_one(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    created = publish(client, token)
    clock.advance(minutes=1)
    patch(client, token, created["id"], title="Ganz anders")
    response = client.get(f"/releases/{created['id']}-falsch/versions/1")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(
        created["url"].removeprefix("http://feeds.example.test") + "/versions/1"
    )


def test_kept_versions_hold_what_readers_saw(api: Flask, client: FlaskClient, token: dict[str, str]) -> None:
    created = publish(client, token, summary="Erste Fassung")
    patch(client, token, created["id"], summary="Zweite Fassung")
    patch(client, token, created["id"], summary="Dritte Fassung")
    with api.app_context():
        release = db.session().get(Release, created["id"])
        assert release is not None
        from feedsvc.store.revisions import versions

        kept = versions(db.session(), release)
        assert [version.summary for version in kept] == ["Erste Fassung", "Zweite Fassung", "Dritte Fassung"]
        assert [version.revision for version in kept] == [1, 2, 3]
        assert kept[0].replaced_at is not None and kept[-1].replaced_at is None
        assert isinstance(kept[0].published_at, datetime)
