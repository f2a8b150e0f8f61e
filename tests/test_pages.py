"""Overview pages (docs/feeds.md#urls): everything, a city, a topic, a city×topic, a
region. Asserted on the parsed HTML, in German, newest first, a page at a time."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement

from tests.conftest import FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog


def page(client: FlaskClient, path: str, status: int = 200) -> HtmlElement:
    response = client.get(path)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "text/html"
    return html.fromstring(response.data)


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def card_titles(doc: HtmlElement) -> list[str]:
    return [text_of(title) for title in doc.cssselect(".stream .card__title")]


@pytest.fixture
def five_releases_in_three_cities(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Radweg an der Innstraße", topics=("verkehr",), minutes_ago=300)
        add_release(
            app, title="Familienfest im Stadtpark", topics=("soziales-familie", "kultur"), minutes_ago=200
        )
        add_release(app, title="Neue Buslinie 12", topics=("verkehr",), minutes_ago=100)
        add_release(
            app, city="bad-aibling", title="Kurkonzert im Kurpark", topics=("kultur",), minutes_ago=50
        )
        add_release(app, city="muenchen", title="Tram nach Pasing", topics=("verkehr",), minutes_ago=10)

    fill_once(app, "five releases in three cities, for the pages", fill)
    return app


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_front_page_shows_latest_releases_cities_by_region_and_topics(client: FlaskClient) -> None:
    doc = page(client, "/")
    assert doc.get("lang") == "de"
    assert card_titles(doc)[:2] == ["Tram nach Pasing", "Kurkonzert im Kurpark"]
    regions = [text_of(heading) for heading in doc.cssselect(".region")]
    assert regions == ["Landeshauptstadt München", "Region Rosenheim"]
    city_links = {link.get("href") for link in doc.cssselect(".city-list a")}
    assert {"/cities/rosenheim", "/cities/bad-aibling", "/cities/muenchen"} <= city_links
    topic_links = {text_of(link): link.get("href") for link in doc.cssselect(".chips a")}
    assert topic_links["Verkehr 3"] == "/topics/verkehr"


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_city_page_is_the_overview_of_that_city_newest_first(client: FlaskClient) -> None:
    doc = page(client, "/cities/rosenheim")
    assert text_of(doc.cssselect("h1")[0]) == "Übersicht: Rosenheim"
    assert card_titles(doc) == ["Neue Buslinie 12", "Familienfest im Stadtpark", "Radweg an der Innstraße"]
    assert "3 Pressemitteilungen" in text_of(doc.cssselect(".page-head__count")[0])


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_city_page_filters_by_topic_and_offers_a_feed_per_topic(client: FlaskClient) -> None:
    doc = page(client, "/cities/rosenheim")
    chips = {text_of(link): link.get("href") for link in doc.cssselect(".chips a")}
    assert chips["Verkehr 2"] == "/cities/rosenheim/topics/verkehr"
    assert doc.cssselect(".chips a[aria-current=page]")[0].get("href") == "/cities/rosenheim"
    feed_hrefs = {link.get("href") for link in doc.cssselect(".box--subscribe a.feed-link")}
    for fmt in ("atom", "rss", "json"):
        assert f"http://feeds.example.test/cities/rosenheim/feed.{fmt}" in feed_hrefs
        assert f"http://feeds.example.test/cities/rosenheim/topics/verkehr/feed.{fmt}" in feed_hrefs
        assert f"http://feeds.example.test/cities/rosenheim/topics/kultur/feed.{fmt}" in feed_hrefs


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_city_topic_page_lists_only_that_city_and_topic(client: FlaskClient) -> None:
    doc = page(client, "/cities/rosenheim/topics/verkehr")
    assert text_of(doc.cssselect("h1")[0]) == "Rosenheim: Verkehr"
    assert card_titles(doc) == ["Neue Buslinie 12", "Radweg an der Innstraße"]
    assert doc.cssselect(".chips a[aria-current=page]")[0].get("href") == "/cities/rosenheim/topics/verkehr"


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_topic_page_lists_that_topic_in_every_city(client: FlaskClient) -> None:
    doc = page(client, "/topics/kultur")
    assert text_of(doc.cssselect("h1")[0]) == "Thema: Kultur"
    assert card_titles(doc) == ["Kurkonzert im Kurpark", "Familienfest im Stadtpark"]
    chips = {link.get("href") for link in doc.cssselect(".chips a")}
    assert chips == {"/cities/bad-aibling/topics/kultur", "/cities/rosenheim/topics/kultur"}


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_region_page_lists_the_releases_of_its_cities(client: FlaskClient) -> None:
    doc = page(client, "/regions/region-rosenheim")
    assert text_of(doc.cssselect("h1")[0]) == "Region Rosenheim"
    assert "Tram nach Pasing" not in card_titles(doc)
    assert card_titles(doc)[0] == "Kurkonzert im Kurpark"


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_release_cards_link_to_the_release_city_and_topics(client: FlaskClient) -> None:
    card = page(client, "/cities/bad-aibling").cssselect(".stream .card")[0]
    assert card.cssselect(".card__title a")[0].get("href").startswith("/releases/")
    assert card.cssselect(".meta__city")[0].get("href") == "/cities/bad-aibling"
    assert [link.get("href") for link in card.cssselect(".tags a")] == ["/topics/kultur"]
    assert card.cssselect("time")[0].get("datetime").endswith("+01:00")


def test_long_overviews_continue_on_older_pages(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    for number in range(25):
        add_release(app, title=f"Meldung {number:02d}", minutes_ago=100 - number)
    first = page(client, "/cities/rosenheim")
    assert card_titles(first)[0] == "Meldung 24" and len(card_titles(first)) == 20
    older = first.cssselect(".pager a[rel=next]")[0].get("href")
    assert older.startswith("/cities/rosenheim?after=")
    second = page(client, older)
    assert card_titles(second) == [f"Meldung {number:02d}" for number in range(4, -1, -1)]
    assert not second.cssselect(".pager a[rel=next]")
    assert second.cssselect(".pager a")[0].get("href") == "/cities/rosenheim"


@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_a_malformed_cursor_answers_a_german_400_page(client: FlaskClient) -> None:
    doc = page(client, "/cities/rosenheim?after=gestern", status=400)
    assert text_of(doc.cssselect("h1")[0]) == "Ungültige Anfrage"


@pytest.mark.parametrize(
    "path",
    [
        "/cities/atlantis",
        "/topics/atlantis",
        "/regions/atlantis",
        "/cities/rosenheim/topics/atlantis",
        "/nirgends",
    ],
)
@pytest.mark.usefixtures("five_releases_in_three_cities")
def test_unknown_slugs_answer_a_german_404_page(client: FlaskClient, path: str) -> None:
    doc = page(client, path, status=404)
    assert doc.get("lang") == "de"
    assert text_of(doc.cssselect("h1")[0]) == "Seite nicht gefunden"


def test_embargoed_releases_appear_on_overviews_at_their_instant(
    five_releases_in_three_cities: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    add_release(five_releases_in_three_cities, title="Sperrfrist: Haushalt 2027", minutes_ago=-30)
    assert "Sperrfrist: Haushalt 2027" not in card_titles(page(client, "/cities/rosenheim"))
    clock.advance(minutes=31)
    assert card_titles(page(client, "/cities/rosenheim"))[0] == "Sperrfrist: Haushalt 2027"


def test_an_overview_without_releases_says_so(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    doc = page(client, "/cities/muenchen")
    assert "noch keine Pressemitteilungen" in text_of(doc.cssselect(".empty")[0])


@pytest.mark.parametrize(
    "path", ["/", "/cities/rosenheim", "/topics/kultur", "/regions/region-rosenheim", "/feeds"]
)
@pytest.mark.usefixtures("sample_app")
def test_pages_are_german_with_a_skip_link_and_alt_text_on_every_image(
    client: FlaskClient, path: str
) -> None:
    doc = page(client, path)
    assert doc.get("lang") == "de"
    skip = doc.cssselect("body > a.skip-link")[0]
    assert text_of(skip) == "Zum Inhalt springen"
    assert doc.cssselect(f"main{skip.get('href')}")
    assert all(image.get("alt") is not None for image in doc.iter("img"))
    assert len(doc.cssselect("h1")) == 1


def test_counts_follow_every_change_of_their_subject(
    five_releases_in_three_cities: Flask, client: FlaskClient
) -> None:
    def verkehr_chip() -> str:
        chips = [text_of(link) for link in page(client, "/").cssselect(".chips a")]
        return next(chip for chip in chips if chip.startswith("Verkehr"))

    assert verkehr_chip() == "Verkehr 3"
    assert verkehr_chip() == "Verkehr 3", "remembered while nothing changes"
    add_release(five_releases_in_three_cities, title="Neue Ampel", topics=("verkehr",), minutes_ago=0)
    assert verkehr_chip() == "Verkehr 4"
