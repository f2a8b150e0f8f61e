"""One URL per page and feed: trailing slashes and non-canonical slugs redirect (301)
to the canonical URL, with the query string; unknown slugs stay 404."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.web.pages.redirects import canonical_slug
from tests.databases import fill_once
from tests.factories import add_release, make_catalog


@pytest.fixture
def catalog_with_a_release(app: Flask) -> int:
    def fill() -> int:
        make_catalog(app)
        return add_release(app, title="Neue Buslinie 12", topics=("verkehr",), minutes_ago=10)

    return fill_once(app, "a release in Rosenheim, for redirects", fill)


def moved(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 301, (path, response.status_code)
    assert "public" in response.headers["Cache-Control"]
    location: str = response.headers["Location"]
    return location


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/cities/rosenheim/", "/cities/rosenheim"),
        ("/cities/rosenheim//", "/cities/rosenheim"),
        ("/topics/verkehr/", "/topics/verkehr"),
        ("/cities/rosenheim/topics/verkehr/", "/cities/rosenheim/topics/verkehr"),
        ("/regions/region-rosenheim/", "/regions/region-rosenheim"),
        ("/feeds/", "/feeds"),
        ("/feed.atom/", "/feed.atom"),
        ("/cities/rosenheim/feed.rss/", "/cities/rosenheim/feed.rss"),
        ("/sitemap.xml/", "/sitemap.xml"),
    ],
)
@pytest.mark.usefixtures("catalog_with_a_release")
def test_a_trailing_slash_redirects_to_the_page_without_it(
    client: FlaskClient, path: str, target: str
) -> None:
    assert moved(client, path) == target
    assert client.get(target).status_code == 200


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/cities/münchen", "/cities/muenchen"),
        ("/cities/M%C3%BCnchen", "/cities/muenchen"),
        ("/cities/Mu%CC%88nchen", "/cities/muenchen"),  # a decomposed umlaut
        ("/cities/Rosenheim", "/cities/rosenheim"),
        ("/cities/bad_aibling", "/cities/bad-aibling"),
        ("/cities/Bad%20Aibling/", "/cities/bad-aibling"),
        ("/topics/Soziales%20%26%20Familie", "/topics/soziales-familie"),
        ("/cities/M%C3%BCnchen/topics/Kultur", "/cities/muenchen/topics/kultur"),
        ("/regions/Region%20Rosenheim", "/regions/region-rosenheim"),
        ("/cities/M%C3%BCnchen/feed.atom", "/cities/muenchen/feed.atom"),
        ("/topics/VERKEHR/feed.json", "/topics/verkehr/feed.json"),
    ],
)
@pytest.mark.usefixtures("catalog_with_a_release")
def test_non_canonical_slugs_redirect_to_their_transliterated_form(
    client: FlaskClient, path: str, target: str
) -> None:
    assert moved(client, path) == target
    assert client.get(target).status_code == 200


@pytest.mark.usefixtures("catalog_with_a_release")
def test_redirects_keep_the_query_string(client: FlaskClient) -> None:
    assert moved(client, "/cities/M%C3%BCnchen/?q=Tram&after=1-2") == "/cities/muenchen?q=Tram&after=1-2"
    assert moved(client, "/feed.atom/?limit=5") == "/feed.atom?limit=5"


def test_a_release_page_with_another_slug_moves_to_the_canonical_one_with_its_query(
    catalog_with_a_release: int, client: FlaskClient
) -> None:
    canonical = f"/releases/{catalog_with_a_release}-neue-buslinie-12"
    assert moved(client, f"/releases/{catalog_with_a_release}-alter-titel?utm_source=x") == (
        f"{canonical}?utm_source=x"
    )
    assert moved(client, f"{canonical}/") == canonical
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/cities/atlantis",
        "/cities/Atlantis",
        "/cities/atlantis/",
        "/cities/%E2%9C%93",
        "/nirgends/",
        "/topics/M%C3%BCll",
    ],
)
@pytest.mark.usefixtures("catalog_with_a_release")
def test_unknown_slugs_still_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.usefixtures("catalog_with_a_release")
def test_the_api_and_writes_are_never_redirected(client: FlaskClient) -> None:
    assert client.get("/api/v1/cities/").status_code == 404
    assert client.post("/cities/rosenheim/").status_code in (404, 405)


def test_canonical_slugs_are_left_as_they_are() -> None:
    assert canonical_slug("prien-a-chiemsee") == "prien-a-chiemsee"
    assert canonical_slug("München") == "muenchen"
    assert canonical_slug("Straße") == "strasse"
    assert canonical_slug("✓") == ""
