"""Idempotent publishing (docs/api.md#retries, `external_id`): a retried POST returns the stored release,
other content under the same external_id is a 409, and concurrent duplicates cannot create
two rows, on SQLite (a file in WAL mode) and on PostgreSQL when configured."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import Release
from tests.api_support import RELEASE, bearer, make_token, problem_of, snapshot
from tests.conftest import BASE_URL, POSTGRES_URL, FakeClock

RECORD = {**RELEASE, "external_id": "ro-2026-117"}
RACERS = 8


def rows_with_external_id(app: Flask, external_id: str) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Release).where(Release.external_id == external_id)
        return int(db.session().scalar(query) or 0)


def test_a_retried_post_returns_the_stored_release(
    api: Flask, client: FlaskClient, token: dict[str, str], clock: FakeClock
) -> None:
    first = client.post("/api/v1/releases", json=RECORD, headers=token)
    assert first.status_code == 201
    clock.advance(minutes=5)  # the retry comes later: still the same release
    before = snapshot(api)
    retry = client.post("/api/v1/releases", json=RECORD, headers=token)
    assert retry.status_code == 200
    assert retry.get_json() == first.get_json()
    assert snapshot(api) == before


def test_a_retry_is_recognised_by_content_not_by_bytes(client: FlaskClient, token: dict[str, str]) -> None:
    first = client.post("/api/v1/releases", json=RECORD, headers=token).get_json()
    reordered = json.dumps(dict(reversed(list(RECORD.items()))), indent=2, ensure_ascii=True)
    retry = client.post(
        "/api/v1/releases", data=reordered, headers={**token, "Content-Type": "application/json"}
    )
    assert (retry.status_code, retry.get_json()["id"]) == (200, first["id"])


def test_other_content_under_a_known_external_id_is_409_naming_the_release(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    first = client.post("/api/v1/releases", json=RECORD, headers=token).get_json()
    before = snapshot(api)
    response = client.post("/api/v1/releases", json={**RECORD, "title": "Anderer Titel"}, headers=token)
    conflict = problem_of(response, 409)
    assert snapshot(api) == before
    assert str(first["id"]) in conflict["detail"] and "ro-2026-117" in conflict["detail"]
    assert conflict["existing_id"] == first["id"]
    assert conflict["existing_url"] == f"{BASE_URL}/api/v1/releases/{first['id']}"


def test_a_retry_after_a_correction_returns_the_corrected_release(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    first = client.post("/api/v1/releases", json=RECORD, headers=token).get_json()
    client.patch(f"/api/v1/releases/{first['id']}", json={"title": "Korrigiert"}, headers=token)
    before = snapshot(api)
    retry = client.post("/api/v1/releases", json=RECORD, headers=token)
    assert retry.status_code == 200
    assert (retry.get_json()["title"], retry.get_json()["revision"]) == ("Korrigiert", 2)
    assert snapshot(api) == before


def test_a_retry_after_a_retraction_is_409_not_a_resurrection(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    first = client.post("/api/v1/releases", json=RECORD, headers=token).get_json()
    assert client.delete(f"/api/v1/releases/{first['id']}", headers=token).status_code == 204
    before = snapshot(api)
    conflict = problem_of(client.post("/api/v1/releases", json=RECORD, headers=token), 409)
    assert "retracted" in conflict["detail"] and conflict["existing_id"] == first["id"]
    assert snapshot(api) == before


def test_external_ids_are_unique_per_publisher_not_globally(api: Flask, client: FlaskClient) -> None:
    rosenheim = bearer(make_token(api))
    muenchen = bearer(make_token(api, cities=("muenchen",), publisher="Pressestelle München"))
    first = client.post("/api/v1/releases", json=RECORD, headers=rosenheim)
    second = client.post("/api/v1/releases", json={**RECORD, "city": "muenchen"}, headers=muenchen)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["id"] != second.get_json()["id"]


def test_an_admin_retry_of_a_press_office_release_is_recognised(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    # An admin publishes in the name of the city's press office, so the external_id is the same one.
    first = client.post("/api/v1/releases", json=RECORD, headers=token).get_json()
    admin = bearer(make_token(api, role="admin", publisher=None))
    retry = client.post("/api/v1/releases", json=RECORD, headers=admin)
    assert (retry.status_code, retry.get_json()["id"]) == (200, first["id"])


def test_without_external_id_every_post_is_a_new_release(client: FlaskClient, token: dict[str, str]) -> None:
    ids = {client.post("/api/v1/releases", json=RELEASE, headers=token).get_json()["id"] for _ in range(2)}
    assert len(ids) == 2


# --- concurrent duplicates ---------------------------------------------------------------------------


def post_at_once(app: Flask, token: dict[str, str], record: dict[str, Any]) -> list[TestResponse]:
    """POSTs `record` from RACERS threads released together; any exception fails the test."""
    start = threading.Barrier(RACERS, timeout=30)
    responses: list[TestResponse | None] = [None] * RACERS
    failures: list[BaseException] = []

    def send(index: int) -> None:
        client = app.test_client()
        try:
            start.wait()
            responses[index] = client.post("/api/v1/releases", json=record, headers=token)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(response is not None for response in responses)
    return [response for response in responses if response is not None]


def assert_one_release_for_all(app: Flask, responses: list[TestResponse], external_id: str) -> None:
    statuses = sorted(response.status_code for response in responses)
    bodies = [response.get_data(as_text=True) for response in responses]
    assert statuses == [200] * (RACERS - 1) + [201], (statuses, bodies)
    assert len({response.get_json()["id"] for response in responses}) == 1
    assert rows_with_external_id(app, external_id) == 1


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="PostgreSQL only: on SQLite write requests take the write lock before their check "
    "(feedsvc.db.begin_writing), so no two can pass it together",
)
@pytest.mark.usefixtures("insert_rendezvous")
def test_concurrent_duplicates_that_all_passed_the_check_create_one_release(
    api: Flask, token: dict[str, str], integrity_errors: list[BaseException]
) -> None:
    responses = post_at_once(api, token, RECORD)
    assert_one_release_for_all(api, responses, RECORD["external_id"])
    # Every loser really lost at the constraint (and was answered as a retry).
    assert len(integrity_errors) >= RACERS - 1


def test_concurrent_duplicates_sent_at_once_create_one_release(api: Flask, token: dict[str, str]) -> None:
    for attempt in range(3):
        record = {**RECORD, "external_id": f"ro-2026-{attempt}"}
        assert_one_release_for_all(api, post_at_once(api, token, record), record["external_id"])
