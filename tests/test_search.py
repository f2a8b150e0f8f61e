"""Full-text search: `q` on every feed and on the API finds words in title, summary and
body, on an index, never shows what is not public, and never answers 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.models import Release
from feedsvc.publishing.input import ReleasePatch
from feedsvc.publishing.values import update_from_patch
from feedsvc.store.releases import (
    References,
    count_visible,
    newest_visible_ids,
    resolve_references,
    retract_release,
    update_release,
)
from feedsvc.store.scope import Scope
from feedsvc.store.search import Search, SearchError, fts5_query, parse_search, websearch_text
from tests.api_support import problem_of
from tests.conftest import POSTGRES_URL, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="checks SQLite's FTS5 query plan")
postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="checks PostgreSQL's query plan")


@pytest.fixture
def newsroom(app: Flask, clock: FakeClock) -> dict[str, int]:
    """Releases that mention the housing shortage in different fields, and some that must stay hidden."""

    def fill() -> dict[str, int]:
        make_catalog(app)
        ids = {
            "title": add_release(
                app, title="Stadt kämpft gegen Wohnungsnot", topics=("soziales-familie",), minutes_ago=300
            ),
            "summary": add_release(
                app,
                city="bad-aibling",
                title="Neuer Stadtrat gewählt",
                summary="Die erste Sitzung befasst sich mit der Wohnungsnot.",
                topics=("soziales-familie",),
                minutes_ago=200,
            ),
            "body": add_release(
                app,
                city="muenchen",
                title="Haushalt 2027 beschlossen",
                body="<p>Der Haushalt sieht Mittel gegen die <strong>Wohnungsnot</strong> vor.</p>",
                topics=("verkehr",),
                minutes_ago=100,
            ),
            "plural": add_release(
                app, title="Genossenschaft baut 200 Wohnungen", topics=("soziales-familie",), minutes_ago=90
            ),
            "other": add_release(
                app, title="Radweg an der Innstraße fertig", topics=("verkehr",), minutes_ago=50
            ),
            "embargoed": add_release(
                app, title="Sperrfrist: Gipfel zur Wohnungsnot", published_at=clock.now + timedelta(hours=1)
            ),
            "retracted": add_release(app, title="Wohnungsnot: falsche Zahlen", minutes_ago=30),
        }
        with app.app_context():
            session = db.session()
            release = session.get(Release, ids["retracted"])
            assert release is not None
            retract_release(session, release, clock.now)
            session.commit()
        return ids

    return fill_once(app, "the newsroom's releases about the housing shortage", fill)


def titles(client: FlaskClient, url: str, **params: str) -> list[str]:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in json.loads(response.data)["items"]]


def api_titles(client: FlaskClient, **params: str) -> list[str]:
    response = client.get("/api/v1/releases", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in json.loads(response.data)["items"]]


# --- what a search finds ----------------------------------------------------------------------------


@pytest.mark.usefixtures("newsroom")
def test_search_finds_words_in_title_summary_and_body(client: FlaskClient) -> None:
    assert titles(client, "/feed.json", q="Wohnungsnot") == [
        "Haushalt 2027 beschlossen",
        "Neuer Stadtrat gewählt",
        "Stadt kämpft gegen Wohnungsnot",
    ]


@pytest.mark.usefixtures("newsroom")
def test_a_topic_feed_with_q_holds_the_matching_releases_of_that_topic(client: FlaskClient) -> None:
    assert titles(client, "/topics/soziales-familie/feed.json", q="Wohnungsnot") == [
        "Neuer Stadtrat gewählt",
        "Stadt kämpft gegen Wohnungsnot",
    ]
    assert titles(client, "/cities/rosenheim/topics/soziales-familie/feed.json", q="Wohnungsnot") == [
        "Stadt kämpft gegen Wohnungsnot"
    ]
    assert titles(client, "/regions/muenchen-region/feed.json", q="Wohnungsnot") == [
        "Haushalt 2027 beschlossen"
    ]


@pytest.mark.usefixtures("newsroom")
def test_search_ignores_case_and_finds_inflected_forms(client: FlaskClient) -> None:
    assert "Stadt kämpft gegen Wohnungsnot" in titles(client, "/feed.json", q="WOHNUNGSNOT")
    # PostgreSQL stems both to "wohnung"; SQLite matches the word as a prefix.
    assert "Genossenschaft baut 200 Wohnungen" in titles(client, "/feed.json", q="Wohnung")


@pytest.mark.usefixtures("newsroom")
def test_quoted_phrases_exclusions_and_or_work_alike_on_every_backend(client: FlaskClient) -> None:
    assert titles(client, "/feed.json", q='"Stadt kämpft"') == ["Stadt kämpft gegen Wohnungsnot"]
    assert titles(client, "/feed.json", q='"kämpft Stadt"') == []
    assert titles(client, "/feed.json", q="Wohnungsnot -Haushalt") == [
        "Neuer Stadtrat gewählt",
        "Stadt kämpft gegen Wohnungsnot",
    ]
    assert titles(client, "/feed.json", q="Radweg or Haushalt") == [
        "Radweg an der Innstraße fertig",
        "Haushalt 2027 beschlossen",
    ]


@pytest.mark.usefixtures("newsroom")
def test_embargoed_and_retracted_releases_never_appear_in_search_results(
    client: FlaskClient, clock: FakeClock
) -> None:
    for found in (titles(client, "/feed.json", q="Wohnungsnot"), api_titles(client, q="Wohnungsnot")):
        assert not any("Sperrfrist" in title or "falsche Zahlen" in title for title in found)
    clock.advance(hours=1)
    assert titles(client, "/feed.json", q="Wohnungsnot")[0] == "Sperrfrist: Gipfel zur Wohnungsnot"
    assert api_titles(client, q="Wohnungsnot")[0] == "Sperrfrist: Gipfel zur Wohnungsnot"
    assert "Wohnungsnot: falsche Zahlen" not in titles(client, "/feed.json", q="Zahlen")


def test_search_follows_edits_of_title_and_body(
    newsroom: dict[str, int], app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    clock.advance(minutes=1)
    with app.app_context():
        session = db.session()
        release = session.get(Release, newsroom["other"])
        assert release is not None
        refs = resolve_references(session, "rosenheim", ["verkehr"])
        assert isinstance(refs, References)
        patch = ReleasePatch(
            title="Fahrradstraße eröffnet", body="<p>Endlich mehr Platz für Lastenräder.</p>"
        )
        update_release(session, release, update_from_patch(patch), refs, clock.now)
        session.commit()
    assert titles(client, "/feed.json", q="Innstraße") == []
    assert titles(client, "/feed.json", q="Fahrradstraße") == ["Fahrradstraße eröffnet"]
    assert titles(client, "/feed.json", q="Lastenräder") == ["Fahrradstraße eröffnet"]


@pytest.mark.usefixtures("newsroom")
def test_the_store_counts_matching_releases(app: Flask, clock: FakeClock) -> None:
    search = parse_search("Wohnungsnot")
    with app.app_context():
        assert count_visible(db.session(), Scope(), clock.now, search=search) == 3
        assert count_visible(db.session(), Scope(topic_id=1), clock.now, search=search) == 2


# --- search feeds are feeds of their own --------------------------------------------------------------


@pytest.mark.usefixtures("newsroom")
def test_a_search_feed_names_the_search_in_its_title_and_links_to_itself(client: FlaskClient) -> None:
    response = client.get("/topics/soziales-familie/feed.atom?q=Wohnungsnot")
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.bozo_exception
    unfiltered = feedparser.parse(client.get("/topics/soziales-familie/feed.atom").data).feed
    assert parsed.feed.title == f"{unfiltered.title} – Suche: Wohnungsnot"
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == ["http://feeds.example.test/topics/soziales-familie/feed.atom?q=Wohnungsnot"]
    assert parsed.feed.id != unfiltered.id
    rss = feedparser.parse(client.get("/topics/soziales-familie/feed.rss?q=Wohnungsnot").data)
    assert rss.feed.title.endswith("Suche: Wohnungsnot") and not rss.bozo


@pytest.mark.usefixtures("newsroom")
def test_a_search_feed_is_cached_under_its_own_etag(client: FlaskClient) -> None:
    plain = client.get("/feed.atom")
    searched = client.get("/feed.atom?q=Wohnungsnot")
    other = client.get("/feed.atom?q=Radweg")
    assert len({plain.headers["ETag"], searched.headers["ETag"], other.headers["ETag"]}) == 3
    again = client.get("/feed.atom?q=Wohnungsnot", headers={"If-None-Match": searched.headers["ETag"]})
    assert again.status_code == 304
    # The same search written differently is the same feed: a redirect to its one URL.
    moved = client.get("/feed.atom?q=%20Wohnungsnot%20%20")
    assert moved.status_code == 301 and moved.headers["Location"] == "/feed.atom?q=Wohnungsnot"
    assert (
        client.get("/feed.atom?q=%20Wohnungsnot%20%20", follow_redirects=True).headers["ETag"]
        == (searched.headers["ETag"])
    )


@pytest.mark.usefixtures("newsroom")
def test_paging_links_of_a_search_keep_the_search(client: FlaskClient) -> None:
    first = feedparser.parse(client.get("/feed.atom?q=Wohnungsnot&limit=2").data)
    assert [entry.title for entry in first.entries] == ["Haushalt 2027 beschlossen", "Neuer Stadtrat gewählt"]
    next_url = next(link.href for link in first.feed.links if link.rel == "next")
    assert "q=Wohnungsnot" in next_url
    second = feedparser.parse(client.get(next_url.removeprefix("http://feeds.example.test")).data)
    assert [entry.title for entry in second.entries] == ["Stadt kämpft gegen Wohnungsnot"]


@pytest.mark.usefixtures("newsroom")
def test_the_api_filters_by_q_and_keeps_it_in_the_next_link(client: FlaskClient) -> None:
    assert api_titles(client, q="Wohnungsnot", city="bad-aibling") == ["Neuer Stadtrat gewählt"]
    page = json.loads(client.get("/api/v1/releases?q=Wohnungsnot&limit=2").data)
    assert len(page["items"]) == 2 and "q=Wohnungsnot" in page["next"]
    rest = json.loads(client.get(page["next"].removeprefix("http://feeds.example.test")).data)
    assert [item["title"] for item in rest["items"]] == ["Stadt kämpft gegen Wohnungsnot"]


# --- bad queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "detail"),
    [
        ("Wohnungsnot " * 20, "at most 200 characters"),
        ("!!! ??? ---", "at least one word"),
        ("-Wohnungsnot", "at least one word"),
        (" ".join(f"w{n}" for n in range(17)), "at most 16 words"),
    ],
)
@pytest.mark.parametrize("url", ["/feed.atom", "/topics/soziales-familie/feed.json", "/api/v1/releases"])
@pytest.mark.usefixtures("newsroom")
def test_a_query_that_cannot_be_searched_is_400(client: FlaskClient, url: str, q: str, detail: str) -> None:
    body = problem_of(client.get(url, query_string={"q": q}), 400)
    assert detail in body["detail"]


@pytest.mark.parametrize(
    "q",
    [
        '"Wohnungsnot',
        'Wohnungsnot"',
        "Wohnungsnot AND",
        "NOT Wohnungsnot",
        "(((",
        "Wohnungs*",
        "title:Haushalt",
        "NEAR(Stadt Wohnungsnot)",
        "^Stadt",
        "'",
        "\\",
        "Wohnungsnot\x00\x1f",
        "ÄÖÜß 李伟 🎉",
        "or or",
        "- - -x",
    ],
)
@pytest.mark.usefixtures("newsroom")
def test_search_syntax_in_q_is_taken_as_words_never_as_an_error(client: FlaskClient, q: str) -> None:
    for url in ("/feed.atom", "/api/v1/releases"):
        # A feed answers a q written otherwise than its own links write it with a redirect.
        response = client.get(url, query_string={"q": q}, follow_redirects=True)
        assert response.status_code in (200, 400), (url, q, response.status_code)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=60))
@pytest.mark.usefixtures("newsroom")
def test_any_q_answers_200_or_400(client: FlaskClient, q: str) -> None:
    response = client.get("/feed.json", query_string={"q": q}, follow_redirects=True)
    assert response.status_code in (200, 400), (q, response.get_data(as_text=True))


# --- the query language, written for each backend -------------------------------------------------------


def parsed(q: str) -> Search:
    search = parse_search(q)
    assert search is not None
    return search


def test_a_query_becomes_quoted_fts5_terms_and_a_websearch_string() -> None:
    search = parsed('Wohnung "neue Häuser" -Miete or E-Bike or im')
    assert fts5_query(search) == '("Wohnung"* AND "neue Häuser") NOT ("Miete"*) OR ("E Bike"*) OR ("im")'
    assert websearch_text(search) == 'Wohnung "neue Häuser" -Miete or "E Bike" or im'


def test_a_blank_query_is_no_search_and_whitespace_is_tidied() -> None:
    assert parse_search("  \t ") is None
    assert parsed("  Wohnungsnot \n in   Rosenheim ").text == "Wohnungsnot in Rosenheim"
    assert fts5_query(parsed("Mu\u0308nchen")) == '("München"*)'
    with pytest.raises(SearchError):
        parse_search('"" -""')


# --- on an index -------------------------------------------------------------------------------------


def _plans(session: Session, search: Search, explain: str) -> list[str]:
    """The backend's plan of every SELECT that `newest_visible_ids` runs."""
    captured: list[str] = []
    connection = session.connection()

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.execute(f"{explain} {statement}", parameters).fetchall()
            captured.append(" | ".join(str(row[-1]) for row in rows))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        for scope in (Scope(), Scope(city_id=1), Scope(topic_id=1), Scope(city_id=1, topic_id=1)):
            newest_visible_ids(session, scope, datetime.now(UTC), 50, search=search)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return captured


@sqlite_only
@pytest.mark.usefixtures("newsroom")
def test_sqlite_searches_through_the_fts5_index(app: Flask) -> None:
    with app.app_context():
        plans = _plans(db.session(), parsed("Wohnungsnot"), "EXPLAIN QUERY PLAN")
    assert len(plans) == 4
    for plan in plans:
        # "M": the MATCH constraint is answered by the full-text index.
        assert "SCAN releases_fts VIRTUAL TABLE INDEX 0:M" in plan, plan


@postgres_only
@pytest.mark.usefixtures("newsroom")
def test_postgresql_searches_through_the_gin_index(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        _bulk_releases(session, 5000)
        session.execute(text("ANALYZE"))
        plans = _plans(session, parsed("Wohnungsnot"), "EXPLAIN")
        session.rollback()
    assert len(plans) == 4
    for plan in plans:
        assert "ix_releases_search" in plan, plan


def _bulk_releases(session: Session, count: int) -> None:
    """Many releases that do not mention the search word, so that an index pays off."""
    params: dict[str, Any] = {"count": count, "now": datetime.now(UTC)}
    session.execute(
        text(
            """
            INSERT INTO releases (guid, publisher_id, city_id, region_id, title, summary, summary_derived,
                body_html, body_text, author, language, content_hash, published_at, created_at, updated_at,
                revision)
            SELECT 'bulk:' || n, p.id, c.id, c.region_id, 'Meldung ' || n, 'Aus dem Rathaus', false,
                '<p>Der Stadtrat tagt.</p>', 'Der Stadtrat tagt. Nummer ' || n, 'Pressestelle', 'de',
                md5(n::text), :now - n * interval '1 minute', :now, :now, 1
            FROM generate_series(1, :count) AS n
            JOIN cities c ON c.slug = 'rosenheim'
            JOIN publisher_cities pc ON pc.city_id = c.id
            JOIN publishers p ON p.id = pc.publisher_id
            """
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO release_topics (release_id, topic_id, city_id, published_at) "
            "SELECT r.id, t.id, r.city_id, r.published_at FROM releases r, topics t "
            "WHERE r.guid LIKE 'bulk:%' AND t.slug = 'soziales-familie'"
        )
    )
