"""The audit log from the desk and the command line: who did what, when, from where
(docs/operations.md#the-audit-log); retraction reasons and minor corrections in the desk."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from feedsvc import db
from feedsvc.models import AuditEvent, Release
from tests.api_support import bearer, make_token
from tests.desk_support import ADDRESS, doc_of, make_user, post, sign_in, text_of
from tests.factories import add_release, make_catalog
from tests.media_support import png


@pytest.fixture
def desk(app: Flask) -> Flask:
    make_catalog(app)
    make_user(app, "presse@rosenheim.de")
    make_user(app, "admin@rosenheim.de", role="admin", cities=())
    return app


def entries(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session().expunge_all()
        return list(rows)


def release_id(app: Flask) -> int:
    return add_release(app, title="Stadtrat tagt", city="rosenheim", topics=("verkehr",), minutes_ago=5)


def test_signing_in_and_out_is_recorded_with_the_address(desk: Flask, client: FlaskClient) -> None:
    assert sign_in(client).status_code == 303
    assert post(client, "/publish/sign-out", {}).status_code == 303
    recorded = [entry for entry in entries(desk) if entry.actor_kind == "user"]
    assert [entry.action for entry in recorded] == ["user.signed_in", "user.signed_out"]
    assert {entry.actor_label for entry in recorded} == {"presse@rosenheim.de"}
    assert {entry.address for entry in recorded} == {ADDRESS}
    assert json.loads(recorded[0].detail) == {"method": "password"}


def test_a_wrong_password_records_nothing(desk: Flask, client: FlaskClient) -> None:
    before = len(entries(desk))
    assert sign_in(client, password="falsch falsch falsch").status_code in (401, 422)
    assert len(entries(desk)) == before


def test_a_retraction_from_the_desk_carries_its_reason(desk: Flask, client: FlaskClient) -> None:
    sign_in(client)
    ident = release_id(desk)
    form = doc_of(client.get(f"/publish/{ident}/retract"))
    assert form.cssselect("textarea[name=reason]")
    too_long = post(
        client, f"/publish/{ident}/retract", {"reason": "x" * 1001}, page=f"/publish/{ident}/retract"
    )
    assert too_long.status_code == 422
    assert "1000 Zeichen" in text_of(doc_of(too_long))
    done = post(
        client,
        f"/publish/{ident}/retract",
        {"reason": "Sitzung verschoben"},
        page=f"/publish/{ident}/retract",
    )
    assert done.status_code == 303
    with desk.app_context():
        release = db.session().get(Release, ident)
        assert release is not None
        assert release.retraction_reason == "Sitzung verschoben"
    retracted = [entry for entry in entries(desk) if entry.action == "release.retracted"]
    assert len(retracted) == 1
    assert retracted[0].actor_label == "presse@rosenheim.de" and retracted[0].address == ADDRESS
    assert json.loads(retracted[0].detail)["reason"] == "Sitzung verschoben"


def test_a_minor_correction_from_the_desk_keeps_updated(desk: Flask, client: FlaskClient) -> None:
    sign_in(client)
    ident = release_id(desk)
    form = doc_of(client.get(f"/publish/{ident}/edit"))
    choices = form.cssselect("input[name=change]")
    assert [(choice.get("value"), choice.get("checked") is not None) for choice in choices] == [
        ("major", True),
        ("minor", False),
    ]
    fields = {
        field.get("name"): field.get("value") or field.text or ""
        for field in form.cssselect("input[name], textarea[name]")
        if field.get("type") not in ("checkbox", "radio", "hidden")
    }
    with desk.app_context():
        before = db.session().get(Release, ident)
        assert before is not None
        updated_before = before.updated_at
    fields |= {"title": "Stadtrat tagt.", "topics": "verkehr", "change": "minor", "city": "rosenheim"}
    response = post(client, f"/publish/{ident}/edit", fields, page=f"/publish/{ident}/edit")
    assert response.status_code == 303, text_of(doc_of(response))
    with desk.app_context():
        after = db.session().get(Release, ident)
        assert after is not None
        assert after.title == "Stadtrat tagt." and after.revision == 2
        assert after.updated_at == updated_before
    corrected = [entry for entry in entries(desk) if entry.action == "release.corrected"]
    assert json.loads(corrected[-1].detail)["change"] == "minor"


def test_only_admins_see_the_audit_log(desk: Flask, client: FlaskClient) -> None:
    sign_in(client)
    assert client.get("/publish/audit").status_code == 403
    post(client, "/publish/sign-out", {})
    sign_in(client, "admin@rosenheim.de")
    page = client.get("/publish/audit")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    rows = doc_of(page).cssselect("table.audit-table tbody tr")
    actions = [text_of(row.cssselect("th")[0]) for row in rows]
    assert actions[0] == "Angemeldet"
    assert "Benutzer angelegt" in actions


def test_the_audit_page_filters_by_action_and_release_and_ignores_nonsense(
    desk: Flask, client: FlaskClient
) -> None:
    sign_in(client, "admin@rosenheim.de")
    ident = release_id(desk)
    post(client, f"/publish/{ident}/retract", {"reason": "doppelt"}, page=f"/publish/{ident}/retract")
    only = doc_of(client.get("/publish/audit?action=release.retracted"))
    assert [text_of(row.cssselect("th")[0]) for row in only.cssselect("tbody tr")] == ["Zurückgezogen"]
    of_release = doc_of(client.get(f"/publish/audit?release={ident}"))
    assert len(of_release.cssselect("tbody tr")) == 1
    for nonsense in ("?action=drop", "?release=-1", "?release=99999999999", "?before=x", "?release=%C2%B2"):
        assert client.get(f"/publish/audit{nonsense}").status_code == 200, nonsense
    # A control character in a query is refused for every page, this one too.
    assert client.get("/publish/audit?release=%00").status_code == 400


def test_feedsvc_audit_prints_lines_and_json(
    desk: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    sign_in(client)
    ident = release_id(desk)
    post(
        client, f"/publish/{ident}/retract", {"reason": "Termin\tabgesagt"}, page=f"/publish/{ident}/retract"
    )
    lines = runner.invoke(args=["audit", "--release", str(ident)])
    assert lines.exit_code == 0, lines.output
    fields = lines.output.strip().split("\t")
    assert fields[2] == "user:presse@rosenheim.de"
    assert fields[3] == ADDRESS
    assert fields[4:6] == ["release.retracted", f"release:{ident}"]
    as_json = runner.invoke(args=["audit", "--action", "user.created", "--json"])
    assert as_json.exit_code == 0
    created = [json.loads(line) for line in as_json.output.splitlines()]
    assert {entry["detail"]["email"] for entry in created} == {"presse@rosenheim.de", "admin@rosenheim.de"}
    assert all(entry["actor"]["kind"] == "command" for entry in created)


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "--since", "gestern"],
        ["audit", "--action", "release.deleted"],
        ["audit", "--subject", "release"],
        ["audit", "--subject", "planet:1"],
        ["audit", "--release", "0"],
        ["audit", "--release", "1", "--subject", "user:1"],
        ["audit", "--limit", "0"],
    ],
)
def test_feedsvc_audit_refuses_bad_options_clearly(
    desk: Flask, runner: FlaskCliRunner, args: list[str]
) -> None:
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "Error" in result.output


def test_tokens_made_and_revoked_in_the_desk_are_recorded(desk: Flask, client: FlaskClient) -> None:
    sign_in(client, "admin@rosenheim.de")
    made = post(
        client,
        "/publish/tokens",
        {"role": "journalist", "label": "Lokalredaktion"},
        page="/publish/tokens",
    )
    assert made.status_code == 200
    token = next(entry for entry in entries(desk) if entry.action == "token.created")
    assert token.actor_label == "admin@rosenheim.de"
    assert json.loads(token.detail)["label"] == "Lokalredaktion"
    revoked = post(client, f"/publish/tokens/{token.subject_id}/revoke", {}, page="/publish/tokens")
    assert revoked.status_code == 303
    assert [entry.action for entry in entries(desk) if entry.subject_kind == "token"] == [
        "token.created",
        "token.revoked",
    ]


def test_an_upload_is_recorded_once(desk: Flask, client: FlaskClient) -> None:
    token = bearer(make_token(desk))
    for _ in range(2):  # the same file again is the same upload: nothing new to record
        answer = client.post(
            "/api/v1/media",
            data={"file": (io.BytesIO(png(64, 48)), "rathaus.png"), "caption": "Rathaus"},
            headers=token,
            content_type="multipart/form-data",
        )
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    uploaded = [entry for entry in entries(desk) if entry.action == "media.uploaded"]
    assert len(uploaded) == 1
    assert uploaded[0].actor_kind == "token" and json.loads(uploaded[0].detail)["type"] == "image/png"
