"""Every error the API can answer is problem+json (RFC 9457) with the status docs/api.md#errors names,
bad input is never a 500, and a failed request writes nothing."""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from tests.api_support import RELEASE, bearer, field_errors, make_token, problem_of, snapshot
from tests.databases import fill_once
from tests.factories import add_release, make_catalog
from tests.loopback import running

LIMIT = 8192


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A small body limit keeps the 413 tests fast; the default (1 MB) is tested on its own.
    return {**app_config, "MAX_CONTENT_LENGTH": LIMIT}


@pytest.fixture
def api(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Bestehende Meldung", minutes_ago=5)

    fill_once(app, "the catalog and one release, for API errors", fill)
    return app


@pytest.fixture
def token(api: Flask) -> dict[str, str]:
    return bearer(make_token(api))


def post_raw(
    client: FlaskClient, data: bytes | str, token: dict[str, str], content_type: str = "application/json"
) -> Any:
    return client.post("/api/v1/releases", data=data, headers={**token, "Content-Type": content_type})


def refused_without_writing(
    api: Flask, response_of: Callable[[], TestResponse], status: int
) -> dict[str, Any]:
    before = snapshot(api)
    body = problem_of(response_of(), status)
    assert snapshot(api) == before
    return body


# --- 400 malformed JSON ------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"title": "Innbr',
    "trailing comma": b'{"title": "a",}',
    "single quotes": b"{'title': 'a'}",
    "empty body": b"",
    "not UTF-8": '{"title": "Grüße"}'.encode("latin-1"),
    "UTF-8 encoded surrogate": b'{"title": "\xed\xa0\x80"}',
    "NaN": b'{"title": "a", "images": [{"url": "https://a.test/b.jpg", "length": NaN}]}',
    "Infinity": b'{"title": "a", "images": [{"url": "https://a.test/b.jpg", "length": -Infinity}]}',
    "integer of 5000 digits": b'{"images": [{"url": "https://a.test/b.jpg", "length": '
    + b"9" * 5000
    + b"}]}",
    "nested depth bomb": b"[" * 2000 + b"]" * 2000,
    "nested 100 levels in a field": b'{"title": ' + b"[" * 100 + b"]" * 100 + b"}",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_json_is_400(api: Flask, client: FlaskClient, token: dict[str, str], data: bytes) -> None:
    body = refused_without_writing(api, lambda: post_raw(client, data, token), 400)
    assert "errors" not in body


@pytest.mark.parametrize("data", [b'{"title": ', b"\xff\xfe"])
def test_malformed_json_in_a_patch_is_400(
    api: Flask, client: FlaskClient, token: dict[str, str], data: bytes
) -> None:
    refused_without_writing(
        api,
        lambda: client.patch(
            "/api/v1/releases/1", data=data, headers={**token, "Content-Type": "application/json"}
        ),
        400,
    )


def test_malformed_json_says_where(client: FlaskClient, token: dict[str, str]) -> None:
    body = problem_of(post_raw(client, b'{\n  "title": "a",\n  "body": }', token), 400)
    assert "line 3" in body["detail"]


# --- 401 missing, bad or revoked token -----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer fsv_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token fsv_abc"},
    ],
    ids=["none", "empty", "scheme only", "empty secret", "unknown secret", "basic", "other scheme"],
)
@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_writing_without_a_valid_token_is_401(
    api: Flask, client: FlaskClient, headers: dict[str, str], method: str
) -> None:
    url = "/api/v1/releases" if method == "POST" else "/api/v1/releases/1"

    def response_of() -> TestResponse:
        return client.open(url, method=method, json=RELEASE, headers=headers)

    refused_without_writing(api, response_of, 401)
    assert response_of().headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_with_a_changed_character_is_401(api: Flask, client: FlaskClient) -> None:
    secret = make_token(api)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    refused_without_writing(
        api, lambda: client.post("/api/v1/releases", json=RELEASE, headers=bearer(wrong)), 401
    )
    assert client.post("/api/v1/releases", json=RELEASE, headers=bearer(secret)).status_code == 201


@pytest.mark.usefixtures("api")
def test_authentication_comes_before_reading_the_body(client: FlaskClient) -> None:
    problem_of(post_raw(client, b"{broken", {}), 401)
    problem_of(post_raw(client, b"x" * (LIMIT + 1), {}), 401)


# --- 403 (see test_api_scope.py for every scope rule) ---------------------------------------------


def test_writing_outside_the_tokens_scope_is_403(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    body = refused_without_writing(
        api, lambda: client.post("/api/v1/releases", json={**RELEASE, "city": "muenchen"}, headers=token), 403
    )
    assert "muenchen" in body["detail"]


# --- 404 unknown id, slug or URL -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("release_id", ["999", "0", str(2**31 - 1), str(2**31), str(2**63), "9" * 40])
def test_an_unknown_release_is_404(
    api: Flask, client: FlaskClient, token: dict[str, str], method: str, release_id: str
) -> None:
    def response_of() -> TestResponse:
        return client.open(
            f"/api/v1/releases/{release_id}", method=method, json={"title": "x"}, headers=token
        )

    refused_without_writing(api, response_of, 404)


@pytest.mark.parametrize("bad", ["\u0000", "Ros\u0000enheim", "x" * 101, "M\u00fcnchen"])
def test_a_city_or_topic_that_is_no_slug_is_422_also_with_other_errors(
    api: Flask, client: FlaskClient, token: dict[str, str], bad: str
) -> None:
    # Not looked up at all: PostgreSQL refuses even to compare with a NUL byte.
    def response_of() -> TestResponse:
        return client.post(
            "/api/v1/releases", json={"title": "", "body": "", "city": bad, "topics": [bad]}, headers=token
        )

    body = refused_without_writing(api, response_of, 422)
    assert {"city", "topics.0", "title"} <= {error["field"] for error in body["errors"]}


@pytest.mark.parametrize(
    "query", ["city=nirgendwo", "topic=nichts", "region=mars", "city=rosenheim&topic=nichts", "city="]
)
@pytest.mark.usefixtures("api")
def test_listing_with_an_unknown_slug_is_404(client: FlaskClient, query: str) -> None:
    body = problem_of(client.get(f"/api/v1/releases?{query}"), 404)
    assert "unknown" in body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing",
        "/api/v2/releases",
        "/api/v1/releases/abc",
        "/api/v1/releases/-1",
        "/api/v1/releases/1/x",
    ],
)
@pytest.mark.usefixtures("api")
def test_unknown_api_urls_are_404_problems(client: FlaskClient, path: str) -> None:
    problem_of(client.get(path), 404)


@pytest.mark.usefixtures("api")
def test_unknown_urls_outside_the_api_keep_the_sites_own_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype != "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/releases", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("DELETE", "/api/v1/releases", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("POST", "/api/v1/releases/1", {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}),
        ("PUT", "/api/v1/releases/1", {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}),
        ("DELETE", "/api/v1/cities", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("DELETE", "/api/v1/cities/rosenheim", {"GET", "HEAD", "PATCH", "OPTIONS"}),
    ],
)
def test_a_wrong_method_is_a_405_problem_with_allow(
    api: Flask, client: FlaskClient, token: dict[str, str], method: str, path: str, allowed: set[str]
) -> None:
    def response_of() -> TestResponse:
        return client.open(path, method=method, json=RELEASE, headers=token)

    refused_without_writing(api, response_of, 405)
    assert set(response_of().headers["Allow"].split(", ")) == allowed


# --- 400 bad list parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=abc",
        "limit=",
        "since=gestern",
        "since=2026-11-25T12:00:00",
        "since=2026-11-25",
        "since=0001-01-01T00:00:00%2B05:00",
        "after=x",
        "after=999999999999999999-1",
    ],
)
@pytest.mark.usefixtures("api")
def test_bad_list_parameters_are_400(client: FlaskClient, query: str) -> None:
    body = problem_of(client.get(f"/api/v1/releases?{query}"), 400)
    assert query.split("=")[0] in body["detail"]


# --- 413 too large ---------------------------------------------------------------------------------


def oversized() -> bytes:
    return json.dumps({**RELEASE, "body": "<p>" + "ä" * LIMIT + "</p>"}).encode()


def test_a_body_over_the_limit_is_413(api: Flask, client: FlaskClient, token: dict[str, str]) -> None:
    body = refused_without_writing(api, lambda: post_raw(client, oversized(), token), 413)
    assert str(LIMIT) in body["detail"]


def test_a_body_of_exactly_the_limit_is_read(client: FlaskClient, token: dict[str, str]) -> None:
    document = json.dumps(RELEASE).encode()
    padded = document[:-1] + b" " * (LIMIT - len(document)) + b"}"
    assert len(padded) == LIMIT
    assert post_raw(client, padded, token).status_code == 201


def test_a_too_large_content_length_is_refused_before_the_body_is_read(
    client: FlaskClient, token: dict[str, str]
) -> None:
    class Unreadable(io.BytesIO):
        """Announces LIMIT + 1 bytes but fails the test if anything reads them."""

        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the body was read")

        def readinto(self, buffer: Any) -> int:
            raise AssertionError("the body was read")

    response = client.post(
        "/api/v1/releases",
        input_stream=Unreadable(b"{" * (LIMIT + 1)),
        headers={**token, "Content-Type": "application/json"},
    )
    assert response.request.content_length == LIMIT + 1
    problem_of(response, 413)


def chunked(client: FlaskClient, data: bytes, token: dict[str, str]) -> Any:
    """A body without Content-Length, as a server passes on a chunked request."""
    return client.post(
        "/api/v1/releases",
        input_stream=io.BytesIO(data),
        headers={**token, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_413_not_cut_off(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    refused_without_writing(api, lambda: chunked(client, oversized(), token), 413)
    # One byte over is enough: werkzeug's own limit would pass the first LIMIT bytes on.
    document = json.dumps(RELEASE).encode()
    one_over = document[:-1] + b" " * (LIMIT + 1 - len(document)) + b"}"
    refused_without_writing(api, lambda: chunked(client, one_over, token), 413)


def test_a_chunked_body_within_the_limit_is_accepted(client: FlaskClient, token: dict[str, str]) -> None:
    assert chunked(client, json.dumps(RELEASE).encode(), token).status_code == 201


@pytest.fixture
def server(api: Flask) -> Iterator[str]:
    """The app behind werkzeug's HTTP server, which decodes chunked bodies itself."""
    httpd = make_server("127.0.0.1", 0, api, threaded=True)
    with running(httpd):
        yield f"127.0.0.1:{httpd.server_port}"


def post_chunked_over_http(host: str, body: bytes, token: dict[str, str]) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(host, timeout=30)
    headers = {**token, "Content-Type": "application/json"}
    chunks = (body[start : start + 1000] for start in range(0, len(body), 1000))
    try:
        connection.request("POST", "/api/v1/releases", body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def test_a_real_chunked_request_over_the_limit_is_413(api: Flask, server: str, token: dict[str, str]) -> None:
    before = snapshot(api)
    status, content_type, body = post_chunked_over_http(server, oversized(), token)
    assert (status, content_type) == (413, "application/problem+json")
    assert json.loads(body)["status"] == 413
    assert snapshot(api) == before
    status, _, body = post_chunked_over_http(server, json.dumps(RELEASE).encode(), token)
    assert status == 201, body


@pytest.fixture
def app_from_environment(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Flask]]:
    """Builds apps from the environment (no MAX_CONTENT_LENGTH in the test config)."""
    from feedsvc import create_app, db
    from feedsvc.migrations import runner

    built: list[Flask] = []

    def build() -> Flask:
        app = create_app({key: value for key, value in app_config.items() if key != "MAX_CONTENT_LENGTH"})
        with app.app_context():
            runner.upgrade(db.engine())
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine().dispose()


def test_the_default_limit_is_one_megabyte(app_from_environment: Callable[[], Flask]) -> None:
    assert app_from_environment().config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_the_limit_comes_from_the_environment(
    app_from_environment: Callable[[], Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDSVC_MAX_CONTENT_LENGTH", "2048")
    app = app_from_environment()
    make_catalog(app)
    secret = make_token(app)
    padded = json.dumps({**RELEASE, "summary": "x" * 2048}).encode()
    response = app.test_client().post(
        "/api/v1/releases", data=padded, headers={**bearer(secret), "Content-Type": "application/json"}
    )
    assert "2048" in problem_of(response, 413)["detail"]


# --- 415 not JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_body_that_is_not_declared_json_is_415(
    api: Flask, client: FlaskClient, token: dict[str, str], content_type: str, method: str
) -> None:
    url = "/api/v1/releases" if method == "POST" else "/api/v1/releases/1"
    headers = {**token, "Content-Type": content_type} if content_type else token

    def response_of() -> TestResponse:
        return client.open(url, method=method, data=json.dumps(RELEASE), headers=headers)

    body = refused_without_writing(api, response_of, 415)
    assert "application/json" in body["detail"]


def test_json_with_a_charset_parameter_is_json(client: FlaskClient, token: dict[str, str]) -> None:
    response = post_raw(client, json.dumps(RELEASE), token, content_type="application/json; charset=utf-8")
    assert response.status_code == 201


# --- 422 invalid fields ----------------------------------------------------------------------------

INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "title as number": ({"title": 42}, "title"),
    "title as null": ({"title": None}, "title"),
    "title of markup only": ({"title": "<b></b>"}, "title"),
    "title of forbidden characters only": ({"title": "\x01\x02\ud800"}, "title"),
    "title too long": ({"title": "W" * 301}, "title"),
    "huge title": ({"title": "W" * 3500}, "title"),
    "body as list": ({"body": ["<p>a</p>"]}, "body"),
    "body without text": ({"body": "<script>alert(1)</script><p> </p>"}, "body"),
    "city unknown": ({"city": "atlantis"}, "city"),
    "city not a slug": ({"city": "Rosenheim"}, "city"),
    "city with a final newline": ({"city": "rosenheim\n"}, "city"),
    "topics as string": ({"topics": "verkehr"}, "topics"),
    "topic unknown": ({"topics": ["verkehr", "verkeh"]}, "topics.1"),
    "eleven topics": ({"topics": [f"t{n}" for n in range(11)]}, "topics"),
    "images as object": ({"images": {"url": "https://a.test/b.jpg", "length": 1}}, "images"),
    "image url relative": ({"images": [{"url": "/b.jpg", "length": 1}]}, "images.0.url"),
    "image url javascript": ({"images": [{"url": "javascript:alert(1)", "length": 1}]}, "images.0.url"),
    "image length as string": (
        {"images": [{"url": "https://a.test/b.jpg", "length": "12"}]},
        "images.0.length",
    ),
    "image length as boolean": (
        {"images": [{"url": "https://a.test/b.jpg", "length": True}]},
        "images.0.length",
    ),
    "image length negative": ({"images": [{"url": "https://a.test/b.jpg", "length": -1}]}, "images.0.length"),
    "image without length": ({"images": [{"url": "https://a.test/b.jpg"}]}, "images.0.length"),
    "image type not an image": (
        {"images": [{"url": "https://a.test/b.jpg", "length": 1, "type": "text/html"}]},
        "images.0.type",
    ),
    "published_at without offset": ({"published_at": "2026-11-25T09:00:00"}, "published_at"),
    "published_at as date": ({"published_at": "2026-11-25"}, "published_at"),
    "published_at as number": ({"published_at": 1764061200}, "published_at"),
    "published_at before 1970": ({"published_at": "1969-12-31T23:00:00+00:00"}, "published_at"),
    "published_at in year 1 east of UTC": ({"published_at": "0001-01-01T00:00:00+05:00"}, "published_at"),
    "published_at in year 9999 west of UTC": ({"published_at": "9999-12-31T23:59:59-05:00"}, "published_at"),
    "source_url javascript": ({"source_url": "javascript:alert(1)"}, "source_url"),
    "source_url relative": ({"source_url": "/presse/1"}, "source_url"),
    "contact email invalid": ({"contact": {"email": "presse at rosenheim"}}, "contact.email"),
    "contact as string": ({"contact": "presse@rosenheim.de"}, "contact"),
    "language not a tag": ({"language": "deutsch!"}, "language"),
    "language with a final newline": ({"language": "de\n"}, "language"),
    "summary too long": ({"summary": "s" * 1001}, "summary"),
    "author empty": ({"author": "   "}, "author"),
    "external_id empty": ({"external_id": ""}, "external_id"),
    "external_id with a newline": ({"external_id": "a\nb"}, "external_id"),
    "unknown field": ({"titel": "Tippfehler"}, "titel"),
}


@pytest.mark.parametrize(("changes", "field"), INVALID.values(), ids=INVALID.keys())
def test_invalid_fields_are_422_naming_the_field(
    api: Flask, client: FlaskClient, token: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    def response_of() -> TestResponse:
        return client.post("/api/v1/releases", json={**RELEASE, **changes}, headers=token)

    before = snapshot(api)
    errors = field_errors(response_of())
    assert snapshot(api) == before
    assert field in errors, errors


@pytest.mark.parametrize("field", ["title", "body", "city"])
def test_a_missing_required_field_is_named(client: FlaskClient, token: dict[str, str], field: str) -> None:
    record = {key: value for key, value in RELEASE.items() if key != field}
    errors = field_errors(client.post("/api/v1/releases", json=record, headers=token))
    assert errors == {field: "Field required"}


def test_every_invalid_field_is_reported_at_once(client: FlaskClient, token: dict[str, str]) -> None:
    record = {"title": 1, "body": 2, "city": "Ro senheim", "topics": "x", "published_at": "morgen"}
    assert set(field_errors(client.post("/api/v1/releases", json=record, headers=token))) == {
        "title",
        "body",
        "city",
        "topics",
        "published_at",
    }


def test_field_messages_are_english_sentences(client: FlaskClient, token: dict[str, str]) -> None:
    record = {**RELEASE, "topics": ["verkeh"], "source_url": "ftp://x", "images": [{"url": "https://a.test"}]}
    errors = field_errors(client.post("/api/v1/releases", json=record, headers=token))
    assert errors["source_url"] == "must be an absolute http(s) URL"
    assert errors["images.0.length"] == "Field required"
    record = {**RELEASE, "topics": ["verkeh"]}
    assert field_errors(client.post("/api/v1/releases", json=record, headers=token)) == {
        "topics.0": "unknown topic 'verkeh'"
    }


BODIES_NOT_OBJECTS = {
    "null": b"null",
    "array": b"[]",
    "array of a release": b"[{}]",
    "string": b'"a"',
    "number": b"1",
}


@pytest.mark.parametrize("data", BODIES_NOT_OBJECTS.values(), ids=BODIES_NOT_OBJECTS.keys())
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_body_that_is_not_an_object_is_422(
    api: Flask, client: FlaskClient, token: dict[str, str], data: bytes, method: str
) -> None:
    url = "/api/v1/releases" if method == "POST" else "/api/v1/releases/1"

    def response_of() -> TestResponse:
        return client.open(
            url, method=method, data=data, headers={**token, "Content-Type": "application/json"}
        )

    before = snapshot(api)
    assert field_errors(response_of()) == {"(body)": "must be a JSON object"}
    assert snapshot(api) == before


PATCHES_INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "title removed": ({"title": None}, "title"),
    "body removed": ({"body": None}, "body"),
    "city removed": ({"city": None}, "city"),
    "topics removed": ({"topics": None}, "topics"),
    "published_at removed": ({"published_at": None}, "published_at"),
    "language removed": ({"language": None}, "language"),
    "city unknown": ({"city": "atlantis"}, "city"),
    "topics as string": ({"topics": "kultur"}, "topics"),
    "published_at without offset": ({"published_at": "2026-11-25 09:00"}, "published_at"),
    "unknown field": ({"revision": 7}, "revision"),
    "external_id cannot change": ({"external_id": "neu"}, "external_id"),
}


@pytest.mark.parametrize(("changes", "field"), PATCHES_INVALID.values(), ids=PATCHES_INVALID.keys())
def test_invalid_patches_are_422_naming_the_field(
    api: Flask, client: FlaskClient, token: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    before = snapshot(api)
    errors = field_errors(client.patch("/api/v1/releases/1", json=changes, headers=token))
    assert snapshot(api) == before
    assert field in errors, errors


# --- problem details are the same everywhere --------------------------------------------------------


def test_problem_titles_are_the_http_status_phrases(client: FlaskClient, token: dict[str, str]) -> None:
    answers = [
        client.get("/api/v1/releases/999"),
        post_raw(client, b"{", token),
        client.post("/api/v1/releases", json={}, headers=token),
        client.post("/api/v1/releases", json=RELEASE),
        client.put("/api/v1/releases"),
    ]
    for response in answers:
        assert problem_of(response, response.status_code)["title"] == HTTPStatus(response.status_code).phrase
