"""Sessions of the desk, kept in the database: signing in and out, a cookie copied before
signing out, idle and absolute expiry, sessions ended by deactivation, revocation and a
changed password, the cookie's attributes, the overview of one's sessions, CSRF."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from feedsvc import db
from feedsvc.models import Token, User
from feedsvc.store import accounts
from feedsvc.store.secret_digest import hash_secret
from feedsvc.store.tokens import create_token, revoke_token
from tests.conftest import AppFactory, FakeClock
from tests.desk_support import (
    ADDRESS,
    PASSWORD,
    csrf,
    doc_of,
    is_signed_in,
    make_user,
    post,
    session_rows,
    sign_in,
    text_of,
)
from tests.factories import BY_OPERATOR, make_catalog

NEW_PASSWORD = "Wendelstein im Nebel 1838"


@pytest.fixture
def user_id(app: Flask) -> int:
    make_catalog(app)
    return make_user(app, name="Anna Huber")


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("session", path="/publish")
    assert cookie is not None
    return cookie.value


def client_with_cookie(app: Flask, value: str) -> FlaskClient:
    other = app.test_client()
    other.set_cookie("session", value, path="/publish")
    return other


def test_signing_in_starts_a_session_of_the_user_stored_as_a_hash(
    app: Flask, client: FlaskClient, user_id: int
) -> None:
    response = sign_in(client, "  Presse@Rosenheim.DE ")
    assert response.status_code == 303 and response.headers["Location"] == "/publish"
    with client.session_transaction("/publish") as session:
        assert set(session) == {"desk"}
        secret = session["desk"]
    (row,) = session_rows(app)
    assert row.user_id == user_id and row.token_id is None and row.method == "password"
    assert row.secret_hash == hash_secret(secret) and secret not in row.secret_hash
    assert row.ip_address == ADDRESS
    assert "Anna Huber" in text_of(doc_of(client.get("/publish")).cssselect(".page-head")[0])


def test_signing_out_deletes_the_session_and_a_copied_cookie_is_refused_after(
    app: Flask, client: FlaskClient, user_id: int
) -> None:
    sign_in(client)
    copied = cookie_of(client)
    thief = client_with_cookie(app, copied)
    assert is_signed_in(thief), "the copy works while the session lasts"
    response = post(client, "/publish/sign-out", {})
    assert response.status_code == 303
    assert "Sie sind abgemeldet." in text_of(doc_of(client.get("/publish")).cssselect(".flash")[0])
    assert session_rows(app) == []
    replay = client_with_cookie(app, copied)
    assert not is_signed_in(replay)
    assert replay.get("/publish/new").status_code == 303
    assert replay.get("/publish/account").status_code == 303


def test_a_session_ends_after_the_idle_timeout_and_at_its_absolute_end(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app = make_app(SESSION_IDLE_TIMEOUT=600, SESSION_MAX_AGE=3600)
    make_catalog(app)
    make_user(app)
    client = app.test_client()
    sign_in(client)
    clock.advance(seconds=590)
    assert is_signed_in(client), "a request within the idle time keeps the session"
    clock.advance(seconds=590)
    assert is_signed_in(client), "each request starts the idle time again"
    clock.advance(seconds=601)
    assert not is_signed_in(client), "idle for longer than the timeout"

    sign_in(client)
    for _ in range(6):
        clock.advance(seconds=590)
        assert is_signed_in(client)
    clock.advance(seconds=300)  # 3840 s after sign-in, never idle for 600
    assert not is_signed_in(client), "past the absolute end, however busy"


def test_expired_sessions_are_deleted_at_the_next_sign_in(
    app: Flask, client: FlaskClient, user_id: int, clock: FakeClock
) -> None:
    sign_in(client)
    clock.advance(hours=13)
    sign_in(app.test_client())
    assert len(session_rows(app)) == 1


def test_signing_in_again_ends_the_session_the_cookie_had(
    app: Flask, client: FlaskClient, user_id: int
) -> None:
    sign_in(client)
    first = cookie_of(client)
    sign_in(client)
    assert cookie_of(client) != first
    assert len(session_rows(app)) == 1
    assert not is_signed_in(client_with_cookie(app, first))


def test_deactivating_a_user_ends_its_sessions_at_once(
    app: Flask, client: FlaskClient, user_id: int, clock: FakeClock
) -> None:
    sign_in(client)
    with app.app_context():
        user = db.session().get(User, user_id)
        assert user is not None
        accounts.deactivate_user(db.session(), user, clock(), by=BY_OPERATOR)
        db.session().commit()
    assert session_rows(app) == []
    assert not is_signed_in(client)
    response = sign_in(client)
    assert response.status_code == 422, "a deactivated user cannot sign in again"


def test_a_user_deactivated_behind_the_desks_back_is_signed_out(
    app: Flask, client: FlaskClient, user_id: int
) -> None:
    # Even a row left over (written by an older version, say) signs nobody in for an inactive user.
    sign_in(client)
    with app.app_context():
        user = db.session().get(User, user_id)
        assert user is not None
        user.is_active = False
        db.session().commit()
    assert not is_signed_in(client)


def test_revoking_a_token_ends_the_sessions_signed_in_with_it(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    make_catalog(app)
    with app.app_context():
        token, secret = create_token(db.session(), role="admin", now=clock(), by=BY_OPERATOR)
        db.session().commit()
        token_id = token.id
    response = post(client, "/publish/sign-in", {"token": secret})
    assert response.status_code == 303
    (row,) = session_rows(app)
    assert row.token_id == token_id and row.method == "token"
    with app.app_context():
        found = db.session().get(Token, token_id)
        assert found is not None
        revoke_token(found, clock(), by=BY_OPERATOR)
        db.session().commit()
    assert session_rows(app) == []
    assert not is_signed_in(client)


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(
    app: Flask, client: FlaskClient, user_id: int
) -> None:
    sign_in(client)
    other = app.test_client()
    sign_in(other, address="198.51.100.7")
    fields = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    response = post(client, "/publish/account/password", fields, page="/publish/account")
    assert response.status_code == 303 and response.headers["Location"] == "/publish/account"
    assert "Alle anderen Sitzungen sind beendet" in text_of(
        doc_of(client.get("/publish/account")).cssselect(".flash")[0]
    )
    assert is_signed_in(client)
    assert not is_signed_in(other)
    assert len(session_rows(app)) == 1
    assert sign_in(app.test_client()).status_code == 422, "the old password is gone"
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"current_password": "falsch", "new_password": NEW_PASSWORD}, "current_password", "stimmt nicht"),
        ({"current_password": PASSWORD, "new_password": "kurz"}, "new_password", "mindestens 10"),
        ({"current_password": PASSWORD, "new_password": "x" * 1001}, "new_password", "höchstens 1000"),
        ({"current_password": PASSWORD}, "new_password", "mindestens 10"),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": "anders"},
            "repeat_password",
            "stimmen nicht überein",
        ),
    ],
)
def test_a_password_change_with_bad_input_changes_nothing(
    app: Flask, client: FlaskClient, user_id: int, fields: dict[str, str], field: str, message: str
) -> None:
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    fields.setdefault("repeat_password", fields.get("new_password", ""))
    response = post(client, "/publish/account/password", fields, page="/publish/account")
    assert response.status_code == 422
    assert message in text_of(doc_of(response).cssselect(f"#f-{field}-error")[0])
    assert doc_of(response).cssselect(f"#f-{field}[aria-invalid=true]")
    assert is_signed_in(other), "a refused change ends no session"
    assert sign_in(app.test_client()).status_code == 303, "the password is as it was"


def test_the_account_page_lists_the_sessions_and_ends_another_one(
    app: Flask, client: FlaskClient, user_id: int
) -> None:
    client.environ_base["HTTP_USER_AGENT"] = "Firefox/140 (Büro)"
    sign_in(client)
    laptop = app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = "Safari/18 (Laptop)"
    sign_in(laptop, address="198.51.100.7")
    doc = doc_of(client.get("/publish/account"))
    rows = [text_of(row) for row in doc.cssselect(".session-table tbody tr")]
    assert len(rows) == 2
    assert any("198.51.100.7" in row and "Safari/18 (Laptop)" in row for row in rows)
    assert any("Diese Sitzung" in row and ADDRESS in row for row in rows)
    laptop_row = next(row for row in session_rows(app) if row.ip_address == "198.51.100.7")
    response = post(client, f"/publish/account/sessions/{laptop_row.id}/end", {}, page="/publish/account")
    assert response.status_code == 303
    assert not is_signed_in(laptop)
    assert is_signed_in(client)


def test_nobody_ends_a_session_of_someone_else(app: Flask, client: FlaskClient, user_id: int) -> None:
    make_user(app, "presse@bad-aibling.de", cities=("bad-aibling",))
    sign_in(client)
    other = app.test_client()
    sign_in(other, "presse@bad-aibling.de")
    theirs = next(row for row in session_rows(app) if row.user_id != user_id)
    for session_id in (theirs.id, 2**40):
        response = post(client, f"/publish/account/sessions/{session_id}/end", {}, page="/publish/account")
        assert response.status_code == 404
    assert is_signed_in(other)


def test_ending_all_other_sessions(app: Flask, client: FlaskClient, user_id: int) -> None:
    sign_in(client)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        sign_in(other)
    post(client, "/publish/account/sessions/end-others", {}, page="/publish/account")
    assert is_signed_in(client)
    assert not any(is_signed_in(other) for other in others)


def test_the_cookie_lives_under_publish_only_and_is_http_only_and_same_site(
    client: FlaskClient, user_id: int
) -> None:
    header = sign_in(client).headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert "Path=/publish" in header and "httponly" in attributes and "SameSite=Lax" in header
    assert "secure" not in attributes, "the base URL is http://"
    assert "Set-Cookie" not in client.get("/").headers
    assert "Set-Cookie" not in client.get("/cities/rosenheim").headers


def test_behind_https_the_cookie_is_secure(make_app: AppFactory) -> None:
    app = make_app(BASE_URL="https://presse.example.org")
    make_catalog(app)
    make_user(app)
    client = app.test_client()
    header = sign_in(client).headers["Set-Cookie"]
    assert "Secure" in header.split("; ")


@pytest.mark.parametrize(
    "path",
    [
        "/publish/sign-in/password",
        "/publish/sign-in/link",
        "/publish/sign-out",
        "/publish/account/password",
        "/publish/account/sessions/end-others",
        "/publish/users",
        "/publish/tokens",
    ],
)
def test_every_post_needs_the_sessions_csrf_secret(
    app: Flask, client: FlaskClient, user_id: int, path: str
) -> None:
    make_user(app, "admin@example.org", role="admin", cities=())
    sign_in(client, "admin@example.org")
    fields = {
        "email": "neu@rosenheim.de",
        "password": PASSWORD,
        "role": "admin",
        "new_password": NEW_PASSWORD,
    }
    for token in ("erraten", ""):
        response = client.post(path, data={**fields, "csrf_token": token})
        assert response.status_code == 400, path
        assert "abgelaufen" in text_of(doc_of(response).cssselect(".error-page")[0])
    assert len(session_rows(app)) == 1
    with app.app_context():
        assert db.session().scalars(select(User).where(User.email == "neu@rosenheim.de")).first() is None


def test_the_csrf_secret_before_sign_in_is_not_the_sessions(client: FlaskClient, user_id: int) -> None:
    before = csrf(client)
    sign_in(client)
    after = csrf(client)
    assert before != after
    response = client.post("/publish/sign-out", data={"csrf_token": before})
    assert response.status_code == 400
    assert is_signed_in(client)
