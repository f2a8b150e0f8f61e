"""Accounts of the desk: argon2 hashes (never passwords) stored, the CLI commands for
users, editors writing for their own cities only through the publishing service, and
the admin pages for users and tokens, with bad input refused clearly everywhere."""

from __future__ import annotations

from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from feedsvc import db
from feedsvc.models import Release, Token, User
from feedsvc.store import accounts
from feedsvc.store.tokens import token_by_secret
from tests.conftest import FakeClock
from tests.desk_support import (
    PASSWORD,
    doc_of,
    is_signed_in,
    make_user,
    post,
    post_bytes,
    session_rows,
    sign_in,
    text_of,
)
from tests.factories import add_release, make_catalog

RELEASE = {"title": "Winterdienst startet", "topics": ["verkehr"], "body": "<p>Ab Montag räumt er.</p>"}


@pytest.fixture
def catalog(app: Flask) -> None:
    make_catalog(app)


def users_in(app: Flask) -> list[User]:
    with app.app_context():
        return list(db.session().scalars(select(User).order_by(User.id)))


def release_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Release)) or 0)


# --- the command line ------------------------------------------------------------------------------


def test_create_user_stores_an_argon2_hash_and_never_the_password(
    app: Flask, runner: FlaskCliRunner, catalog: None
) -> None:
    result = runner.invoke(
        args=["create-user", "--email", "Anna@Rosenheim.de", "--role", "editor", "--city", "rosenheim"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "anna@rosenheim.de (editor: rosenheim) created" in result.output
    (user,) = users_in(app)
    assert user.email == "anna@rosenheim.de" and [city.slug for city in user.cities] == ["rosenheim"]
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    with app.app_context():
        row = db.session().execute(select(User.__table__)).one()
    assert not any(PASSWORD in str(value) for value in row), "the password is nowhere in the row"
    assert accounts.verify_password(user, PASSWORD) and not accounts.verify_password(user, "falsch")


def test_create_user_reads_the_password_from_stdin_and_the_user_signs_in(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, catalog: None
) -> None:
    args = ["create-user", "--email", "chef@example.org", "--role", "admin", "--password-stdin"]
    assert runner.invoke(args=args, input=f"{PASSWORD}\n").exit_code == 0
    assert sign_in(client, "chef@example.org").status_code == 303
    assert "alle Städte" in text_of(doc_of(client.get("/publish")).cssselect(".page-head")[0])


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--email", "anna@rosenheim.de", "--role", "editor", "--city", "atlantis"],
            "",
            "unknown cities: atlantis",
        ),
        (["--email", "anna@rosenheim.de", "--role", "editor"], "", "an editor needs at least one --city"),
        (["--email", "anna@rosenheim.de", "--role", "admin", "--city", "rosenheim"], "", "--city goes with"),
        (["--email", "keine-adresse", "--role", "admin"], "", "--email is not an address"),
        (["--email", "müller@rosenheim.de", "--role", "admin"], "", "--email is not an address"),
        (["--email", "a" * 400 + "@x.de", "--role", "admin"], "", "--email is not an address"),
        (["--email", "  ", "--role", "admin"], "", "--email is empty"),
        (
            ["--email", "anna@rosenheim.de", "--role", "admin", "--name", "N" * 201],
            "",
            "--name may be at most",
        ),
        (["--email", "anna@rosenheim.de", "--role", "admin", "--password-stdin"], "kurz\n", "at least 10"),
        (["--email", "anna@rosenheim.de", "--role", "admin", "--password-stdin"], "\n", "at least 10"),
        (
            ["--email", "anna@rosenheim.de", "--role", "admin", "--password-stdin"],
            b"\xff\xfe kein utf-8 \xff\n",
            "not UTF-8",
        ),
    ],
)
def test_create_user_refuses_bad_input_in_one_line_and_writes_nothing(
    app: Flask, runner: FlaskCliRunner, catalog: None, args: list[str], stdin: str | bytes, message: str
) -> None:
    result = runner.invoke(args=["create-user", *args], input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("\n") == 1, result.output
    assert users_in(app) == []


def test_create_user_refuses_an_unknown_role_and_a_taken_address(
    app: Flask, runner: FlaskCliRunner, catalog: None
) -> None:
    result = runner.invoke(args=["create-user", "--email", "a@b.de", "--role", "chef"])
    assert result.exit_code == 2 and "'chef' is not one of 'editor', 'admin'" in result.output
    make_user(app, "anna@rosenheim.de")
    args = ["create-user", "--email", "ANNA@rosenheim.de", "--role", "admin", "--password-stdin"]
    result = runner.invoke(args=args, input=f"{PASSWORD}\n")
    assert result.exit_code == 2 and "exists already" in result.output
    assert len(users_in(app)) == 1


def test_the_prompt_asks_twice(app: Flask, runner: FlaskCliRunner, catalog: None) -> None:
    args = ["create-user", "--email", "anna@rosenheim.de", "--role", "admin"]
    result = runner.invoke(args=args, input=f"{PASSWORD}\nanders\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0
    assert "do not match" in result.output
    assert PASSWORD not in result.output, "no echo"


def test_list_users_shows_role_state_and_cities_but_no_hash(
    app: Flask, runner: FlaskCliRunner, catalog: None, clock: FakeClock
) -> None:
    make_user(app, "anna@rosenheim.de", cities=("rosenheim", "bad-aibling"), name="Anna Huber")
    make_user(app, "chef@example.org", role="admin", cities=(), password=None)
    lines = runner.invoke(args=["list-users"]).output.splitlines()
    assert [line.split("\t")[1:] for line in lines] == [
        ["anna@rosenheim.de", "editor", "active", "bad-aibling,rosenheim", "password", "Anna Huber"],
        ["chef@example.org", "admin", "active", "*", "link only", ""],
    ]
    assert "$argon2" not in "\n".join(lines)


def test_deactivate_user_signs_the_user_out_everywhere(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, catalog: None
) -> None:
    make_user(app)
    sign_in(client)
    result = runner.invoke(args=["deactivate-user", "Presse@Rosenheim.de"])
    assert result.exit_code == 0 and "deactivated and signed out" in result.output
    assert not is_signed_in(client) and session_rows(app) == []
    assert (
        runner.invoke(args=["deactivate-user", "presse@rosenheim.de"])
        .output.strip()
        .endswith("was already deactivated")
    )
    missing = runner.invoke(args=["deactivate-user", "niemand@rosenheim.de"])
    assert missing.exit_code == 2 and "no user with the e-mail address" in missing.output


def test_set_password_ends_every_session(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, catalog: None
) -> None:
    make_user(app)
    sign_in(client)
    new = "Ein ganz neues Passwort"
    result = runner.invoke(args=["set-password", "presse@rosenheim.de", "--password-stdin"], input=f"{new}\n")
    assert result.exit_code == 0, result.output
    assert not is_signed_in(client)
    assert sign_in(client).status_code == 422
    assert sign_in(client, password=new).status_code == 303
    short = runner.invoke(args=["set-password", "presse@rosenheim.de", "--password-stdin"], input="kurz\n")
    assert short.exit_code == 2 and "at least 10" in short.output
    assert sign_in(app.test_client(), password=new).status_code == 303, "a refused password changes nothing"


# --- editors and admins writing --------------------------------------------------------------------


def test_an_editor_publishes_for_the_press_office_of_its_city(
    app: Flask, client: FlaskClient, catalog: None
) -> None:
    make_user(app, cities=("rosenheim", "bad-aibling"))
    sign_in(client)
    form = doc_of(client.get("/publish/new"))
    assert [option.get("value") for option in form.cssselect("#f-city option")] == [
        "",
        "bad-aibling",
        "rosenheim",
    ]
    response = post(client, "/publish/new", {**RELEASE, "city": "bad-aibling"}, page="/publish/new")
    assert response.status_code == 303
    with app.app_context():
        release = db.session().scalars(select(Release)).one()
        assert release.publisher.name == "Pressestelle Bad Aibling"
    feed = feedparser.parse(client.get("/cities/bad-aibling/feed.atom").data)
    assert [entry.title for entry in feed.entries] == ["Winterdienst startet"]


def test_an_editor_cannot_write_for_another_city(app: Flask, client: FlaskClient, catalog: None) -> None:
    make_user(app)
    elsewhere = add_release(app, city="muenchen", title="Aus München")
    sign_in(client)
    response = post(client, "/publish/new", {**RELEASE, "city": "muenchen"}, page="/publish/new")
    assert response.status_code == 422
    assert "nicht veröffentlichen" in text_of(doc_of(response).cssselect("#f-city-error")[0])
    assert release_count(app) == 1
    assert client.get(f"/publish/{elsewhere}/edit").status_code == 403
    fields = {"title": "Geändert", "city": "muenchen", "body": "<p>x</p>"}
    assert post(client, f"/publish/{elsewhere}/edit", fields, page="/publish").status_code == 403
    assert post(client, f"/publish/{elsewhere}/retract", {}).status_code == 403
    titles = [text_of(cell) for cell in doc_of(client.get("/publish")).cssselect(".release-table tbody th")]
    assert titles == [], "nor does it see that city's releases"


def test_an_admin_user_writes_every_city(app: Flask, client: FlaskClient, catalog: None) -> None:
    make_user(app, "chef@example.org", role="admin", cities=())
    sign_in(client, "chef@example.org")
    assert (
        post(client, "/publish/new", {**RELEASE, "city": "muenchen"}, page="/publish/new").status_code == 303
    )
    with app.app_context():
        assert db.session().scalars(select(Release)).one().publisher.name == "Pressestelle München"


# --- the admin pages --------------------------------------------------------------------------------


@pytest.fixture
def admin(app: Flask, client: FlaskClient, catalog: None) -> FlaskClient:
    make_user(app, "chef@example.org", role="admin", cities=(), name="Chefin vom Dienst")
    sign_in(client, "chef@example.org")
    return client


ADMIN_PAGES = [
    ("GET", "/publish/users"),
    ("POST", "/publish/users"),
    ("POST", "/publish/users/1/deactivate"),
    ("GET", "/publish/tokens"),
    ("POST", "/publish/tokens"),
    ("POST", "/publish/tokens/1/revoke"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_PAGES)
def test_admin_pages_refuse_editors_and_send_strangers_to_sign_in(
    app: Flask, client: FlaskClient, catalog: None, clock: FakeClock, method: str, path: str
) -> None:
    user_id = make_user(app)
    with app.app_context():
        token = Token(role="publisher", secret_hash="0" * 64, created_at=clock())
        db.session().add(token)
        db.session().commit()
    fields = {"email": "neu@rosenheim.de", "role": "admin", "password": PASSWORD}
    stranger = app.test_client()
    answer = stranger.get(path) if method == "GET" else post(stranger, path, fields)
    assert answer.status_code == 303 and answer.headers["Location"] == "/publish"
    sign_in(client)
    answer = client.get(path) if method == "GET" else post(client, path, fields)
    assert answer.status_code == 403
    assert "Administration vorbehalten" in text_of(doc_of(answer).cssselect(".error-page")[0])
    assert [user.id for user in users_in(app) if user.is_active] == [user_id]
    with app.app_context():
        assert db.session().get(Token, token.id).is_active  # type: ignore[union-attr]
    assert not doc_of(client.get("/publish")).cssselect("a[href='/publish/users']"), "nor are they offered"


def test_an_admin_creates_an_editor_who_then_signs_in(app: Flask, admin: FlaskClient) -> None:
    fields = {
        "email": "Neu@Rosenheim.de",
        "name": "  Neue   Kollegin ",
        "role": "editor",
        "cities": ["rosenheim", "bad-aibling"],
        "password": PASSWORD,
    }
    response = post(admin, "/publish/users", fields, page="/publish/users")
    assert response.status_code == 303 and response.headers["Location"] == "/publish/users"
    page = doc_of(admin.get("/publish/users"))
    assert "Benutzer neu@rosenheim.de angelegt." in text_of(page.cssselect(".flash")[0])
    rows = [text_of(row) for row in page.cssselect(".release-table tbody tr")]
    assert any(
        "neu@rosenheim.de" in row and "Bad Aibling, Rosenheim" in row and "Redaktion" in row for row in rows
    )
    editor = app.test_client()
    assert sign_in(editor, "neu@rosenheim.de").status_code == 303
    assert "Neue Kollegin" in text_of(doc_of(editor.get("/publish")).cssselect(".page-head")[0])


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"email": "Bitte geben Sie eine E-Mail-Adresse ein.", "role": "Bitte wählen Sie eine Rolle."}),
        ({"email": "x" * 5000, "role": "admin"}, {"email": "keine E-Mail-Adresse"}),
        ({"email": "neu@rosenheim.de", "role": "editor"}, {"cities": "mindestens eine Stadt"}),
        (
            {"email": "neu@rosenheim.de", "role": "editor", "cities": ["rosenheim", "atlantis"]},
            {"cities": "Unbekannte Stadt: atlantis."},
        ),
        ({"email": "neu@rosenheim.de", "role": "admin", "cities": ["rosenheim"]}, {"cities": "keine aus"}),
        ({"email": "chef@example.org", "role": "admin"}, {"email": "schon ein Konto"}),
        ({"email": "neu@rosenheim.de", "role": "admin", "name": "N" * 300}, {"name": "höchstens 200"}),
        ({"email": "neu\x00@rosenheim.de", "role": "admin"}, {"email": "keine E-Mail-Adresse"}),
        ({"email": "neu@rosenheim.de", "role": "root"}, {"role": "Bitte wählen Sie eine Rolle."}),
        ({"email": "neu@rosenheim.de", "role": "admin", "password": "kurz"}, {"password": "mindestens 10"}),
    ],
)
def test_creating_a_user_with_bad_input_shows_each_error_and_writes_nothing(
    app: Flask, admin: FlaskClient, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    fields.setdefault("password", PASSWORD)
    response = post(admin, "/publish/users", fields, page="/publish/users")
    assert response.status_code == 422
    doc = doc_of(response)
    for field, message in errors.items():
        assert message in text_of(doc.cssselect(f"#f-{field}-error")[0]), field
    assert [user.email for user in users_in(app)] == ["chef@example.org"]
    if "email" in fields and len(fields["email"]) < 100 and "\x00" not in fields["email"]:
        assert doc.cssselect("#f-email")[0].get("value") == fields["email"], "what was typed is kept"


def test_without_e_mail_links_a_new_user_needs_a_password(app: Flask, admin: FlaskClient) -> None:
    fields = {"email": "neu@rosenheim.de", "role": "admin", "password": ""}
    response = post(admin, "/publish/users", fields, page="/publish/users")
    assert response.status_code == 422
    assert "braucht das Konto ein Passwort" in text_of(doc_of(response).cssselect("#f-password-error")[0])


def test_a_form_that_is_not_utf_8_is_a_clear_error(app: Flask, admin: FlaskClient) -> None:
    fields = {"email": b"neu\xff\xfe@rosenheim.de", "role": b"admin", "password": PASSWORD.encode()}
    response = post_bytes(admin, "/publish/users", fields, page="/publish/users")
    assert response.status_code == 422
    assert "keine E-Mail-Adresse" in text_of(doc_of(response).cssselect("#f-email-error")[0])
    assert [user.email for user in users_in(app)] == ["chef@example.org"]


def test_an_admin_deactivates_a_user_who_is_signed_out_at_once(app: Flask, admin: FlaskClient) -> None:
    user_id = make_user(app)
    editor = app.test_client()
    sign_in(editor)
    response = post(admin, f"/publish/users/{user_id}/deactivate", {}, page="/publish/users")
    assert response.status_code == 303
    assert "deaktiviert und überall abgemeldet" in text_of(
        doc_of(admin.get("/publish/users")).cssselect(".flash")[0]
    )
    assert not is_signed_in(editor)
    assert sign_in(editor).status_code == 422


def test_an_admin_cannot_deactivate_themselves_nor_an_unknown_user(app: Flask, admin: FlaskClient) -> None:
    (me,) = users_in(app)
    assert post(admin, f"/publish/users/{me.id}/deactivate", {}, page="/publish/users").status_code == 409
    assert is_signed_in(admin)
    for user_id in (999, 2**40):
        assert (
            post(admin, f"/publish/users/{user_id}/deactivate", {}, page="/publish/users").status_code == 404
        )


def test_an_admin_creates_a_publisher_token_whose_secret_is_shown_once(
    app: Flask, admin: FlaskClient, client: FlaskClient
) -> None:
    fields = {
        "role": "publisher",
        "publisher": "Pressestelle Rosenheim",
        "cities": ["rosenheim"],
        "label": "CMS",
    }
    response = post(admin, "/publish/tokens", fields, page="/publish/tokens")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    secret = str(doc_of(response).cssselect("#f-secret")[0].get("value"))
    assert secret.startswith("fsv_")
    assert secret not in response.headers.get("Set-Cookie", "")
    assert secret.encode() not in admin.get("/publish/tokens").data
    with app.app_context():
        token = token_by_secret(db.session(), secret)
        assert token is not None and token.role == "publisher" and token.label == "CMS"
        assert token.publisher is not None and token.publisher.name == "Pressestelle Rosenheim"
        assert [city.slug for city in token.cities] == ["rosenheim"]
    api = app.test_client().post(
        "/api/v1/releases",
        json={**RELEASE, "city": "rosenheim"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert api.status_code == 201


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"role": "Bitte wählen Sie"}),
        ({"role": "publisher"}, {"publisher": "Namen der Pressestelle", "cities": "mindestens eine Stadt"}),
        (
            {"role": "publisher", "publisher": "P" * 201, "cities": ["rosenheim"]},
            {"publisher": "höchstens 200"},
        ),
        ({"role": "publisher", "publisher": "Neu", "cities": ["atlantis"]}, {"cities": "Unbekannte Stadt"}),
        ({"role": "journalist", "cities": ["rosenheim"]}, {"cities": "keine aus"}),
        ({"role": "admin", "label": "L" * 201}, {"label": "höchstens 200"}),
        ({"role": "superuser"}, {"role": "Bitte wählen Sie"}),
        (
            {"role": "publisher", "publisher": "pressestelle  ROSENHEIM", "cities": ["rosenheim"]},
            {"publisher": "Meinten Sie „Pressestelle Rosenheim“?"},
        ),
    ],
)
def test_creating_a_token_with_bad_input_shows_each_error_and_writes_nothing(
    app: Flask, admin: FlaskClient, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    response = post(admin, "/publish/tokens", fields, page="/publish/tokens")
    assert response.status_code == 422
    for field, message in errors.items():
        assert message in text_of(doc_of(response).cssselect(f"#f-{field}-error")[0]), field
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Token)) == 0


def test_no_token_is_made_for_a_retired_city_or_press_office(app: Flask, admin: FlaskClient) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["catalog", "retire", "city", "bad-aibling"]).exit_code == 0
    fields = {"role": "publisher", "publisher": "Pressestelle Neu", "cities": ["bad-aibling"]}
    response = post(admin, "/publish/tokens", fields, page="/publish/tokens")
    assert response.status_code == 422
    assert "Eingestellte Städte" in text_of(doc_of(response).cssselect("#f-cities-error")[0])
    assert runner.invoke(args=["catalog", "retire", "publisher", "Pressestelle Rosenheim"]).exit_code == 0
    fields = {"role": "publisher", "publisher": "Pressestelle Rosenheim", "cities": ["rosenheim"]}
    response = post(admin, "/publish/tokens", fields, page="/publish/tokens")
    assert response.status_code == 422
    assert "ist eingestellt" in text_of(doc_of(response).cssselect("#f-publisher-error")[0])
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Token)) == 0


def test_names_and_notes_are_kept_as_plain_text(app: Flask, admin: FlaskClient) -> None:
    fields = {
        "email": "neu@rosenheim.de",
        "role": "admin",
        "name": "Anna\x00 <b>Huber</b>",
        "password": PASSWORD,
    }
    assert post(admin, "/publish/users", fields, page="/publish/users").status_code == 303
    assert users_in(app)[-1].name == "Anna Huber"
    token_fields: dict[str, Any] = {
        "role": "publisher",
        "publisher": "Presse\x00stelle <i>Rosenheim</i>",
        "cities": ["rosenheim"],
        "label": "CMS\x00 <script>x</script>",
    }
    response = post(admin, "/publish/tokens", token_fields, page="/publish/tokens")
    assert response.status_code == 200
    with app.app_context():
        token = db.session().scalars(select(Token)).one()
        assert token.label == "CMS" and token.publisher is not None
        assert token.publisher.name == "Pressestelle Rosenheim"


def test_an_admin_revokes_a_token_and_its_sessions_end(app: Flask, admin: FlaskClient) -> None:
    response = post(admin, "/publish/tokens", {"role": "admin", "label": "Landesamt"}, page="/publish/tokens")
    secret = str(doc_of(response).cssselect("#f-secret")[0].get("value"))
    machine = app.test_client()
    assert post(machine, "/publish/sign-in", {"token": secret}).status_code == 303
    with app.app_context():
        token_id = db.session().scalars(select(Token.id)).one()
    response = post(admin, f"/publish/tokens/{token_id}/revoke", {}, page="/publish/tokens")
    assert response.status_code == 303
    assert not is_signed_in(machine)
    refused = app.test_client().post(
        "/api/v1/releases",
        json={**RELEASE, "city": "rosenheim"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert refused.status_code == 401
    with app.app_context():
        assert db.session().get(Token, token_id).is_active is False  # type: ignore[union-attr]
    for unknown in (999, 2**40):
        assert post(admin, f"/publish/tokens/{unknown}/revoke", {}, page="/publish/tokens").status_code == 404
