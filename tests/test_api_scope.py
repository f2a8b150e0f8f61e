"""Who may write (docs/api.md#tokens-and-scope): a publisher token writes for its cities only, on create,
patch (including moving a release away) and delete; an admin token writes everywhere; a
journalist token reads embargoed releases but writes nothing; a revoked token is no token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc import db
from feedsvc.models import Token
from feedsvc.store.tokens import revoke_token
from tests.api_support import RELEASE, bearer, make_token, problem_of, snapshot
from tests.conftest import FakeClock
from tests.factories import BY_OPERATOR, add_release


@pytest.fixture
def rosenheim(api: Flask) -> dict[str, str]:
    """A token of Rosenheim's press office, for Rosenheim only."""
    return bearer(make_token(api))


@pytest.fixture
def muenchen_release(api: Flask) -> int:
    return add_release(api, city="muenchen", title="Nur München", minutes_ago=5)


@pytest.fixture
def rosenheim_release(api: Flask) -> int:
    return add_release(api, city="rosenheim", title="Nur Rosenheim", minutes_ago=5)


def forbidden(
    api: Flask, client: FlaskClient, method: str, url: str, token: dict[str, str], **body: Any
) -> str:
    """Sends a write that must be refused with 403 without writing anything; returns the detail."""
    before = snapshot(api)
    response = client.open(url, method=method, json=body or None, headers=token)
    detail: str = problem_of(response, 403)["detail"]
    assert snapshot(api) == before
    return detail


def test_a_publisher_token_publishes_for_its_city(client: FlaskClient, rosenheim: dict[str, str]) -> None:
    assert client.post("/api/v1/releases", json=RELEASE, headers=rosenheim).status_code == 201


def test_a_publisher_token_cannot_publish_for_another_city(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str]
) -> None:
    detail = forbidden(api, client, "POST", "/api/v1/releases", rosenheim, **{**RELEASE, "city": "muenchen"})
    assert "muenchen" in detail


def test_a_token_for_two_cities_publishes_for_both_and_no_third(api: Flask, client: FlaskClient) -> None:
    token = bearer(make_token(api, cities=("rosenheim", "bad-aibling")))
    for city in ("rosenheim", "bad-aibling"):
        response = client.post("/api/v1/releases", json={**RELEASE, "city": city}, headers=token)
        assert response.status_code == 201
    forbidden(api, client, "POST", "/api/v1/releases", token, **{**RELEASE, "city": "muenchen"})


def test_a_publisher_token_cannot_patch_a_release_of_another_city(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str], muenchen_release: int
) -> None:
    detail = forbidden(
        api, client, "PATCH", f"/api/v1/releases/{muenchen_release}", rosenheim, title="Übernommen"
    )
    assert "muenchen" in detail


def test_a_publisher_token_cannot_move_a_release_to_a_city_outside_its_scope(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str], rosenheim_release: int
) -> None:
    detail = forbidden(
        api, client, "PATCH", f"/api/v1/releases/{rosenheim_release}", rosenheim, city="muenchen", title="Weg"
    )
    assert "muenchen" in detail


def test_a_publisher_token_cannot_take_over_a_release_by_moving_it_into_its_scope(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str], muenchen_release: int
) -> None:
    forbidden(api, client, "PATCH", f"/api/v1/releases/{muenchen_release}", rosenheim, city="rosenheim")


def test_a_publisher_token_cannot_retract_a_release_of_another_city(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str], muenchen_release: int
) -> None:
    forbidden(api, client, "DELETE", f"/api/v1/releases/{muenchen_release}", rosenheim)
    assert client.get(f"/api/v1/releases/{muenchen_release}").status_code == 200


def test_a_publisher_token_edits_and_retracts_every_release_of_its_city(
    client: FlaskClient, rosenheim: dict[str, str], rosenheim_release: int
) -> None:
    # Scope is by city: a release imported or published by an admin for Rosenheim is Rosenheim's.
    url = f"/api/v1/releases/{rosenheim_release}"
    assert client.patch(url, json={"title": "Korrigiert"}, headers=rosenheim).status_code == 200
    assert client.delete(url, headers=rosenheim).status_code == 204


def test_an_admin_token_writes_for_every_city(
    api: Flask, client: FlaskClient, muenchen_release: int, rosenheim_release: int
) -> None:
    admin = bearer(make_token(api, role="admin", publisher=None))
    created = client.post("/api/v1/releases", json={**RELEASE, "city": "bad-aibling"}, headers=admin)
    assert created.status_code == 201
    moved = client.patch(f"/api/v1/releases/{muenchen_release}", json={"city": "rosenheim"}, headers=admin)
    assert moved.status_code == 200 and moved.get_json()["city"] == "rosenheim"
    assert client.delete(f"/api/v1/releases/{rosenheim_release}", headers=admin).status_code == 204


def test_a_journalist_token_writes_nothing(api: Flask, client: FlaskClient, rosenheim_release: int) -> None:
    journalist = bearer(make_token(api, role="journalist", publisher=None))
    url = f"/api/v1/releases/{rosenheim_release}"
    assert "journalist" in forbidden(api, client, "POST", "/api/v1/releases", journalist, **RELEASE)
    forbidden(api, client, "PATCH", url, journalist, title="Geändert")
    forbidden(api, client, "DELETE", url, journalist)


def test_an_embargoed_release_is_visible_only_to_tokens_that_may_see_it(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str], clock: FakeClock
) -> None:
    release_id = add_release(api, city="muenchen", published_at=clock.now + timedelta(days=1))
    url = f"/api/v1/releases/{release_id}"
    problem_of(client.get(url), 404)
    problem_of(client.get(url, headers=rosenheim), 404)
    problem_of(client.get(url, headers=bearer("fsv_unknown")), 404)
    muenchen = bearer(make_token(api, cities=("muenchen",), publisher="Pressestelle München"))
    assert client.get(url, headers=muenchen).status_code == 200
    journalist = bearer(make_token(api, role="journalist", publisher=None))
    assert client.get(url, headers=journalist).status_code == 200


def test_a_revoked_token_is_401_everywhere(
    api: Flask, client: FlaskClient, rosenheim: dict[str, str], rosenheim_release: int, clock: FakeClock
) -> None:
    assert client.post("/api/v1/releases", json=RELEASE, headers=rosenheim).status_code == 201
    with api.app_context():
        session = db.session()
        for token in session.query(Token).all():
            revoke_token(token, clock.now, by=BY_OPERATOR)
        session.commit()
    url = f"/api/v1/releases/{rosenheim_release}"
    for method, target, body in (
        ("POST", "/api/v1/releases", {**RELEASE, "title": "Nach dem Widerruf"}),
        ("PATCH", url, {"title": "Nach dem Widerruf"}),
        ("DELETE", url, None),
    ):
        before = snapshot(api)
        problem_of(client.open(target, method=method, json=body, headers=rosenheim), 401)
        assert snapshot(api) == before


def test_scope_is_checked_before_the_body_is_judged(
    client: FlaskClient, rosenheim: dict[str, str], muenchen_release: int
) -> None:
    # A token outside the scope learns nothing about what a valid change would be.
    response = client.patch(f"/api/v1/releases/{muenchen_release}", json={"title": 42}, headers=rosenheim)
    problem_of(response, 403)
