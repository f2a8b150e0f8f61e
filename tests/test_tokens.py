"""API tokens on the command line (docs/api.md#tokens-and-scope): `create-token` shows a
secret once and stores only its SHA-256, `revoke-token` ends it, `list-tokens` never shows
a secret."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from feedsvc import db
from feedsvc.models import Publisher, Token
from feedsvc.store.tokens import token_by_secret
from tests.api_support import RELEASE, bearer, problem_of, snapshot
from tests.conftest import POSTGRES_URL
from tests.factories import make_catalog


@pytest.fixture
def api(app: Flask) -> Flask:
    make_catalog(app)
    return app


def invoke(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=list(args))


def create(runner: FlaskCliRunner, *args: str) -> str:
    """Runs create-token and returns the secret it printed (the only line on stdout)."""
    result = invoke(runner, "create-token", *args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def stored_tokens(app: Flask) -> list[Token]:
    with app.app_context():
        return list(db.session().scalars(select(Token).order_by(Token.id)))


def everything_stored(app: Flask, database_url: str) -> str:
    """Every value of every table, and on SQLite the raw bytes of the database files too."""
    text = repr(snapshot(app))
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                text += file.read_bytes().decode("latin-1")
    return text


@pytest.mark.usefixtures("api")
def test_create_token_prints_a_secret_that_publishes(runner: FlaskCliRunner, client: FlaskClient) -> None:
    result = invoke(runner, "create-token", "--publisher", "Pressestelle Rosenheim", "--city", "rosenheim")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("fsv_") and len(secret) > 40
    assert "shown only now" in result.stderr and secret not in result.stderr
    response = client.post("/api/v1/releases", json=RELEASE, headers=bearer(secret))
    assert response.status_code == 201
    assert response.get_json()["publisher"] == "Pressestelle Rosenheim"


def test_only_the_sha256_of_the_secret_is_stored(
    api: Flask, runner: FlaskCliRunner, database_url: str
) -> None:
    secret = create(runner, "--publisher", "Pressestelle Rosenheim", "--city", "rosenheim")
    (token,) = stored_tokens(api)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = everything_stored(api, database_url)
    assert secret not in stored
    assert secret.removeprefix("fsv_") not in stored


@pytest.mark.usefixtures("api")
def test_every_token_gets_a_new_secret(runner: FlaskCliRunner) -> None:
    secrets = {create(runner, "--admin") for _ in range(3)}
    assert len(secrets) == 3


def test_a_publisher_token_is_scoped_to_the_cities_given(
    api: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    secret = create(
        runner,
        "--publisher",
        "Pressestelle Rosenheim",
        "--city",
        "rosenheim",
        "--city",
        "bad-aibling",
        "--city",
        "rosenheim",
    )
    (token,) = stored_tokens(api)
    assert [city.slug for city in token.cities] == ["bad-aibling", "rosenheim"]
    for city, status in (("rosenheim", 201), ("bad-aibling", 201), ("muenchen", 403)):
        response = client.post("/api/v1/releases", json={**RELEASE, "city": city}, headers=bearer(secret))
        assert response.status_code == status, city


def test_a_new_press_office_is_created_with_its_cities(api: Flask, runner: FlaskCliRunner) -> None:
    create(runner, "--publisher", "Presseamt   Bad Aibling ", "--city", "bad-aibling", "--label", "CMS")
    with api.app_context():
        office = (
            db.session().scalars(select(Publisher).where(Publisher.name == "Presseamt Bad Aibling")).one()
        )
        assert [city.slug for city in office.cities] == ["bad-aibling"]
    (token,) = stored_tokens(api)
    assert (token.role, token.label, token.publisher_id) == ("publisher", "CMS", office.id)


@pytest.mark.usefixtures("api")
def test_an_admin_token_writes_for_any_city(runner: FlaskCliRunner, client: FlaskClient) -> None:
    secret = create(runner, "--admin")
    response = client.post("/api/v1/releases", json={**RELEASE, "city": "muenchen"}, headers=bearer(secret))
    assert response.status_code == 201


@pytest.mark.usefixtures("api")
def test_a_journalist_token_cannot_write(runner: FlaskCliRunner, client: FlaskClient) -> None:
    secret = create(runner, "--journalist")
    problem_of(client.post("/api/v1/releases", json=RELEASE, headers=bearer(secret)), 403)


def test_revoke_token_makes_the_token_401(api: Flask, runner: FlaskCliRunner, client: FlaskClient) -> None:
    secret = create(runner, "--publisher", "Pressestelle Rosenheim", "--city", "rosenheim")
    other = create(runner, "--admin")
    (token, _) = stored_tokens(api)
    result = invoke(runner, "revoke-token", str(token.id))
    assert result.exit_code == 0 and f"token {token.id} revoked" in result.output
    problem_of(client.post("/api/v1/releases", json=RELEASE, headers=bearer(secret)), 401)
    assert client.post("/api/v1/releases", json=RELEASE, headers=bearer(other)).status_code == 201
    with api.app_context():
        assert token_by_secret(db.session(), secret) is None
    (revoked, _) = stored_tokens(api)
    assert not revoked.is_active and revoked.revoked_at is not None


def test_revoking_twice_says_so_and_changes_nothing(api: Flask, runner: FlaskCliRunner) -> None:
    create(runner, "--admin")
    assert invoke(runner, "revoke-token", "1").exit_code == 0
    before = snapshot(api)
    result = invoke(runner, "revoke-token", "1")
    assert result.exit_code == 0 and "already revoked" in result.output
    assert snapshot(api) == before


def test_list_tokens_shows_tokens_but_never_secrets_or_hashes(api: Flask, runner: FlaskCliRunner) -> None:
    publisher_secret = create(
        runner, "--publisher", "Pressestelle Rosenheim", "--city", "rosenheim", "--label", "CMS"
    )
    admin_secret = create(runner, "--admin")
    invoke(runner, "revoke-token", "2")
    result = invoke(runner, "list-tokens")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows == [
        ["1", "publisher", "active", "Pressestelle Rosenheim", "rosenheim", "CMS"],
        ["2", "admin", "revoked", "-", "-", ""],
    ]
    for token in stored_tokens(api):
        assert token.secret_hash not in result.output
    assert publisher_secret not in result.output and admin_secret not in result.output


BAD_OPTIONS: dict[str, tuple[list[str], str]] = {
    "no kind of token": ([], "exactly one of"),
    "admin and publisher": (["--admin", "--publisher", "X", "--city", "rosenheim"], "exactly one of"),
    "admin and journalist": (["--admin", "--journalist"], "exactly one of"),
    "admin with a city": (["--admin", "--city", "rosenheim"], "--city goes with --publisher only"),
    "publisher without a city": (["--publisher", "Pressestelle Rosenheim"], "at least one --city"),
    "publisher without a name": (["--publisher", "  ", "--city", "rosenheim"], "press office's name"),
    "unknown city": (
        ["--publisher", "P", "--city", "rosenheim", "--city", "atlantis"],
        "unknown cities: atlantis",
    ),
    "label too long": (["--admin", "--label", "x" * 201], "--label may be at most 200 characters"),
    "name too long": (["--publisher", "P" * 201, "--city", "rosenheim"], "at most 200 characters"),
}


@pytest.mark.parametrize(("args", "message"), BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_create_token_options_fail_with_a_message_and_write_nothing(
    api: Flask, runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    before = snapshot(api)
    result = invoke(runner, "create-token", *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert result.stdout == ""  # nothing that could be mistaken for a secret
    assert snapshot(api) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999"], "no token with id 999"),
        (["abc"], "is not a valid integer"),
        (["0"], "0"),
        ([], "Missing argument"),
    ],
)
def test_bad_revoke_token_arguments_fail_with_a_message(
    api: Flask, runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    create(runner, "--admin")
    before = snapshot(api)
    result = invoke(runner, "revoke-token", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert snapshot(api) == before


@pytest.mark.skipif(bool(POSTGRES_URL), reason="runs the console script against an SQLite file")
@pytest.mark.usefixtures("api")
def test_the_console_script_prints_the_secret_alone_on_stdout(
    app_config: dict[str, Any], client: FlaskClient
) -> None:
    # The secret on stdout alone lets a script capture it: TOKEN=$(feedsvc create-token ...).
    env = {**os.environ, "FEEDSVC_DATABASE_URL": app_config["DATABASE_URL"]}
    command = [sys.executable, "-c", "from feedsvc.__main__ import main; main()", "create-token", "--admin"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert secret.startswith("fsv_") and "\n" not in secret
    assert client.post("/api/v1/releases", json=RELEASE, headers=bearer(secret)).status_code == 201
