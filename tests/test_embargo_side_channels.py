"""Before its instant an embargo changes nothing an outsider can observe.

Whatever is written to a release under embargo (published, corrected, moved to another
instant or city, retracted), every public feed that will or would hold it answers with the
same status, ETag, Last-Modified, Cache-Control, surrogate keys and bytes, from this app and
from another that renders it afresh; so do the pages, sitemaps, OPML and the API; its id
answers as an id that never existed; no cache is purged and no hub is pinged. At the instant
everything changes at once. Journalists see the release early, with validators of their own.
(docs/feeds.md#journalists-embargoed-releases, docs/feeds.md#polling-http-caching)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from feedsvc import db
from feedsvc.cli.worker import settings_of_app
from feedsvc.models import Release
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store.changes import micros
from feedsvc.store.scope import Cursor, encode_cursor
from feedsvc.worker.delivery import run_cycle
from tests.api_support import bearer, make_token
from tests.conftest import AppFactory, FakeClock
from tests.factories import add_release, make_catalog, patch_release, retract
from tests.loopback import Endpoint, endpoint

CITIES = ("rosenheim", "bad-aibling", "muenchen")
TOPICS = ("soziales-familie", "verkehr", "kultur")
PAGES = (
    "/",
    *(f"/cities/{city}" for city in CITIES),
    *(f"/topics/{topic}" for topic in TOPICS),
    "/cities/rosenheim/topics/kultur",
    "/cities/rosenheim/topics/verkehr",
    "/cities/muenchen/topics/verkehr",
    "/regions/region-rosenheim",
    "/regions/muenchen-region",
    "/?q=Stadt",
    "/cities/rosenheim?q=Stadt",
    "/topics/kultur?q=Haushalt",
    "/feeds",
    "/feeds.opml",
    "/feeds.opml?format=json",
    "/sitemap.xml",
    "/sitemap-pages.xml",
    "/sitemap-releases-0.xml",
    "/sitemap-news.xml",
    "/robots.txt",
    "/api/v1/releases",
    "/api/v1/releases?city=rosenheim",
    "/api/v1/releases?topic=kultur&q=Haushalt",
    "/api/v1/cities",
    "/api/v1/topics",
)
# The subjects of the embargoed release below (Rosenheim, culture and traffic), and of it moved
# to München; every feed of each is watched, and one that never holds it besides.
HOLDING = ("", "/cities/rosenheim", "/topics/kultur", "/topics/verkehr", "/cities/rosenheim/topics/kultur",
           "/cities/rosenheim/topics/verkehr", "/regions/region-rosenheim")  # fmt: skip
HOLDING_IN_MUENCHEN = ("", "/cities/muenchen", "/topics/kultur", "/topics/verkehr",
                       "/cities/muenchen/topics/kultur", "/cities/muenchen/topics/verkehr",
                       "/regions/muenchen-region")  # fmt: skip
SUBJECTS = tuple(dict.fromkeys((*HOLDING, *HOLDING_IN_MUENCHEN, "/cities/bad-aibling")))
EMBARGOED_TITLE = "Haushalt 2027: Stadtrat beschließt Investitionen"
# What the site shows before: (minutes ago, city, topics).
SHOWN = ((90, "rosenheim", ("soziales-familie",)), (80, "rosenheim", ("kultur",)),
         (70, "bad-aibling", ("kultur",)), (60, "muenchen", ("verkehr",)), (50, "rosenheim", ("verkehr",)),
         (40, "muenchen", ()))  # fmt: skip
# An id no release has; distinctive, so that it can be replaced in an answer's bytes.
UNKNOWN_ID = 987654

Seen = tuple[int, str | None, str | None, str | None, str | None, str | None, bytes]


def feed_urls(archive_cursor: str) -> list[str]:
    """Every public feed, in every format: its first page, a short page, an archive page, a search."""
    variants = ("", "?limit=1", f"?after={archive_cursor}", "?q=Stadt")
    return [f"{subject}/feed.{fmt}{query}" for subject in SUBJECTS for fmt in ("atom", "rss", "json")
            for query in variants]  # fmt: skip


def observe(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> Seen:
    """What anybody asking for `url` can see of the answer."""
    answer = client.get(url, headers=headers or {})
    return (
        answer.status_code,
        answer.headers.get("ETag"),
        answer.headers.get("Last-Modified"),
        answer.headers.get("Cache-Control"),
        answer.headers.get("xkey"),
        answer.headers.get("Location"),
        answer.data,
    )


def observe_all(client: FlaskClient, urls: list[str]) -> dict[str, Seen]:
    return {url: observe(client, url) for url in urls}


def differences(before: dict[str, Seen], after: dict[str, Seen]) -> list[str]:
    fields = ("status", "ETag", "Last-Modified", "Cache-Control", "xkey", "Location", "body")
    return [
        f"{url}: {name}"
        for url in before
        for name, old, new in zip(fields, before[url], after[url], strict=True)
        if old != new
    ]


@dataclass
class Site:
    app: Flask
    client: FlaskClient
    clock: FakeClock
    hub: Endpoint
    cache: Endpoint
    make_app: AppFactory
    feeds: list[str]

    def cycle(self) -> None:
        """One cycle of the delivery worker at the clock's time."""
        with self.app.app_context():
            run_cycle(db.session(), settings_of_app(), micros(self.clock.now))
            db.session().close()

    @property
    def heard(self) -> int:
        """Requests that reached the cache's purge endpoint or the hub, refused ones included."""
        return self.cache.arrived + self.hub.arrived

    def next_id(self) -> int:
        """The id the next release gets (ids are handed out one after another)."""
        with self.app.app_context():
            return int(db.session().scalar(select(func.max(Release.id))) or 0) + 1

    def public(self) -> dict[str, Seen]:
        return observe_all(self.client, [*self.feeds, *PAGES])

    def afresh(self) -> dict[str, Seen]:
        """What another app server, which has rendered nothing yet, answers."""
        other = self.make_app(HUB_URLS=self.hub.url, CACHE_PURGE_URLS=self.cache.url, CLOCK=self.clock)
        return observe_all(other.test_client(), [*self.feeds, *PAGES])


@pytest.fixture
def site(make_app: AppFactory, clock: FakeClock) -> Iterator[Site]:
    with endpoint("/hub") as hub, endpoint("/") as cache:
        app = make_app(HUB_URLS=hub.url, CACHE_PURGE_URLS=cache.url)
        make_catalog(app)
        for minutes, city, topics in SHOWN:
            add_release(
                app, city=city, topics=topics, title=f"Stadt {city}: Meldung {minutes}", minutes_ago=minutes
            )
        cursor = encode_cursor(Cursor(clock.now - timedelta(minutes=45), 1_000_000))
        found = Site(app, app.test_client(), clock, hub, cache, make_app, feed_urls(cursor))
        found.cycle()  # the targets start listening, and hear of what is shown already
        for target in (hub, cache):
            target.received.clear()
            target.arrived = 0
        clock.advance(minutes=5)  # writes below come later than everything shown so far
        yield found


def embargoed(site: Site, instant: datetime, city: str = "rosenheim") -> int:
    return add_release(site.app, city=city, topics=("kultur", "verkehr"), title=EMBARGOED_TITLE,
                       published_at=instant)  # fmt: skip


def assert_unobservable(site: Site, before: dict[str, Seen]) -> None:
    assert differences(before, site.public()) == []
    assert differences(before, site.afresh()) == [], "another server renders what was there before"
    site.cycle()
    assert site.heard == 0, "a purge or a ping before the instant"


def changed_feeds(before: dict[str, Seen], after: dict[str, Seen]) -> set[str]:
    return {url.split("?")[0].rsplit("/feed.", 1)[0] for url in before if url.split("?")[0].endswith(
        ("/feed.atom", "/feed.rss", "/feed.json")) and before[url][1] != after[url][1]}  # fmt: skip


def test_a_new_embargoed_release_changes_nothing_public_until_its_instant(site: Site) -> None:
    instant = site.clock.now + timedelta(minutes=10)
    release_id = site.next_id()
    before = site.public()
    ids = [
        f"/releases/{release_id}",
        f"/releases/{release_id}-haushalt-2027",
        f"/api/v1/releases/{release_id}",
    ]
    unknown = observe_all(site.client, ids)
    assert all(seen[0] == 404 for seen in unknown.values())
    assert embargoed(site, instant) == release_id
    assert_unobservable(site, before)
    assert differences(unknown, observe_all(site.client, ids)) == [], "its id answers as one never used"
    site.clock.now = instant - timedelta(microseconds=1)
    site.cycle()
    assert site.heard == 0
    # At the instant, everything at once: the feeds holding it, its page, the caches, the hubs.
    site.clock.now = instant
    after = site.public()
    assert changed_feeds(before, after) == set(HOLDING)
    entries = feedparser.parse(site.client.get("/cities/rosenheim/topics/verkehr/feed.atom").data).entries
    assert entries[0].title == EMBARGOED_TITLE
    assert site.client.get(f"/releases/{release_id}").status_code == 301
    assert site.client.get(f"/api/v1/releases/{release_id}").status_code == 200
    site.cycle()
    assert f"release:{release_id}" in site.cache.purged_keys()
    assert {
        topic.split("/feed.")[0].removeprefix("http://feeds.example.test") for topic in site.hub.topics()
    } == set(HOLDING)


def test_correcting_an_embargoed_release_changes_nothing_public(site: Site) -> None:
    instant = site.clock.now + timedelta(minutes=10)
    release_id = embargoed(site, instant)
    site.clock.advance(minutes=1)
    before = site.public()
    patch_release(
        site.app, release_id, ReleasePatch(title="Haushalt 2027 (berichtigt)", correction_note="Zahl")
    )
    assert_unobservable(site, before)
    site.clock.now = instant
    assert changed_feeds(before, site.public()) == set(HOLDING)
    assert b"Haushalt 2027 (berichtigt)" in site.client.get("/cities/rosenheim/feed.atom").data


def test_moving_an_embargo_to_another_instant_and_city_lets_the_old_instant_pass_in_silence(
    site: Site,
) -> None:
    instant = site.clock.now + timedelta(minutes=10)
    release_id = embargoed(site, instant)
    before = site.public()
    later = instant + timedelta(minutes=10)
    patch_release(site.app, release_id, ReleasePatch(published_at=later, city="muenchen"))
    assert_unobservable(site, before)
    site.clock.now = instant
    assert differences(before, site.public()) == [], "nothing was shown at the old instant"
    site.cycle()
    assert site.heard == 0
    site.clock.now = later
    assert changed_feeds(before, site.public()) == set(HOLDING_IN_MUENCHEN)
    site.cycle()
    assert site.heard > 0


def test_a_release_retracted_before_its_instant_never_shows_and_its_id_stays_unknown(site: Site) -> None:
    instant = site.clock.now + timedelta(minutes=10)
    release_id = embargoed(site, instant)
    before = site.public()
    retract(site.app, release_id)
    assert_unobservable(site, before)
    # Its instant passes like any other moment: no change, no purge, no ping, and its id is no
    # id at all, while one that was public and then retracted is gone (410).
    site.clock.now = instant  # a full minute, as the snapshot's: the same max-age
    assert differences(before, site.public()) == []
    site.clock.advance(minutes=1)
    site.cycle()
    assert site.heard == 0, "a purge or a ping at the instant of a release that never was"
    shown_then_gone = add_release(site.app, title="Kurz sichtbar", minutes_ago=1)
    retract(site.app, shown_then_gone)
    assert site.client.get(f"/releases/{shown_then_gone}").status_code == 410
    assert site.client.get(f"/api/v1/releases/{shown_then_gone}").status_code == 410
    for template in ("/releases/{}", "/releases/{}-haushalt-2027", "/releases/{}/", "/api/v1/releases/{}"):
        hidden = observe(site.client, template.format(release_id))
        assert hidden[0] in (301, 404)
        assert hidden == as_for(observe(site.client, template.format(UNKNOWN_ID)), release_id), template


def as_for(seen: Seen, release_id: int) -> Seen:
    """The answer for `UNKNOWN_ID` as it would read for `release_id`: the id in it replaced."""

    def swap(value: str | None) -> str | None:
        return None if value is None else value.replace(str(UNKNOWN_ID), str(release_id))

    status, etag, modified, control, keys, location, body = seen
    swapped = body.replace(str(UNKNOWN_ID).encode(), str(release_id).encode())
    return status, etag, modified, control, swap(keys), swap(location), swapped


@pytest.mark.parametrize("retracted", [False, True], ids=["embargoed", "retracted before its instant"])
def test_a_hidden_id_answers_exactly_as_an_unknown_one(site: Site, retracted: bool) -> None:
    release_id = embargoed(site, site.clock.now + timedelta(hours=1))
    if retracted:
        retract(site.app, release_id)
    other_office = make_token(site.app, cities=("muenchen",), publisher="Pressestelle München")
    anonymous: list[tuple[str, str, dict[str, str], dict[str, str] | None]] = [
        ("GET", template, {}, None)
        for template in ("/releases/{}", "/releases/{}-haushalt-2027", "/releases/{}/", "/api/v1/releases/{}")
    ]
    # A press office of another city learns no more of it than anybody else.
    anonymous += [
        ("GET", "/api/v1/releases/{}", bearer(other_office), None),
        ("PATCH", "/api/v1/releases/{}", bearer(other_office), {"title": "Übernommen"}),
        ("DELETE", "/api/v1/releases/{}", bearer(other_office), None),
    ]
    for method, template, headers, body in anonymous:
        hidden = site.client.open(template.format(release_id), method=method, headers=headers, json=body)
        unknown = site.client.open(template.format(UNKNOWN_ID), method=method, headers=headers, json=body)
        assert hidden.status_code == unknown.status_code and hidden.status_code in (301, 404), (
            method,
            template,
        )
        # The bytes are compared below, with the id replaced; their length differs with the id's.
        hidden_headers = {name: value for name, value in hidden.headers.items() if name != "Content-Length"}
        unknown_headers = {
            name: value.replace(str(UNKNOWN_ID), str(release_id))
            for name, value in unknown.headers.items()
            if name != "Content-Length"
        }
        assert hidden_headers == unknown_headers, (method, template)
        assert hidden.data == unknown.data.replace(str(UNKNOWN_ID).encode(), str(release_id).encode())
    # Its own press office and journalists know of it.
    journalist = make_token(site.app, role="journalist", publisher=None, cities=())
    own_office = make_token(site.app)
    expected = 410 if retracted else 200
    for token in (journalist, own_office):
        assert (
            site.client.get(f"/api/v1/releases/{release_id}", headers=bearer(token)).status_code == expected
        )


def test_journalists_see_it_at_once_with_validators_of_their_own(site: Site) -> None:
    journalist = bearer(make_token(site.app, role="journalist", publisher=None, cities=()))
    url = "/cities/rosenheim/feed.atom"
    early = site.client.get(url, headers=journalist)
    assert early.headers["Cache-Control"] == "private, no-store"
    site.clock.advance(seconds=30)
    public_before = observe(site.client, url)
    embargoed(site, site.clock.now + timedelta(hours=1))
    assert observe(site.client, url) == public_before
    now = site.client.get(url, headers=journalist)
    assert now.status_code == 200 and EMBARGOED_TITLE.encode() in now.data
    assert now.headers["ETag"] != early.headers["ETag"]
    assert now.headers["Last-Modified"] != early.headers["Last-Modified"]
    # The old validators no longer match, the new ones do.
    for stale in (
        {"If-None-Match": early.headers["ETag"]},
        {"If-Modified-Since": early.headers["Last-Modified"]},
    ):
        assert site.client.get(url, headers={**journalist, **stale}).status_code == 200
    for fresh in (
        {"If-None-Match": now.headers["ETag"]},
        {"If-Modified-Since": now.headers["Last-Modified"]},
    ):
        assert site.client.get(url, headers={**journalist, **fresh}).status_code == 304


def test_max_age_is_the_same_for_every_feed_and_page_whatever_is_scheduled(site: Site) -> None:
    """Freshness ends on the grid (every full minute by default), never at a lift."""
    site.clock.now = site.clock.now.replace(second=0, microsecond=0) + timedelta(seconds=15)
    embargoed(site, site.clock.now + timedelta(seconds=20))
    for url in (
        "/cities/rosenheim/feed.atom",
        "/cities/muenchen/feed.atom",
        "/feed.rss",
        "/topics/kultur/feed.json",
    ):
        assert site.client.get(url).headers["Cache-Control"] == "public, max-age=45, stale-if-error=86400", (
            url
        )
    for url in ("/cities/rosenheim", "/cities/muenchen", "/", "/releases/999", "/sitemap-news.xml"):
        assert site.client.get(url).headers["Cache-Control"] == "public, max-age=45", url
    assert site.client.get("/sitemap.xml").headers["Cache-Control"] == "public, max-age=45"
