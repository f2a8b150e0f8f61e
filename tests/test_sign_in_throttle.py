"""Throttled sign-in: failures counted per account and per client address in the database
(so across app servers), 429 with Retry-After until the window has passed them, no
account enumeration, and nobody locked out by someone else's failures."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import SignInAttempt
from feedsvc.store import accounts as store_accounts
from tests.conftest import AppFactory, FakeClock
from tests.desk_support import PASSWORD, doc_of, is_signed_in, make_user, post, post_bytes, sign_in, text_of
from tests.factories import make_catalog

ANNA = "anna@rosenheim.de"
BERT = "bert@rosenheim.de"


@pytest.fixture
def accounts(app: Flask) -> None:
    make_catalog(app)
    make_user(app, ANNA)
    make_user(app, BERT)


def error_text(response: TestResponse, field: str = "f-email") -> str:
    return text_of(doc_of(response).cssselect(f"#{field}-error")[0])


def attempts(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(SignInAttempt)) or 0)


def test_twenty_wrong_passwords_are_each_a_clear_error_and_lock_nobody_else_out(
    app: Flask, client: FlaskClient, accounts: None, clock: FakeClock
) -> None:
    answers = [sign_in(client, ANNA, "falsches Passwort") for _ in range(20)]
    assert [answer.status_code for answer in answers] == [422] * 5 + [429] * 15
    for answer in answers[:5]:
        assert "Passwort stimmen nicht" in error_text(answer)
    for answer in answers[5:]:
        assert "Zu viele fehlgeschlagene Anmeldeversuche" in error_text(answer)
        assert "in 15 Minuten" in error_text(answer)
        assert int(answer.headers["Retry-After"]) == 900
        assert "Set-Cookie" not in answer.headers
    # The right password is refused too while the account is locked: it is not even checked.
    assert sign_in(client, ANNA).status_code == 429
    # Another account, from the very same address, signs in.
    bert = app.test_client()
    assert sign_in(bert, BERT).status_code == 303 and is_signed_in(bert)
    assert attempts(app) == 10, "refused attempts are not counted: 5 for Anna, 5 for the address"


def test_the_lock_ends_when_the_window_has_passed_the_failures(
    app: Flask, client: FlaskClient, accounts: None, clock: FakeClock
) -> None:
    for _ in range(3):
        sign_in(client, ANNA, "falsch")
    clock.advance(minutes=10)
    for _ in range(2):
        sign_in(client, ANNA, "falsch")
    refused = sign_in(client, ANNA)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 300, "until the oldest of the five leaves the window"
    clock.advance(seconds=299)
    assert sign_in(client, ANNA).status_code == 429
    clock.advance(seconds=1)
    assert sign_in(client, ANNA).status_code == 303


def test_a_successful_sign_in_forgets_the_accounts_failures(
    app: Flask, client: FlaskClient, accounts: None
) -> None:
    for _ in range(4):
        sign_in(client, ANNA, "falsch")
    assert sign_in(client, ANNA).status_code == 303
    for _ in range(4):
        assert sign_in(app.test_client(), ANNA, "falsch").status_code == 422


def test_an_unknown_address_is_answered_as_a_wrong_password_and_counted_alike(
    app: Flask, client: FlaskClient, accounts: None
) -> None:
    unknown = sign_in(client, "niemand@rosenheim.de", "falsches Passwort")
    wrong = sign_in(client, ANNA, "falsches Passwort")
    assert unknown.status_code == wrong.status_code == 422
    assert error_text(unknown) == error_text(wrong)
    assert unknown.data.replace(b"niemand@rosenheim.de", b"") == wrong.data.replace(ANNA.encode(), b"")
    assert set(unknown.headers.keys()) == set(wrong.headers.keys())
    for _ in range(4):
        sign_in(client, "niemand@rosenheim.de", "x")
    assert sign_in(client, "niemand@rosenheim.de", "x").status_code == 429, "locked like an account"


@pytest.fixture
def real_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2's real parameters (the suite uses its cheapest), so that hashing costs what it does."""
    monkeypatch.setattr(store_accounts, "hasher", PasswordHasher())
    store_accounts._unknown_user_hash.cache_clear()
    yield
    store_accounts._unknown_user_hash.cache_clear()


def test_an_unknown_address_takes_as_long_as_a_wrong_password(
    app: Flask, real_argon2: None, make_app: AppFactory
) -> None:
    make_catalog(app)
    make_user(app, ANNA)
    # A generous limit: enough to see the timing itself, not its noise.
    roomy = make_app(SIGN_IN_MAX_FAILURES=100, SIGN_IN_MAX_FAILURES_PER_ADDRESS=100).test_client()
    sign_in(roomy, "warm@rosenheim.de", "x")  # the first check of a process makes its random hash

    def fastest(email: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            roomy.post(
                "/publish/sign-in/password",
                data={"email": email, "password": "falsch", "csrf_token": csrf_of(roomy)},
            )
            times.append(time.perf_counter() - started)
        return min(times)

    wrong, unknown = fastest(ANNA), fastest("niemand@rosenheim.de")
    # Verifying an argon2 hash is most of either; without it an unknown address would answer
    # in a small fraction of the time.
    assert unknown > wrong * 0.25, (unknown, wrong)


def csrf_of(client: FlaskClient) -> str:
    return str(doc_of(client.get("/publish")).cssselect("input[name=csrf_token]")[0].get("value"))


def test_an_address_failing_for_many_accounts_is_refused_and_others_are_not(
    make_app: AppFactory,
) -> None:
    app = make_app(SIGN_IN_MAX_FAILURES=3, SIGN_IN_MAX_FAILURES_PER_ADDRESS=6)
    make_catalog(app)
    make_user(app, ANNA)
    client = app.test_client()
    statuses = [
        sign_in(client, f"person{number}@rosenheim.de", "falsch", address="203.0.113.5").status_code
        for number in range(8)
    ]
    assert statuses == [422] * 6 + [429] * 2
    assert sign_in(client, ANNA, address="203.0.113.5").status_code == 429
    assert sign_in(app.test_client(), ANNA, address="203.0.113.99").status_code == 303


def test_counts_are_shared_by_every_app_server(make_app: AppFactory) -> None:
    servers = [make_app(), make_app()]
    make_catalog(servers[0])
    make_user(servers[0], ANNA)
    statuses = [sign_in(servers[number % 2].test_client(), ANNA, "falsch").status_code for number in range(6)]
    assert statuses == [422] * 5 + [429]


def test_token_sign_in_is_throttled_per_address(make_app: AppFactory) -> None:
    app = make_app(SIGN_IN_MAX_FAILURES_PER_ADDRESS=3)
    make_catalog(app)
    client = app.test_client()
    statuses = [post(client, "/publish/sign-in", {"token": f"fsv_falsch{n}"}).status_code for n in range(5)]
    assert statuses == [422, 422, 422, 429, 429]
    refused = post(client, "/publish/sign-in", {"token": "fsv_noch_einer"})
    assert "Zu viele" in error_text(refused, "f-token") and refused.headers["Retry-After"]
    other = post(app.test_client(), "/publish/sign-in", {"token": "fsv_falsch"}, address="198.51.100.1")
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({}, 422, "Bitte geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein."),
        ({"email": ANNA}, 422, "Bitte geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein."),
        ({"password": PASSWORD}, 422, "Bitte geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein."),
        ({"email": "a" * 100_000 + "@x.de", "password": PASSWORD}, 422, "Passwort stimmen nicht"),
        ({"email": ANNA, "password": "p" * 500_000}, 422, "Passwort stimmen nicht"),
        ({"email": "<script>alert(1)</script>", "password": "x"}, 422, "Passwort stimmen nicht"),
        ({"email": "anna\x00@rosenheim.de", "password": "x\x00"}, 422, "Passwort stimmen nicht"),
    ],
)
def test_bad_sign_in_input_is_a_clear_error(
    client: FlaskClient, accounts: None, fields: dict[str, str], status: int, message: str
) -> None:
    response = post(client, "/publish/sign-in/password", fields)
    assert response.status_code == status
    assert message in error_text(response)
    assert b"<script>alert" not in response.data


def test_a_form_that_is_not_utf_8_is_a_clear_error(app: Flask, client: FlaskClient, accounts: None) -> None:
    fields = {"email": ANNA.encode(), "password": PASSWORD.encode("latin-1", "replace") + b"\xe4\xff"}
    response = post_bytes(client, "/publish/sign-in/password", fields)
    assert response.status_code == 422
    assert "Passwort stimmen nicht" in error_text(response)
    fields = {"email": b"anna\xff@rosenheim.de", "password": PASSWORD.encode()}
    assert post_bytes(client, "/publish/sign-in/password", fields).status_code == 422
    assert attempts(app) == 4
