"""The OpenAPI document at /api/v1/openapi.json describes what the API really does.

First what the document promises, checked against real answers; then schemathesis
generates requests from the document (valid and invalid ones, with an admin token so that
the write paths run) and checks that no answer is a server error or strays from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.hooks import HookContext, HookDispatcher, HookScope
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from feedsvc import db
from feedsvc.store import catalog
from feedsvc.web.api.openapi import document
from tests.api_support import RELEASE, bearer, make_token
from tests.conftest import Fill
from tests.factories import CITIES, REGIONS, TOPICS, add_release, make_catalog
from tests.media_support import pdf, png
from tests.webhook_support import cycle, register

OPERATIONS = [
    (method.upper(), path)
    for path, item in document()["paths"].items()
    for method in item
    if method in {"get", "post", "patch", "delete"}
]
WITHOUT_INPUT = {"/api/v1/cities", "/api/v1/topics", "/api/v1/regions", "/api/v1/publishers"}
CATALOG_COLLECTIONS = ("cities", "regions", "topics", "publishers")
EMPTY_REGION = "landkreis-ebersberg"
SEEDED_RELEASES = 8
# Per operation and mode, as many as the suite's time allows. Each run draws new examples (no
# example database), so what one run leaves out the next may try.
EXAMPLES = 25
# A newsroom's endpoint the fixture registers (nothing is sent: no worker runs here).
NEWSROOM_URL = "https://newsroom.example.test/hooks/feedsvc"
WEBHOOK_OPERATIONS = {
    ("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks/{webhook_id}"),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"),
    ("POST", "/api/v1/webhooks/{webhook_id}/enable"),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"),
}


@pytest.fixture
def api(app: Flask, fill_once: Fill) -> Flask:
    def fill() -> None:
        make_catalog(app)
        with app.app_context():
            # A region without cities, which may be retired.
            catalog.upsert_region(db.session(), EMPTY_REGION, "Landkreis Ebersberg", "Bayern")
            db.session().commit()
        register(app, NEWSROOM_URL)  # webhook 1, which the releases are fanned out to
        for minutes in range(SEEDED_RELEASES):
            add_release(app, minutes_ago=minutes, topics=("verkehr",))
        cycle(app, app.config["CLOCK"])

    fill_once("the API's catalog, releases and webhook", fill)
    return app


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    loaded: dict[str, Any] = response.get_json()
    return loaded


def responses_of(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"][path][method.lower()]["responses"]
    return found


# --- what the document promises ------------------------------------------------------------------


@pytest.mark.usefixtures("api")
def test_the_document_is_openapi_3_1_with_every_endpoint(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert set(OPERATIONS) >= WEBHOOK_OPERATIONS
    assert set(OPERATIONS) - WEBHOOK_OPERATIONS == {
        ("GET", "/api/v1/releases"),
        ("POST", "/api/v1/releases"),
        ("GET", "/api/v1/releases/{release_id}"),
        ("PATCH", "/api/v1/releases/{release_id}"),
        ("DELETE", "/api/v1/releases/{release_id}"),
        ("POST", "/api/v1/media"),
        ("POST", "/api/v1/subscriptions"),
        ("GET", "/api/v1/subscriptions/{key}"),
    } | {
        (method, path.format(collection))
        for collection in CATALOG_COLLECTIONS
        for method, path in (
            ("GET", "/api/v1/{}"),
            ("POST", "/api/v1/{}"),
            ("GET", "/api/v1/{}/{{key}}"),
            ("PATCH", "/api/v1/{}/{{key}}"),
            ("POST", "/api/v1/{}/{{key}}/merge"),
            ("POST", "/api/v1/{}/{{key}}/retire"),
        )
    }
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


@pytest.mark.usefixtures("api")
def test_the_input_schema_is_the_validating_model(spec: dict[str, Any]) -> None:
    release_in = spec["components"]["schemas"]["ReleaseIn"]
    assert set(release_in["required"]) == {"title", "body", "city"}
    assert release_in["additionalProperties"] is False
    assert release_in["properties"]["topics"]["maxItems"] == 10
    assert spec["components"]["schemas"]["ReleasePatch"].get("required", []) == []


@pytest.mark.usefixtures("api")
def test_writes_declare_the_errors_they_answer(spec: dict[str, Any]) -> None:
    for method in ("POST", "PATCH"):
        path = "/api/v1/releases" if method == "POST" else "/api/v1/releases/{release_id}"
        declared = responses_of(spec, method, path)
        assert {"400", "401", "403", "413", "415", "422"} <= set(declared), method
        assert declared["413"]["content"]["application/problem+json"]
    assert "409" in responses_of(spec, "POST", "/api/v1/releases")
    assert {"404", "410"} <= set(responses_of(spec, "PATCH", "/api/v1/releases/{release_id}"))
    assert {"401", "403", "404", "410"} <= set(responses_of(spec, "DELETE", "/api/v1/releases/{release_id}"))


def test_a_new_release_answers_201_with_the_declared_location(
    api: Flask, client: FlaskClient, spec: dict[str, Any]
) -> None:
    created = responses_of(spec, "POST", "/api/v1/releases")["201"]
    assert created["headers"]["Location"]["required"] is True
    response = client.post("/api/v1/releases", json=RELEASE, headers=bearer(make_token(api)))
    assert response.status_code == 201 and response.headers["Location"].startswith("http")


def test_a_retraction_answers_204_without_content_as_declared(
    api: Flask, client: FlaskClient, spec: dict[str, Any]
) -> None:
    declared = responses_of(spec, "DELETE", "/api/v1/releases/{release_id}")["204"]
    assert "content" not in declared
    response = client.delete("/api/v1/releases/1", headers=bearer(make_token(api)))
    assert (
        response.status_code == 204 and response.get_data() == b"" and "Content-Type" not in response.headers
    )


def test_the_request_examples_are_accepted(api: Flask, client: FlaskClient, spec: dict[str, Any]) -> None:
    token = bearer(make_token(api))
    post = spec["paths"]["/api/v1/releases"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert client.post("/api/v1/releases", json=post, headers=token).status_code == 201
    item = spec["paths"]["/api/v1/releases/{release_id}"]
    patch = item["patch"]["requestBody"]["content"]["application/json"]["example"]
    assert client.patch("/api/v1/releases/1", json=patch, headers=token).status_code == 200


# --- schemathesis ----------------------------------------------------------------------------------


def known_values() -> HookDispatcher:
    """Steers half of the valid requests to slugs and ids that exist, so that they get past
    "unknown city" and "no release with id" to the writes; the other half stays random."""
    hooks = HookDispatcher(scope=HookScope.TEST)

    def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
        if not isinstance(body, dict):
            return st.just(body)
        known = {key: st.just(value) for key, value in body.items()}
        path = context.operation.path if context.operation is not None else ""
        method = context.operation.method.upper() if context.operation is not None else ""
        if path == "/api/v1/media":
            # Random bytes are no image: real files too, so that uploads really run.
            known["file"] = st.sampled_from([png(64, 48), pdf(1)])
        elif path.startswith("/api/v1/releases") and method != "DELETE":  # a retraction names no city
            known["city"] = st.sampled_from(sorted(CITIES))
            known["topics"] = st.lists(st.sampled_from(sorted(TOPICS)), unique=True)
        else:
            # The catalog: the region a city is in, the cities of a press office, and what
            # a merge goes into name entries that exist.
            steered = {
                "region": st.sampled_from(sorted(REGIONS)),
                "cities": st.lists(st.sampled_from(sorted(CITIES)), unique=True),
                "into": catalog_keys(path),
                # A webhook's filter and URL (an https URL the schema cannot tell).
                "regions": st.lists(st.sampled_from(sorted(REGIONS)), unique=True),
                "topics": st.lists(st.sampled_from(sorted(TOPICS)), unique=True),
                "url": st.just(NEWSROOM_URL),
            }
            known |= {key: steered[key] for key in body if key in steered}
            if known.keys() & steered.keys():
                # Always: the negative requests are the ones with names that are no slugs.
                return st.fixed_dictionaries(known)
        return st.one_of(st.just(body), st.fixed_dictionaries(known))

    def flatmap_query(_context: HookContext, query: Any) -> st.SearchStrategy[Any]:
        if not isinstance(query, dict):
            return st.just(query)
        slugs = {
            "city": sorted(CITIES),
            "topic": sorted(TOPICS),
            "region": ["region-rosenheim", "muenchen-region"],
        }
        known = {
            key: st.sampled_from(slugs[key]) if key in slugs else st.just(value)
            for key, value in query.items()
        }
        return st.one_of(st.just(query), st.fixed_dictionaries(known))

    def flatmap_path_parameters(context: HookContext, parameters: Any) -> st.SearchStrategy[Any]:
        if isinstance(parameters, dict) and "webhook_id" in parameters:
            # The fixture's webhook 1 and its first deliveries, first: hypothesis favours the first
            # branch, and a redelivery must run, not only be refused for an unknown id.
            steered = {"webhook_id": st.just(1), "delivery_id": st.integers(min_value=1, max_value=3)}
            known = {name: steered.get(name, st.just(value)) for name, value in parameters.items()}
            return st.one_of(st.fixed_dictionaries(known), st.just(parameters))
        if isinstance(parameters, dict) and "key" in parameters and context.operation is not None:
            path = context.operation.path
            # Only a region without cities may be retired: steer to it, or no retirement runs.
            retirable = path == "/api/v1/regions/{key}/retire"
            entries = st.just(EMPTY_REGION) if retirable else catalog_keys(path)
            # Existing entries first: hypothesis favours the first branch, and the writes must run.
            return st.one_of(entries.map(lambda key: {**parameters, "key": key}), st.just(parameters))
        if not isinstance(parameters, dict) or "release_id" not in parameters:
            return st.just(parameters)
        existing = st.integers(min_value=1, max_value=SEEDED_RELEASES + 2)
        # Existing ids first: hypothesis favours the first branch, and the writes must run.
        return st.one_of(
            existing.map(lambda release_id: {**parameters, "release_id": release_id}), st.just(parameters)
        )

    for hook in (flatmap_body, flatmap_query, flatmap_path_parameters):
        hooks.register_hook_with_name(hook, hook.__name__)
    return hooks


def catalog_keys(path: str) -> st.SearchStrategy[Any]:
    """The slugs (press offices: ids) of the entries the catalog path is about."""
    if path.startswith("/api/v1/publishers"):
        return st.integers(min_value=1, max_value=len(CITIES))
    if path.startswith("/api/v1/regions"):
        return st.sampled_from(sorted([*REGIONS, EMPTY_REGION]))
    if path.startswith("/api/v1/topics"):
        return st.sampled_from(sorted(TOPICS))
    return st.sampled_from(sorted(CITIES))


@pytest.fixture
def api_schema(api: Flask) -> Iterator[tuple[Any, dict[str, str]]]:
    admin = bearer(make_token(api, role="admin", publisher=None))
    # No cache, no example database: nothing is written into the working tree.
    config = SchemathesisConfig.from_dict(
        {
            "cache": {"enabled": False},
            "generation": {"database": "none"},
            # A generated body can be larger than the request limit: 413 refuses it as well.
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 410, 413, 415, 422]
                }
            },
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api, config=config)
    share_source_constants(schema)
    yield schema, admin


# schemathesis draws values from the constants in feedsvc's source, which it reads again for
# each app (about half a second); every test's app runs the same code, so what it read for
# the first app of the process serves them all.
_SOURCE_CONSTANTS: list[Any] = []


def share_source_constants(schema: Any) -> None:
    if not hasattr(schema, "_constants_pool_cache"):  # a schemathesis that reads no source
        return
    from schemathesis.python._constants.orchestrator import build_constants_pool
    from schemathesis.python._constants.registry import default_registry

    if _SOURCE_CONSTANTS:
        schema._constants_pool_cache = (schema.app, default_registry().version, _SOURCE_CONSTANTS[0])
    else:
        _SOURCE_CONSTANTS.append(build_constants_pool(schema))


GENERATED = [
    pytest.param(method, path, mode, id=f"{method} {path} {'valid' if mode.is_positive else 'invalid'}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Without parameters or a body there is no invalid request to make.
    if mode.is_positive or path not in WITHOUT_INPUT
]


@pytest.mark.parametrize(("method", "path", "mode"), GENERATED)
def test_generated_requests_get_no_server_error_and_conforming_answers(
    api_schema: tuple[Any, dict[str, str]], method: str, path: str, mode: GenerationMode
) -> None:
    schema, admin = api_schema
    operation = schema[path][method]
    hooks = known_values() if mode == GenerationMode.POSITIVE else None
    statuses: Counter[int] = Counter()
    excluded = [positive_data_acceptance]
    if path == "/api/v1/media":
        # A multipart body cannot tell a field made an empty list from a field left out: both
        # send no part, so such "invalid" uploads are valid ones. They must still not fail.
        excluded.append(negative_data_rejection)

    @given(case=operation.as_strategy(generation_mode=mode, hooks=hooks))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        # Every check but positive_data_acceptance: a request can fit the schema and still be
        # refused for what only the database knows (an unknown city slug is 422, a retracted
        # release 410, a cursor that points nowhere 400). Negative data must be refused (4xx).
        # A negative case may be one without credentials: it is sent without, and must be
        # refused for that (401), not be given the admin's token and so stop being negative.
        credentials = admin if mode.is_positive or "Authorization" in (case.headers or {}) else None
        response = case.call_and_validate(headers=credentials, excluded_checks=excluded)
        statuses[response.status_code] += 1

    check()
    if path not in WITHOUT_INPUT:  # one request is all there is to send to those
        assert sum(statuses.values()) >= EXAMPLES // 2
    if mode == GenerationMode.POSITIVE and method != "GET":
        # The writes really ran, not only their refusals.
        assert statuses.keys() & {200, 201, 202, 204}, statuses
