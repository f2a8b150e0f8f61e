"""The page of one release: canonical URL, content as stored, image with caption,
contact, the way back to the city, related releases, JSON-LD, and what happens
to embargoed and retracted releases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement

from feedsvc import db
from feedsvc.store.releases import release_by_id, retract_release
from feedsvc.web.pages.jsonld import script_json
from tests.conftest import FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog

IMAGE: dict[str, Any] = {
    "url": "https://img.example.test/rathaus.jpg",
    "caption": "Gäste aus Shanghai vor dem Rathaus",
    "credit": "Foto: Stadt Rosenheim",
    "type": "image/jpeg",
    "length": 123456,
}


def page(client: FlaskClient, path: str, status: int = 200) -> HtmlElement:
    response = client.get(path)
    assert response.status_code == status, response.data[:500]
    return html.fromstring(response.data)


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


@pytest.fixture
def visit(app: Flask) -> int:
    """A release of Rosenheim about social affairs, with an image and a contact."""

    def fill() -> int:
        make_catalog(app)
        return add_release(
            app,
            title="Besuch aus Shanghai: Fachdelegation im Rathaus",
            topics=("soziales-familie", "kultur"),
            minutes_ago=60,
            summary="Eine Delegation aus Shanghai informierte sich über die Soziale Stadt.",
            body=(
                '<p>Die Gäste besuchten das <a href="/buergerhaus">Bürgerhaus</a> &amp; den Jugendtreff.</p>'
            ),
            source_url="https://www.rosenheim.de/presse/shanghai",
            images=[IMAGE],
            contact={"name": "Christian Baab", "email": "presse@rosenheim.de", "phone": "+49 8031 365-1023"},
        )

    return fill_once(app, "a release with an image and a contact, for its page", fill)


def test_a_release_id_redirects_for_good_to_the_canonical_url(visit: int, client: FlaskClient) -> None:
    response = client.get(f"/releases/{visit}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/releases/{visit}-besuch-aus-shanghai-fachdelegation-im-rathaus"


def test_a_wrong_slug_redirects_to_the_canonical_url(visit: int, client: FlaskClient) -> None:
    response = client.get(f"/releases/{visit}-alter-titel")
    assert response.status_code == 301
    assert response.headers["Location"].startswith(f"/releases/{visit}-besuch-aus-shanghai")


def test_release_page_shows_title_date_city_and_topics(visit: int, client: FlaskClient) -> None:
    doc = page(client, client.get(f"/releases/{visit}").headers["Location"])
    assert text_of(doc.cssselect("h1")[0]) == "Besuch aus Shanghai: Fachdelegation im Rathaus"
    assert doc.cssselect(".release__head time")[0].get("datetime") == "2026-11-25T12:00:00+01:00"
    assert "25. November 2026, 12:00 Uhr" in text_of(doc.cssselect(".release__head .meta")[0])
    assert doc.cssselect(".release__head .meta__city")[0].get("href") == "/cities/rosenheim"
    assert [text_of(tag) for tag in doc.cssselect(".release__head .tags a")] == [
        "Soziales & Familie",
        "Kultur",
    ]
    assert "Pressestelle Rosenheim" in text_of(doc.cssselect(".kicker")[0])


def test_the_image_shows_with_its_caption_as_alt_text_and_its_credit(visit: int, client: FlaskClient) -> None:
    doc = page(client, client.get(f"/releases/{visit}").headers["Location"])
    figure = doc.cssselect("figure.figure--lead")[0]
    image = figure.cssselect("img")[0]
    assert image.get("src") == IMAGE["url"]
    assert image.get("alt") == IMAGE["caption"]
    assert IMAGE["caption"] in text_of(figure.cssselect("figcaption")[0])
    assert text_of(figure.cssselect(".figure__credit")[0]) == "Foto: Stadt Rosenheim"


def test_the_body_is_the_stored_sanitised_html(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    release_id = add_release(
        app,
        body='<p onclick="x()">Text &auml; <script>alert(1)</script><a href="javascript:x()">Link</a></p>',
        source_url="https://www.rosenheim.de/presse/",
    )
    doc = page(client, client.get(f"/releases/{release_id}").headers["Location"])
    body = doc.cssselect(".release__body")[0]
    assert text_of(body) == "Text ä Link"
    assert not body.cssselect("script") and not body.cssselect("[onclick]") and not body.cssselect("a")


def test_titles_are_escaped_exactly_once(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    release_id = add_release(app, title="Müller & Söhne: a < b")
    response = client.get(client.get(f"/releases/{release_id}").headers["Location"])
    assert b"M\xc3\xbcller &amp; S\xc3\xb6hne: a &lt; b</h1>" in response.data
    assert text_of(html.fromstring(response.data).cssselect("h1")[0]) == "Müller & Söhne: a < b"


def test_contact_source_and_the_way_back_to_the_city(visit: int, client: FlaskClient) -> None:
    doc = page(client, client.get(f"/releases/{visit}").headers["Location"])
    contact = doc.cssselect(".contact")[0]
    assert contact.cssselect("a[href='mailto:presse@rosenheim.de']")
    assert contact.cssselect("a[href='tel:+498031365-1023']")
    assert doc.cssselect(".release__source a")[0].get("href") == "https://www.rosenheim.de/presse/shanghai"
    back = doc.cssselect(".back a")[0]
    assert text_of(back) == "← Zurück zur Übersicht: Rosenheim"
    assert back.get("href") == "/cities/rosenheim"


def test_related_releases_share_a_topic_or_the_city(visit: int, app: Flask, client: FlaskClient) -> None:
    add_release(app, city="muenchen", title="Kulturtage in München", topics=("kultur",), minutes_ago=30)
    add_release(app, city="muenchen", title="Tram nach Pasing", topics=("verkehr",), minutes_ago=20)
    add_release(app, title="Neue Buslinie in Rosenheim", topics=("verkehr",), minutes_ago=10)
    add_release(app, title="Sozialtag in Rosenheim", topics=("soziales-familie",), minutes_ago=5)
    doc = page(client, client.get(f"/releases/{visit}").headers["Location"])
    section = doc.cssselect("section.related")[0]
    assert text_of(section.cssselect("h2")[0]) == "Das könnte Sie auch interessieren"
    titles = [text_of(title) for title in section.cssselect(".card__title")]
    # Same city and a shared topic first; then a shared topic or the city, nearest in time first.
    assert titles == ["Sozialtag in Rosenheim", "Kulturtage in München", "Neue Buslinie in Rosenheim"]


def test_json_ld_describes_the_release_as_a_news_article(visit: int, client: FlaskClient) -> None:
    doc = page(client, client.get(f"/releases/{visit}").headers["Location"])
    scripts = doc.cssselect("script[type='application/ld+json']")
    assert len(scripts) == 1
    article = json.loads(scripts[0].text or "")
    assert article["@type"] == "NewsArticle"
    assert article["headline"] == "Besuch aus Shanghai: Fachdelegation im Rathaus"
    assert article["datePublished"] == "2026-11-25T12:00:00+01:00"
    assert article["image"][0]["url"] == IMAGE["url"]
    assert article["publisher"]["name"] == "Pressestelle Rosenheim"
    assert article["url"].startswith("http://feeds.example.test/releases/")


def test_json_ld_cannot_end_its_script_element(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    sneaky = "https://www.rosenheim.de/a</script><script>alert(1)</script><!--"
    release_id = add_release(app, source_url=sneaky)
    response = client.get(client.get(f"/releases/{release_id}").headers["Location"])
    doc = html.fromstring(response.data)
    assert [script.get("type") for script in doc.iter("script")] == [None, "application/ld+json"]
    block = doc.cssselect("script[type='application/ld+json']")[0].text or ""
    assert json.loads(block)["isBasedOn"] == sneaky


def test_script_json_escapes_every_character_that_html_or_javascript_could_read() -> None:
    text = str(script_json({"a": "</script>&<!--\u2028\u2029"}))
    assert not any(char in text for char in "<>&\u2028\u2029")
    assert json.loads(text) == {"a": "</script>&<!--\u2028\u2029"}


def test_an_embargoed_release_is_not_found_until_its_instant(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    make_catalog(app)
    release_id = add_release(app, title="Haushalt 2027", minutes_ago=-10)
    response = client.get(f"/releases/{release_id}-haushalt-2027")
    assert response.status_code == 404
    # The 404 of any id: it ends on the expiry grid (full minutes), and so at the lift at 12:10.
    assert response.headers["Cache-Control"] == "public, max-age=60"
    clock.advance(minutes=9, seconds=30)
    assert (
        client.get(f"/releases/{release_id}-haushalt-2027").headers["Cache-Control"] == "public, max-age=30"
    )
    clock.advance(seconds=30)
    assert client.get(f"/releases/{release_id}-haushalt-2027").status_code == 200


def test_a_retracted_release_is_gone(visit: int, app: Flask, client: FlaskClient, clock: FakeClock) -> None:
    with app.app_context():
        release = release_by_id(db.session(), visit)
        assert release is not None
        retract_release(db.session(), release, clock())
        db.session().commit()
    doc = page(client, f"/releases/{visit}", status=410)
    assert text_of(doc.cssselect("h1")[0]) == "Pressemitteilung zurückgezogen"
    assert doc.cssselect(".error-page a")[0].get("href") == "/cities/rosenheim"
    assert "Besuch aus Shanghai" not in text_of(page(client, "/cities/rosenheim"))


@pytest.mark.parametrize(
    "path",
    [
        "/releases/999",
        "/releases/999-gibt-es-nicht",
        "/releases/abc",
        "/releases/-1",
        "/releases/99999999999",
    ],
)
@pytest.mark.usefixtures("visit")
def test_unknown_releases_answer_a_german_404_page(client: FlaskClient, path: str) -> None:
    assert text_of(page(client, path, status=404).cssselect("h1")[0]) == "Seite nicht gefunden"


def test_a_corrected_release_carries_a_schema_org_correction(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    release_id = add_release(app, correction_note="Uhrzeit berichtigt")
    doc = page(client, client.get(f"/releases/{release_id}").headers["Location"])
    article = json.loads(doc.cssselect("script[type='application/ld+json']")[0].text or "")
    assert article["correction"]["@type"] == "CorrectionComment"
    assert article["correction"]["text"] == "Uhrzeit berichtigt"
