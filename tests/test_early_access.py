"""Releases under embargo for the people entitled to them: journalists follow the links of
their feeds to the page marked SPERRFRIST, the press office sees its own, nobody else sees
anything, and nothing of it is stored by a cache (docs/pages.md#sperrfrist). Also: the
API's warning when relative links were dropped (docs/api.md#warnings)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_support import RELEASE, make_token
from tests.conftest import FakeClock
from tests.desk_support import doc_of, make_user, sign_in
from tests.factories import add_release

TITLE = "Haushalt unter Sperrfrist"


@pytest.fixture
def embargoed(api: Flask, clock: FakeClock) -> int:
    return add_release(api, title=TITLE, published_at=clock.now + timedelta(days=2))


def journalist_link(client: FlaskClient, secret: str) -> str:
    feed = client.get("/cities/rosenheim/feed.json", headers={"Authorization": f"Bearer {secret}"})
    item = next(item for item in json.loads(feed.data)["items"] if item["title"] == TITLE)
    url: str = item["url"]
    return url.removeprefix("http://feeds.example.test")


def assert_private_embargo_page(response: object) -> None:
    from werkzeug.test import TestResponse

    assert isinstance(response, TestResponse)
    assert response.status_code == 200, response.status_code
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = doc_of(response)
    assert "SPERRFRIST" in page.cssselect(".notice--embargo")[0].text_content()
    assert page.cssselect("h1")[0].text_content() == TITLE
    assert str(page.cssselect("meta[name=robots]")[0].get("content")).startswith("noindex")


def test_a_journalist_follows_the_feed_link_to_the_page_marked_sperrfrist(
    api: Flask, client: FlaskClient, clock: FakeClock, embargoed: int
) -> None:
    link = journalist_link(client, make_token(api, "journalist"))
    assert link.startswith(f"/early/{embargoed}/")
    # Whoever follows the link (the journalist's browser sends no token) sees the page.
    assert_private_embargo_page(client.get(link))
    clock.advance(days=3)
    after = client.get(link)
    assert after.status_code == 303
    assert after.headers["Location"].startswith(f"/releases/{embargoed}-")
    assert client.get(after.headers["Location"]).status_code == 200


def test_a_forged_or_foreign_early_link_is_an_unknown_page(
    api: Flask, client: FlaskClient, embargoed: int
) -> None:
    link = journalist_link(client, make_token(api, "journalist"))
    signature = link.rsplit("/", 1)[1]
    unknown = client.get("/early/999999/" + signature)
    for wrong in (
        f"/early/{embargoed}/{signature[:-1]}x",
        f"/early/{embargoed}/",
        f"/early/{embargoed}/{'a' * 5000}",
        f"/early/{embargoed + 1}/{signature}",
        f"/early/99999999999/{signature}",
    ):
        response = client.get(wrong)
        assert response.status_code == 404, wrong
        assert TITLE.encode() not in response.data
    assert unknown.status_code == 404 and "no-store" in unknown.headers["Cache-Control"]


def test_a_journalist_token_opens_the_release_page_itself_before_the_lift(
    api: Flask, client: FlaskClient, embargoed: int
) -> None:
    secret = make_token(api, "journalist")
    anonymous = client.get(f"/releases/{embargoed}")
    assert anonymous.status_code == 404
    assert_private_embargo_page(
        client.get(f"/releases/{embargoed}", headers={"Authorization": f"Bearer {secret}"})
    )
    basic = base64.b64encode(f"redaktion:{secret}".encode()).decode()
    assert_private_embargo_page(
        client.get(f"/releases/{embargoed}", headers={"Authorization": f"Basic {basic}"})
    )


@pytest.mark.parametrize("authorization", ["Bearer fsv_not-a-token", "Basic %%%", "Bearer", "Negotiate abc"])
def test_other_credentials_see_an_unknown_page(
    api: Flask, client: FlaskClient, embargoed: int, authorization: str
) -> None:
    unknown = client.get(f"/releases/{embargoed}")
    response = client.get(f"/releases/{embargoed}", headers={"Authorization": authorization})
    assert response.status_code == 404
    assert response.data == unknown.data


def test_a_press_office_token_of_another_city_sees_an_unknown_page(
    api: Flask, client: FlaskClient, embargoed: int
) -> None:
    other = make_token(api, cities=("bad-aibling",), publisher="Pressestelle Bad Aibling")
    response = client.get(f"/releases/{embargoed}", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 404
    own = make_token(api)
    assert_private_embargo_page(
        client.get(f"/releases/{embargoed}", headers={"Authorization": f"Bearer {own}"})
    )


def test_the_press_office_sees_its_embargoed_release_from_the_desk(
    api: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    embargoed = add_release(api, title=TITLE, published_at=clock.now + timedelta(minutes=30))
    make_user(api)
    sign_in(client)
    assert_private_embargo_page(client.get(f"/publish/{embargoed}/view"))
    clock.advance(hours=1)
    public = client.get(f"/publish/{embargoed}/view")
    assert public.status_code == 303 and public.headers["Location"].startswith(f"/releases/{embargoed}-")


def test_a_retracted_embargoed_release_is_shown_to_nobody(
    api: Flask, client: FlaskClient, embargoed: int
) -> None:
    secret = make_token(api, "journalist")
    link = journalist_link(client, secret)
    publisher = make_token(api)
    assert (
        client.delete(
            f"/api/v1/releases/{embargoed}", headers={"Authorization": f"Bearer {publisher}"}
        ).status_code
        == 204
    )
    assert client.get(link).status_code == 404
    assert (
        client.get(f"/releases/{embargoed}", headers={"Authorization": f"Bearer {secret}"}).status_code == 404
    )


def test_the_api_warns_when_relative_links_and_images_were_dropped(api: Flask, client: FlaskClient) -> None:
    token = {"Authorization": f"Bearer {make_token(api)}"}
    body = (
        '<p>Mehr im <a href="/rathaus/plan.pdf">Plan</a> und <a href="#karte">unten</a>.</p>'
        '<img src="bild.jpg">'
    )
    created = client.post("/api/v1/releases", json={**RELEASE, "body": body}, headers=token)
    assert created.status_code == 201
    warnings = created.get_json()["warnings"]
    assert [warning["field"] for warning in warnings] == ["body"]
    assert "2 link(s) and 1 image(s)" in warnings[0]["message"] and "source_url" in warnings[0]["message"]
    # Read again, the release carries no warning: it belonged to the write.
    assert client.get(f"/api/v1/releases/{created.get_json()['id']}").get_json()["warnings"] == []
    resolved = client.post(
        "/api/v1/releases",
        json={**RELEASE, "body": body, "source_url": "https://www.rosenheim.de/presse/1", "external_id": "x"},
        headers=token,
    )
    assert resolved.get_json()["warnings"] == []
    plain = client.post("/api/v1/releases", json={**RELEASE, "external_id": "y"}, headers=token)
    assert plain.get_json()["warnings"] == []
    corrected = client.patch(
        f"/api/v1/releases/{created.get_json()['id']}",
        json={"body": '<p><a href="x.html">x</a></p>'},
        headers=token,
    )
    assert "1 link(s) and 0 image(s)" in corrected.get_json()["warnings"][0]["message"]
