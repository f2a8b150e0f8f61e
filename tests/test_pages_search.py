"""Search on the pages (`?q=` on `/` and every overview): the feeds' syntax, results
paged like an overview, the matching feed linked, German messages for a query that
cannot be searched for (400) and for no results."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement

from tests.conftest import BASE_URL, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog, retract


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
def newsroom(app: Flask) -> Flask:
    def fill() -> None:
        make_catalog(app)
        add_release(app, title="Radweg an der Innstraße", topics=("verkehr",), minutes_ago=300)
        add_release(
            app, title="Wohnungsnot: Stadt kauft Belegrechte", topics=("soziales-familie",), minutes_ago=200
        )
        add_release(
            app,
            city="muenchen",
            title="Wohnungsnot in München",
            topics=("soziales-familie",),
            minutes_ago=100,
        )
        add_release(
            app,
            city="bad-aibling",
            title="Kurkonzert im Kurpark",
            topics=("kultur",),
            minutes_ago=50,
            body="<p>Die Stadtkapelle spielt gegen die Wohnungsnot an: ein Benefizkonzert.</p>",
        )

    fill_once(app, "four releases, for searching the pages", fill)
    return app


@pytest.mark.usefixtures("newsroom")
def test_the_front_page_searches_everything_with_the_feeds_syntax(client: FlaskClient) -> None:
    doc = page(client, "/?q=Wohnungsnot")
    assert text_of(doc.cssselect("h1")[0]) == "Suche: „Wohnungsnot“"
    assert card_titles(doc) == [
        "Kurkonzert im Kurpark",
        "Wohnungsnot in München",
        "Wohnungsnot: Stadt kauft Belegrechte",
    ]
    assert text_of(doc.cssselect(".page-head__count")[0]) == "3 Treffer"
    assert card_titles(page(client, "/?q=Wohnungsnot -München")) == [
        "Kurkonzert im Kurpark",
        "Wohnungsnot: Stadt kauft Belegrechte",
    ]
    assert card_titles(page(client, '/?q="Stadt kauft" or Radweg')) == [
        "Wohnungsnot: Stadt kauft Belegrechte",
        "Radweg an der Innstraße",
    ]


@pytest.mark.usefixtures("newsroom")
def test_a_city_topic_or_region_page_searches_what_it_shows(client: FlaskClient) -> None:
    assert card_titles(page(client, "/cities/rosenheim?q=Wohnungsnot")) == [
        "Wohnungsnot: Stadt kauft Belegrechte"
    ]
    assert card_titles(page(client, "/topics/kultur?q=Wohnungsnot")) == ["Kurkonzert im Kurpark"]
    assert card_titles(page(client, "/cities/muenchen/topics/soziales-familie?q=wohnungsnot")) == [
        "Wohnungsnot in München"
    ]
    assert card_titles(page(client, "/regions/region-rosenheim?q=Wohnungsnot")) == [
        "Kurkonzert im Kurpark",
        "Wohnungsnot: Stadt kauft Belegrechte",
    ]
    doc = page(client, "/cities/rosenheim?q=Wohnungsnot")
    # The scope is named, and a wider search is one link away.
    assert "in „Rosenheim“" in text_of(doc.cssselect(".page-head__intro")[0])
    assert doc.cssselect(".search-form__wider a")[0].get("href") == "/?q=Wohnungsnot"


@pytest.mark.usefixtures("newsroom")
def test_the_header_has_a_search_box_that_searches_the_overview_shown(client: FlaskClient) -> None:
    home = page(client, "/").cssselect("header form[role=search]")[0]
    assert home.get("action") == "/" and home.get("method") == "get"
    assert home.cssselect("input[type=search][name=q]")
    assert home.cssselect("label")[0].get("for") == home.cssselect("input")[0].get("id")
    city = page(client, "/cities/rosenheim").cssselect("header form[role=search]")[0]
    assert city.get("action") == "/cities/rosenheim"
    assert city.cssselect("input")[0].get("placeholder") == "Suchen in: Rosenheim"
    # A results page has its search form on the page, with what was searched for.
    results = page(client, "/cities/rosenheim?q=Radweg")
    assert [form.get("action") for form in results.cssselect("form[role=search]")] == ["/cities/rosenheim"]
    assert results.cssselect("#search-q")[0].get("value") == "Radweg"
    # Elsewhere it searches everything.
    release_page = client.get("/releases/1", follow_redirects=True)
    assert html.fromstring(release_page.data).cssselect("header form[role=search]")[0].get("action") == "/"


@pytest.mark.usefixtures("newsroom")
def test_results_link_the_feed_of_the_same_search(client: FlaskClient) -> None:
    doc = page(client, "/topics/soziales-familie?q=Wohnungsnot")
    subscribe = doc.cssselect("a.search-feed")[0]
    assert text_of(subscribe) == "Diese Suche als Feed abonnieren"
    assert subscribe.get("href") == f"{BASE_URL}/topics/soziales-familie/feed.atom?q=Wohnungsnot"
    alternates = {link.get("type"): link.get("href") for link in doc.cssselect("link[rel=alternate]")}
    assert alternates["application/rss+xml"] == f"{BASE_URL}/topics/soziales-familie/feed.rss?q=Wohnungsnot"
    feed = client.get(urlsplit(subscribe.get("href")).path, query_string={"q": "Wohnungsnot"})
    assert feed.status_code == 200 and feed.data.count(b"<entry>") == 2
    # Results are nothing for a search engine to index.
    assert doc.cssselect("meta[name=robots]")[0].get("content") == "noindex"
    assert doc.cssselect("link[rel=canonical]")[0].get("href") == (
        f"{BASE_URL}/topics/soziales-familie?q=Wohnungsnot"
    )


def test_results_are_paged_like_an_overview_and_keep_the_search(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    for number in range(25):
        add_release(app, title=f"Baustelle Nummer {number}", minutes_ago=100 - number)
    add_release(app, title="Ganz etwas anderes", minutes_ago=1)
    first = page(client, "/?q=Baustelle")
    assert len(card_titles(first)) == 20 and card_titles(first)[0] == "Baustelle Nummer 24"
    older = first.cssselect("a[rel=next]")[0].get("href")
    assert parse_qs(urlsplit(older).query)["q"] == ["Baustelle"]
    second = page(client, older)
    assert card_titles(second) == [f"Baustelle Nummer {number}" for number in range(4, -1, -1)]
    assert not second.cssselect("a[rel=next]")
    assert second.cssselect(".pager__link")[0].get("href") == "/?q=Baustelle"
    assert text_of(second.cssselect(".page-head__count")[0]) == "25 Treffer"


@pytest.mark.usefixtures("newsroom")
def test_no_results_say_so_in_german(client: FlaskClient) -> None:
    doc = page(client, "/cities/rosenheim?q=Zeppelin")
    assert not card_titles(doc)
    empty = text_of(doc.cssselect(".stream .empty")[0])
    assert "Keine Treffer für „Zeppelin“ in „Rosenheim“" in empty
    assert doc.cssselect(".stream .empty a")[0].get("href") == "/?q=Zeppelin"
    assert text_of(doc.cssselect(".page-head__count")[0]) == "0 Treffer"


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("-Wohnungsnot", "mindestens ein Wort"),
        ('"" - *', "mindestens ein Wort"),
        ("x" * 201, "höchstens 200 Zeichen"),
        (" ".join(f"wort{number}" for number in range(17)), "höchstens 16 Wörter"),
    ],
)
@pytest.mark.usefixtures("newsroom")
def test_a_query_that_cannot_be_searched_is_a_german_400_page(
    client: FlaskClient, q: str, message: str
) -> None:
    response = client.get("/cities/rosenheim", query_string={"q": q})
    assert response.status_code == 400
    doc = html.fromstring(response.data)
    alert = text_of(doc.cssselect("[role=alert]")[0])
    assert alert.startswith("Ungültige Suche.") and message in alert
    # What was typed stays in the form, to be corrected.
    assert doc.cssselect("#search-q")[0].get("value") == " ".join(q.split())[:400]
    assert doc.cssselect("#search-q")[0].get("aria-invalid") == "true"
    assert not doc.cssselect("a.search-feed")


@pytest.mark.usefixtures("newsroom")
def test_a_blank_query_is_the_overview_and_an_unknown_slug_still_404s(client: FlaskClient) -> None:
    assert text_of(page(client, "/cities/rosenheim?q=%20").cssselect("h1")[0]) == "Übersicht: Rosenheim"
    page(client, "/cities/atlantis?q=Wohnungsnot", status=404)


def test_search_never_shows_embargoed_or_retracted_releases(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    make_catalog(app)
    add_release(app, title="Wohnungsnot: öffentlich", minutes_ago=10)
    gone = add_release(app, title="Wohnungsnot: zurückgezogen", minutes_ago=5)
    retract(app, gone)
    add_release(app, title="Wohnungsnot: Sperrfrist", published_at=clock.now.replace(year=2030))
    assert card_titles(page(client, "/?q=Wohnungsnot")) == ["Wohnungsnot: öffentlich"]


@pytest.mark.usefixtures("newsroom")
def test_search_pages_are_cached_and_validated_like_pages(client: FlaskClient) -> None:
    first = client.get("/?q=Wohnungsnot")
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert "all" in first.headers["xkey"].split()
    again = client.get("/?q=Wohnungsnot", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert "Set-Cookie" not in first.headers
