"""feedsvc behind the real nginx with deploy/nginx/feedsvc.conf: feeds at their plain URLs
kept until their max-age ends or the delivery worker purges them by path, pages and feeds
with a query string never more than a second behind the app, 304s, Date and Age as a
client needs them to count a copy's age, credentials past the cache, stale copies while the
app is down.

Skipped when nginx or its cache purge module is not installed (`apt-get install nginx
libnginx-mod-http-cache-purge`).
"""

from __future__ import annotations

import time

import pytest
from flask import Flask

from bench import servers
from feedsvc import db
from feedsvc.store import catalog
from feedsvc.store.changes import micros
from feedsvc.worker.delivery import Settings, run_cycle
from tests.api_support import bearer, make_token
from tests.cache_support import (
    MUENCHEN_FEED,
    ROSENHEIM_FEED,
    Site,
    clear_of_a_grid_point,
    embargo_instant,
    get,
    nginx_site,
    origin,
    origin_env,
    own_nginx_site,
    own_origin,
    shared_nginx_site,
    site_app,
    site_database,
    stop_at_once,
    wait_until_shown,
    watch_an_embargo_lift,
)
from tests.conftest import BASE_URL

__all__ = [  # fixtures
    "nginx_site",
    "origin",
    "origin_env",
    "own_nginx_site",
    "own_origin",
    "shared_nginx_site",
    "site_app",
    "site_database",
]

# The tests share one app server and one nginx (tests/cache_support.py): on one worker.
pytestmark = pytest.mark.xdist_group("cache_nginx")

# The first request after a purge, or after the end of a revalidated copy's second, waits for
# the app (one render after a change).
ONE_FETCH_S = 0.25
# How far ahead an embargo instant is placed: submitting the release takes a fraction of a
# second even on a busy machine, and the rest is watched before the instant.
EMBARGO_LEAD_S = 2


def test_a_feed_hit_carries_the_apps_headers_and_date_and_no_surrogate_keys(nginx_site: Site) -> None:
    site = nginx_site
    direct = get(site.origin + ROSENHEIM_FEED)
    first = get(site.url(ROSENHEIM_FEED))
    time.sleep(1.1)
    hit = get(site.url(ROSENHEIM_FEED))
    assert (first.header("X-Cache-Status"), hit.header("X-Cache-Status")) == ("MISS", "HIT")
    assert hit.body == direct.body and hit.header("ETag") == direct.header("ETag")
    # The copy's own headers: its Date is when the app answered, so a client counts its age
    # from then (RFC 9111 §4.2.3); no Age header, which nginx could not count.
    assert hit.header("Cache-Control") == first.header("Cache-Control")
    assert hit.header("Date") == first.header("Date") and not hit.header("Age")
    assert hit.age() >= 1
    fresh_until = hit.fresh_until()
    assert fresh_until is not None and abs(fresh_until - first.fresh_until()) <= 1  # type: ignore[operator]
    assert not hit.header("xkey") and direct.header("xkey") == "city:1 catalog"


def test_pages_and_feeds_with_a_query_are_revalidated_each_second(nginx_site: Site) -> None:
    site = nginx_site
    for path in ("/cities/rosenheim", f"{ROSENHEIM_FEED}?limit=5"):
        get(site.url(path))
        hit = get(site.url(path))
        for _ in range(3):  # the second ended between two requests (more often on a busy machine)
            if hit.header("X-Cache-Status") == "HIT":
                break
            hit = get(site.url(path))
        assert hit.header("X-Cache-Status") == "HIT" and hit.header("Age") == "1", path
        assert not hit.header("xkey")


def test_a_publish_is_visible_once_the_purge_returns(nginx_site: Site) -> None:
    site = nginx_site
    for path in (MUENCHEN_FEED, "/feed.atom", ROSENHEIM_FEED):
        get(site.url(path))
        assert get(site.url(path)).header("X-Cache-Status") == "HIT", path
    release_id, acknowledged = site.publish("Neuer Stadtrat in München gewählt", city="muenchen")
    site.purge_for(release_id)
    for path in (MUENCHEN_FEED, "/feed.atom", "/cities/muenchen/feed.json"):
        answer = get(site.url(path))
        assert answer.shows("Neuer Stadtrat in München gewählt"), path
        assert answer.header("X-Cache-Status") == "MISS", path
        # Within a second, and the first fetch after a purge waits for one render (which, on
        # the suite's busy machine, can take a quarter of a second alone).
        assert answer.at - acknowledged <= 1.0 + ONE_FETCH_S, f"{path}: {answer.at - acknowledged:.2f} s"
    # Rosenheim's feed was not touched: still the copy cached before.
    kept = get(site.url(ROSENHEIM_FEED))
    assert kept.header("X-Cache-Status") == "HIT" and not kept.shows("Neuer Stadtrat in München gewählt")


def test_a_feed_is_kept_until_purged_and_a_page_is_current_within_a_second(nginx_site: Site) -> None:
    site = nginx_site
    for path in (ROSENHEIM_FEED, "/cities/rosenheim", f"{ROSENHEIM_FEED}?limit=5"):
        get(site.url(path))
    _, acknowledged = site.publish("Ohne Purge")
    for path in ("/cities/rosenheim", f"{ROSENHEIM_FEED}?limit=5"):
        shown = wait_until_shown(site, path, "Ohne Purge")
        assert shown.shows("Ohne Purge"), path
        assert shown.at - acknowledged <= 1.0 + ONE_FETCH_S, f"{path}: {shown.at - acknowledged:.2f} s"
    time.sleep(max(0.0, acknowledged + 1.2 - time.time()))
    kept = get(site.url(ROSENHEIM_FEED))
    if kept.header("X-Cache-Status") == "HIT":  # not at a point of the expiry grid meanwhile
        assert not kept.shows("Ohne Purge"), "a feed copy is current until the worker purges it"


def test_the_delivery_worker_purges_each_changed_feed_in_every_format_and_encoding(
    nginx_site: Site, site_app: Flask
) -> None:
    site = nginx_site
    settings = Settings(base_url=BASE_URL, cache_urls=tuple(site.purge_urls))
    with site_app.app_context():
        run_cycle(db.session(), settings, micros(site_app.config["CLOCK"]()))  # the purge target starts
        db.session().close()
    variants = [
        (f"/cities/rosenheim/feed.{fmt}", encoding)
        for fmt in ("atom", "rss", "json")
        for encoding in ("br", "gzip", "identity")
    ]
    for path, encoding in variants:
        get(site.url(path), {"Accept-Encoding": encoding})
        assert get(site.url(path), {"Accept-Encoding": encoding}).header("X-Cache-Status") == "HIT"
    site.publish("Vom Zustelldienst gemeldet")
    with site_app.app_context():
        report = run_cycle(db.session(), settings, micros(site_app.config["CLOCK"]()))
        db.session().close()
    assert report.delivered == {"purge": 1} and not report.failed
    for path, encoding in variants:
        answer = get(site.url(path), {"Accept-Encoding": encoding})
        assert answer.header("X-Cache-Status") == "MISS", (path, encoding)
        assert answer.header("Content-Encoding") == ("" if encoding == "identity" else encoding)


def test_a_catalog_change_shown_in_feeds_is_purged_from_them(nginx_site: Site, site_app: Flask) -> None:
    """A city renamed: its feeds (their titles) and the feeds holding its releases (their
    categories) are purged; other cities' feeds stay."""
    site = nginx_site
    site.publish("Vor der Umbenennung", city="muenchen")
    settings = Settings(base_url=BASE_URL, cache_urls=tuple(site.purge_urls))
    with site_app.app_context():
        run_cycle(db.session(), settings, micros(site_app.config["CLOCK"]()))
        db.session().close()
    for path in (MUENCHEN_FEED, "/feed.atom", ROSENHEIM_FEED):
        get(site.url(path))
    with site_app.app_context():
        session = db.session()
        city = catalog.city_by_slug(session, "muenchen")
        assert city is not None
        renamed = f"{city.name} (Landeshauptstadt)"
        catalog.upsert_city(session, city.slug, renamed, city.state, city.region, city.ags)
        session.commit()
        run_cycle(session, settings, micros(site_app.config["CLOCK"]()))
        session.close()
    for path in (MUENCHEN_FEED, "/feed.atom"):
        assert get(site.url(path)).shows(renamed), path
    assert get(site.url(ROSENHEIM_FEED)).header("X-Cache-Status") == "HIT"


def test_if_none_match_is_answered_304_by_nginx(nginx_site: Site) -> None:
    site = nginx_site
    full = get(site.url(ROSENHEIM_FEED))
    etag = full.header("ETag")
    again = get(site.url(ROSENHEIM_FEED), {"If-None-Match": etag})
    assert again.status == 304 and not again.body and again.header("ETag") == etag
    assert again.header("X-Cache-Status") == "HIT"
    gzipped = get(site.url(ROSENHEIM_FEED), {"Accept-Encoding": "gzip, deflate"})
    assert gzipped.header("Content-Encoding") == "gzip"
    assert (
        get(
            site.url(ROSENHEIM_FEED), {"If-None-Match": gzipped.header("ETag"), "Accept-Encoding": "gzip"}
        ).status
        == 304
    )
    brotli = get(site.url(ROSENHEIM_FEED), {"Accept-Encoding": "gzip, br"})
    assert brotli.header("Content-Encoding") == "br"


def test_an_embargo_lifts_through_nginx_on_time_and_not_before(nginx_site: Site) -> None:
    """As through Varnish: the same copy until the instant, a max-age that ends on the expiry
    grid, and the release shown within a second of the purge the delivery worker sends at the
    instant (here the test sends it, as the worker would)."""
    site = nginx_site
    cached = get(site.url(ROSENHEIM_FEED))
    lift = embargo_instant(EMBARGO_LEAD_S)
    release_id, _ = site.publish("Sperrfrist bis gleich", published_at=lift.isoformat())
    shown_at, answers = watch_an_embargo_lift(site, cached, release_id, lift, 2.5, "X-Cache-Status")
    assert shown_at - lift.timestamp() <= 1.0 + ONE_FETCH_S
    assert answers > 40


def test_credentials_bypass_the_cache(nginx_site: Site) -> None:
    site = nginx_site
    journalist = make_token(site.app, role="journalist", publisher=None, cities=())
    for path in (ROSENHEIM_FEED, "/cities/rosenheim"):
        for _ in range(2):
            answer = get(site.url(path), bearer(journalist))
            assert answer.status == 200 and answer.header("X-Cache-Status") == "BYPASS", path
    assert "private" in get(site.url(ROSENHEIM_FEED), bearer(journalist)).header("Cache-Control")
    public = get(site.url(ROSENHEIM_FEED))
    assert "public" in public.header("Cache-Control")


def test_a_feed_spelled_otherwise_is_never_kept_past_its_second(nginx_site: Site) -> None:
    """Only the URL the worker purges is kept long: any other spelling of it is revalidated."""
    site = nginx_site
    spelled = "/cities/rosenh%65im/feed.atom"
    get(site.url(spelled))
    _, acknowledged = site.publish("Anders geschrieben")
    shown = wait_until_shown(site, spelled, "Anders geschrieben")
    assert shown.shows("Anders geschrieben")
    assert shown.at - acknowledged <= 1.0 + ONE_FETCH_S


@pytest.mark.parametrize("origin_env", [{"FEEDSVC_FEED_MAX_AGE": "1"}])
def test_stale_copies_go_out_with_max_age_0_while_the_app_is_down(
    own_nginx_site: Site, own_origin: servers.Server
) -> None:
    site, origin = own_nginx_site, own_origin
    clear_of_a_grid_point()  # max-age=1, not 0 just before a grid point (which nginx would not keep)
    cached = get(site.url(ROSENHEIM_FEED))
    assert cached.status == 200
    stop_at_once(origin)
    deadline = time.monotonic() + 3  # a copy fresh for 1 s lives to the end of the second after
    answer = get(site.url(ROSENHEIM_FEED))
    while answer.header("X-Cache-Status") != "STALE" and time.monotonic() < deadline:
        assert answer.status == 200 and answer.body == cached.body
        time.sleep(0.1)
        answer = get(site.url(ROSENHEIM_FEED))
    assert answer.status == 200 and answer.body == cached.body
    assert answer.header("X-Cache-Status") == "STALE"
    assert answer.max_age() == 0
    assert get(site.url("/cities/muenchen/feed.json")).status == 502  # never cached: nothing to serve
