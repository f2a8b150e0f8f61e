"""HTTP behaviour of the pages: security headers on every HTML response, no inline
script, conditional GET, how long caches may keep a page, no cookies on public pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html

from tests.conftest import FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog

PUBLIC_PAGES = [
    "/",
    "/cities/rosenheim",
    "/topics/kultur",
    "/cities/rosenheim/topics/kultur",
    "/regions/region-rosenheim",
    "/feeds",
]


@pytest.fixture
def one_rosenheim_release(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Kulturnacht", topics=("kultur",), minutes_ago=60)

    fill_once(app, "one release in Rosenheim, for HTTP headers", fill)
    return app


def csp_directives(header: str) -> dict[str, list[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/releases/1", "/nirgends", "/publish"])
@pytest.mark.usefixtures("one_rosenheim_release")
def test_every_html_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path, follow_redirects=True)
    assert response.mimetype == "text/html"
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/releases/1", "/publish"])
@pytest.mark.usefixtures("one_rosenheim_release")
def test_pages_run_no_inline_script(client: FlaskClient, path: str) -> None:
    doc = html.fromstring(client.get(path, follow_redirects=True).data)
    for script in doc.iter("script"):
        assert script.get("src") or script.get("type") == "application/ld+json"
    assert not [name for element in doc.iter() for name in element.attrib if str(name).startswith("on")]
    assert not doc.cssselect("[style]") and not doc.cssselect("style")


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/releases/1-kulturnacht"])
@pytest.mark.usefixtures("one_rosenheim_release")
def test_public_pages_answer_a_repeated_request_with_304(client: FlaskClient, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_a_new_release_changes_the_etag_of_its_pages(
    one_rosenheim_release: Flask, client: FlaskClient
) -> None:
    before = client.get("/cities/rosenheim").headers["ETag"]
    add_release(one_rosenheim_release, title="Noch eine Meldung", minutes_ago=1)
    response = client.get("/cities/rosenheim", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before


@pytest.mark.usefixtures("one_rosenheim_release")
def test_head_requests_work_on_pages(client: FlaskClient) -> None:
    response = client.head("/cities/rosenheim")
    assert response.status_code == 200 and response.data == b""


@pytest.mark.parametrize("path", PUBLIC_PAGES)
@pytest.mark.usefixtures("one_rosenheim_release")
def test_public_pages_may_be_cached_for_a_minute_and_set_no_cookie(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_an_overview_is_cached_until_the_next_grid_point_whatever_is_scheduled(
    one_rosenheim_release: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    """The max-age ends on the expiry grid (a full minute): a pending embargo lift shortens
    nothing, so the answer tells nobody of it."""
    clock.advance(seconds=15)
    add_release(one_rosenheim_release, title="Sperrfrist", published_at=clock.now + timedelta(seconds=30))
    assert client.get("/cities/rosenheim").headers["Cache-Control"] == "public, max-age=45"
    assert client.get("/cities/muenchen").headers["Cache-Control"] == "public, max-age=45"


@pytest.mark.usefixtures("one_rosenheim_release")
def test_the_publish_form_is_never_stored(client: FlaskClient) -> None:
    response = client.get("/publish")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers


@pytest.mark.usefixtures("one_rosenheim_release")
def test_errors_under_the_api_stay_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nirgends")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404
    response = client.delete("/api/v1/cities")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/cities/rosenheim"), ("DELETE", "/feed.atom"), ("PUT", "/feeds")]
)
@pytest.mark.usefixtures("one_rosenheim_release")
def test_a_wrong_method_outside_the_api_answers_a_german_page_naming_the_allowed_ones(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "Nicht erlaubt" in response.get_data(as_text=True)
    assert "GET" in response.headers["Allow"]
    assert response.headers["Content-Security-Policy"]
