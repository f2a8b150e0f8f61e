"""RFC 5005: paged feeds whose `next` links visit every release exactly once,
`previous` links back, and archive pages marked and cached as such."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from xml.etree import ElementTree

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from feedsvc import db
from feedsvc.models import Release
from feedsvc.publishing.input import ReleaseIn, ReleasePatch
from feedsvc.publishing.values import new_release_fields
from feedsvc.store import catalog
from feedsvc.store.releases import References, create_release, resolve_references
from tests.conftest import BASE_URL, FakeClock, Fill
from tests.factories import add_release, make_catalog, patch_release, retract

FH = "{http://purl.org/syndication/history/1.0}"


def add_many(app: Flask, count: int, start_minutes_ago: int) -> None:
    """`count` releases, one a minute, in one transaction (fast enough for 500)."""
    with app.app_context():
        session = db.session()
        now = app.config["CLOCK"]()
        refs = resolve_references(session, "rosenheim", ["kultur"])
        assert isinstance(refs, References)
        publisher = catalog.publishers_of_city(session, refs.city)[0]
        for n in range(count):
            published = now - timedelta(minutes=start_minutes_ago - n)
            data = ReleaseIn(
                title=f"Meldung {n}",
                body=f"<p>Text {n}</p>",
                city="rosenheim",
                topics=["kultur"],
                published_at=published,
            )
            fields = new_release_fields(data, data.content_hash())
            create_release(
                session, publisher=publisher, fields=fields, refs=refs, now=now, tag_authority="t.example"
            )
        session.commit()


def catalog_and_releases(app: Flask, fill_once: Fill, count: int) -> None:
    """The test catalog and `count` releases of Rosenheim about culture, one a minute from ten
    hours ago on. Hundreds take seconds to write: they are written once per process
    (`fill_once`), and the tests of each count are kept on one pytest-xdist worker
    (`xdist_group`), so that one process writes them."""

    def fill() -> None:
        make_catalog(app)
        add_many(app, count, start_minutes_ago=600)

    fill_once(f"the catalog and {count} releases", fill)


def links(body: bytes) -> dict[str, str]:
    return links_of(feedparser.parse(body))


def links_of(parsed: feedparser.FeedParserDict) -> dict[str, str]:
    """The links of a feed parsed already (feedparser takes some 50 ms for a page of 37)."""
    return {link.rel: link.href.removeprefix(BASE_URL) for link in parsed.feed.links}


@pytest.mark.xdist_group("paging_500_releases")
@pytest.mark.parametrize(
    "subject", ["", "/cities/rosenheim", "/topics/kultur", "/cities/rosenheim/topics/kultur"]
)
def test_following_next_visits_every_release_once_while_new_ones_arrive(
    app: Flask, client: FlaskClient, clock: FakeClock, subject: str, fill_once: Fill
) -> None:
    catalog_and_releases(app, fill_once, 500)
    seen: list[str] = []
    url: str | None = f"{subject}/feed.atom?limit=37"
    pages = 0
    while url:
        body = client.get(url).data
        parsed = feedparser.parse(body)
        assert not parsed.bozo
        seen += [entry.id for entry in parsed.entries]
        url = links_of(parsed).get("next")
        pages += 1
        # Meanwhile press offices keep publishing: new releases go on top, not into our walk.
        clock.advance(seconds=30)
        add_release(app, title=f"Neu während Seite {pages}", topics=("kultur",), minutes_ago=0)
    assert len(seen) == len(set(seen)) == 500
    assert pages == 14


def test_previous_links_walk_back_to_the_newest_page(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    add_many(app, 25, start_minutes_ago=100)
    first_page = client.get("/feed.json?limit=10").get_json()
    ids_forward = [item["id"] for item in first_page["items"]]
    url = first_page["next_url"].removeprefix(BASE_URL)
    second = client.get(url.replace("feed.json", "feed.atom"))
    ids_forward += [e.id for e in feedparser.parse(second.data).entries]
    previous = links(second.data)["previous"]
    back = feedparser.parse(client.get(previous).data)
    assert [e.id for e in back.entries] == ids_forward[:10]
    assert "previous" not in links(client.get(previous).data), "nothing is newer than the newest page"


def test_archive_pages_are_marked_and_cached_long(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    add_many(app, 12, start_minutes_ago=100)
    current = client.get("/cities/rosenheim/feed.atom?limit=5")
    current_links = links(current.data)
    assert current_links["prev-archive"] == current_links["next"]
    assert ElementTree.fromstring(current.data).find(f"{FH}archive") is None
    # The current page is fresh until the next point of the expiry grid (a full minute).
    assert current.headers["Cache-Control"] == "public, max-age=60, stale-if-error=86400"
    archive = client.get(current_links["prev-archive"])
    assert ElementTree.fromstring(archive.data).find(f"{FH}archive") is not None
    assert archive.headers["Cache-Control"].startswith("public, max-age=86400")
    assert links(archive.data)["current"] == "/cities/rosenheim/feed.atom?limit=5"
    rss = client.get(current_links["prev-archive"].replace("feed.atom", "feed.rss"))
    assert not feedparser.parse(rss.data).bozo
    assert "prev-archive" in links(rss.data) or "next" in links(rss.data)


def test_a_feed_without_older_entries_has_no_paging_links(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    add_many(app, 3, start_minutes_ago=10)
    assert set(links(client.get("/cities/rosenheim/feed.atom").data)) == {"self", "alternate"}


@pytest.mark.parametrize("query", ["before=x", "after=1-1&before=1-1", "before=" + "9" * 30 + "-1"])
def test_bad_paging_parameters_are_400(app: Flask, client: FlaskClient, query: str) -> None:
    make_catalog(app)
    response = client.get(f"/feed.atom?{query}")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_paging_links_of_a_search_keep_the_search(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    for n in range(5):
        add_release(app, title=f"Brückensanierung Abschnitt {n}", minutes_ago=100 - n)
        add_release(app, title=f"Stadtfest Programm {n}", minutes_ago=50 - n)
    second = client.get(links(client.get("/feed.atom?q=Brückensanierung&limit=2").data)["next"])
    back = client.get(links(second.data)["previous"])
    for body in (second.data, back.data):
        titles = [entry.title for entry in feedparser.parse(body).entries]
        assert len(titles) == 2 and all(title.startswith("Brückensanierung") for title in titles)


def _walk(client: FlaskClient, url: str, rel: str, between: Callable[[list[str]], None]) -> list[str]:
    """The entry ids of every page from `url` on, following `rel`; `between` runs after each
    page with the ids seen so far, as writes happen between a reader's fetches."""
    seen: list[str] = []
    next_url: str | None = url
    while next_url:
        body = client.get(next_url).data
        parsed = feedparser.parse(body)
        assert not parsed.bozo
        seen += [entry.id for entry in parsed.entries]
        next_url = links_of(parsed).get(rel)
        between(seen)
    return seen


def _guids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            guid: release_id for guid, release_id in db.session().execute(select(Release.guid, Release.id))
        }


@pytest.mark.xdist_group("paging_98_releases")
@pytest.mark.parametrize("direction", ["next", "previous"])
def test_every_visible_release_is_seen_once_while_releases_are_added_corrected_and_retracted(
    app: Flask, client: FlaskClient, clock: FakeClock, direction: str, fill_once: Fill
) -> None:
    catalog_and_releases(app, fill_once, 98)
    guids = _guids(app)
    first = "/cities/rosenheim/feed.atom?limit=10"
    start = first
    if direction == "previous":  # from the last (oldest) page
        while "next" in (page_links := links(client.get(start).data)):
            start = page_links["next"]
    retracted: set[str] = set()
    added: list[int] = []

    def write(seen: list[str]) -> None:
        clock.advance(seconds=30)
        added.append(add_release(app, title=f"Neu {len(added)}", topics=("kultur",), minutes_ago=0))
        unseen = [guid for guid in guids if guid not in seen and guid not in retracted]
        if seen:  # a correction of a release already seen, and of one still ahead
            patch_release(app, _guids(app)[seen[-1]], ReleasePatch(title=f"Korrigiert {len(seen)}"))
        if len(unseen) > 2:
            patch_release(app, guids[unseen[1]], ReleasePatch(title="Korrigiert voraus"))
            retracted.add(unseen[0])
            retract(app, guids[unseen[0]])

    seen = _walk(client, start, direction, write)
    assert len(seen) == len(set(seen)), "no release twice"
    still_there = set(guids) - retracted
    assert still_there <= set(seen), f"missed {len(still_there - set(seen))} of {len(still_there)}"
    new = set(_guids(app)) - set(guids)
    if direction == "next":
        assert not set(seen) & new, "walking to older pages never meets releases published since"
    else:
        assert set(seen) - set(guids) <= new  # newer ones come last, once each


@pytest.mark.xdist_group("paging_98_releases")
def test_previous_pages_hold_the_releases_next_to_their_cursor(
    app: Flask, client: FlaskClient, fill_once: Fill
) -> None:
    """The page before a cursor is the `limit` releases just newer than it: none skipped,
    none repeated from the newer page (98 releases, pages of 10)."""
    catalog_and_releases(app, fill_once, 98)
    forward = _walk(client, "/feed.atom?limit=10", "next", lambda seen: None)
    last = "/feed.atom?limit=10"
    while "next" in (page_links := links(client.get(last).data)):
        last = page_links["next"]
    backward = _walk(client, last, "previous", lambda seen: None)
    assert len(forward) == len(backward) == 98
    last_page = [entry.id for entry in feedparser.parse(client.get(last).data).entries]
    # Walking back from the last page: the last page, then every older-to-newer page.
    assert set(backward) == set(forward) and backward[: len(last_page)] == last_page
