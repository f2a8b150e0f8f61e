"""feedsvc behind the real Varnish with deploy/varnish/feedsvc.vcl: purge by subject key,
exact embargo lifts, 304s and Age from the cache, stale copies while the app is down.

Skipped when varnishd is not installed (`apt-get install varnish varnish-modules`).
"""

from __future__ import annotations

import math
import time
import urllib.request
from datetime import UTC, datetime

import pytest

from bench import servers
from feedsvc.worker.purge import purge
from tests.cache_support import (
    MUENCHEN_FEED,
    ROSENHEIM_FEED,
    Site,
    clear_of_a_grid_point,
    embargo_instant,
    get,
    origin,
    origin_env,
    own_origin,
    own_varnish_site,
    shared_varnish_site,
    site_app,
    site_database,
    stop_at_once,
    varnish_site,
    wait_until_shown,
    watch_an_embargo_lift,
)

__all__ = [  # fixtures
    "origin",
    "origin_env",
    "own_origin",
    "own_varnish_site",
    "shared_varnish_site",
    "site_app",
    "site_database",
    "varnish_site",
]

# The tests share one app server and one Varnish (tests/cache_support.py): on one worker.
pytestmark = pytest.mark.xdist_group("cache_varnish")

# How far ahead an embargo instant is placed: submitting the release takes a fraction of a
# second even on a busy machine, and the rest is watched before the instant.
EMBARGO_LEAD_S = 2


def test_responses_are_tagged_and_the_tags_stay_inside(varnish_site: Site) -> None:
    """The app names a response's subjects in `xkey`; Varnish keeps that to itself."""
    direct = get(varnish_site.origin + ROSENHEIM_FEED)
    assert direct.header("xkey") == "city:1 catalog"
    page = get(varnish_site.origin + "/cities/rosenheim")
    assert page.header("xkey") == "city:1 catalog"
    first, second = get(varnish_site.url(ROSENHEIM_FEED)), get(varnish_site.url(ROSENHEIM_FEED))
    assert (first.header("X-Cache"), second.header("X-Cache")) == ("MISS", "HIT")
    assert second.body == direct.body and second.header("ETag") == direct.header("ETag")
    assert not second.header("xkey")
    # The app's Cache-Control, whose max-age counts down to the next grid point: the copy's, fetched
    # a moment after `direct`, ends at the same instant (give or take the seconds' rounding).
    assert second.header("Cache-Control") == first.header("Cache-Control")
    assert abs(second.fresh_until() - direct.fresh_until()) <= 1  # type: ignore[operator]


def test_a_publish_is_visible_within_a_second_and_other_cities_stay_cached(varnish_site: Site) -> None:
    site = varnish_site
    for path in (ROSENHEIM_FEED, MUENCHEN_FEED, "/cities/rosenheim", "/feed.atom"):
        get(site.url(path))
        assert get(site.url(path)).header("X-Cache") == "HIT", path
    release_id, acknowledged = site.publish("Neuer Stadtrat in München gewählt", city="muenchen")
    site.purge_for(release_id)
    shown = wait_until_shown(site, MUENCHEN_FEED, "Neuer Stadtrat in München gewählt")
    assert shown.shows("Neuer Stadtrat in München gewählt")
    assert shown.at - acknowledged <= 1.0, f"visible {shown.at - acknowledged:.2f} s after the API answered"
    assert shown.header("X-Cache") == "MISS"
    assert (
        wait_until_shown(site, "/feed.atom", "Neuer Stadtrat in München gewählt").header("X-Cache") == "MISS"
    )
    # Rosenheim's feed and page were not touched: still the copies cached before, and aging.
    for path in (ROSENHEIM_FEED, "/cities/rosenheim"):
        kept = get(site.url(path))
        assert kept.header("X-Cache") == "HIT", path
        assert not kept.shows("Neuer Stadtrat in München gewählt")


def test_if_none_match_is_answered_304_by_the_cache(varnish_site: Site) -> None:
    site = varnish_site
    full = get(site.url(ROSENHEIM_FEED))
    etag = full.header("ETag")
    again = get(site.url(ROSENHEIM_FEED), {"If-None-Match": etag})
    assert again.status == 304 and not again.body
    assert again.header("X-Cache") == "HIT" and again.header("ETag") == etag
    gzipped = get(site.url(ROSENHEIM_FEED), {"Accept-Encoding": "gzip, deflate"})
    assert gzipped.header("Content-Encoding") == "gzip" and gzipped.header("ETag") == f'{etag[:-1]}-gzip"'
    brotli = get(site.url(ROSENHEIM_FEED), {"Accept-Encoding": "gzip, deflate, br"})
    assert brotli.header("Content-Encoding") == "br"
    refused = get(site.url(ROSENHEIM_FEED), {"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert not refused.header("Content-Encoding") and refused.body == full.body
    assert refused.header("X-Cache") == "HIT"  # the identity copy of the first request
    since = get(site.url(ROSENHEIM_FEED), {"If-Modified-Since": full.header("Last-Modified")})
    assert since.status == 304


def test_an_embargo_lifts_through_the_cache_on_time_and_not_before(varnish_site: Site) -> None:
    """The feed was cached before the embargoed release was submitted. Until the instant the
    cache holds the same copy (nothing is purged, nothing about the feed changes) and its
    max-age ends on the expiry grid, not at the lift, which it would give away. At the instant
    the delivery worker purges the release's subjects (here the test does, as the worker would:
    tests/test_delivery.py shows it never does so earlier), and the release shows within two
    seconds. A client keeping a copy keeps it no longer than the next grid point."""
    site = varnish_site
    cached = get(site.url(ROSENHEIM_FEED))
    assert get(site.url(ROSENHEIM_FEED)).header("X-Cache") == "HIT"
    lift = embargo_instant(EMBARGO_LEAD_S)
    release_id, _ = site.publish("Sperrfrist bis gleich", published_at=lift.isoformat())
    shown_at, answers = watch_an_embargo_lift(site, cached, release_id, lift, 3, "X-Cache")
    assert shown_at - lift.timestamp() <= 2.0
    assert answers > 50


@pytest.mark.parametrize("origin_env", [{"FEEDSVC_FEED_EXPIRY_GRID": "5"}])
def test_an_embargo_on_a_grid_point_lifts_through_the_cache_without_any_purge(own_varnish_site: Site) -> None:
    """Every copy's freshness ends at the points of the expiry grid (here every 5 seconds),
    the cache's and its clients' alike: an embargo on one is exact without any purge."""
    site = own_varnish_site
    get(site.url(ROSENHEIM_FEED))
    # The first grid point at least EMBARGO_LEAD_S ahead: the copy cached above is fresh until
    # then, or until an earlier grid point.
    lift = datetime.fromtimestamp((math.floor((time.time() + EMBARGO_LEAD_S) / 5) + 1) * 5, tz=UTC)
    site.publish("Sperrfrist zur vollen Zeit", published_at=lift.isoformat())
    shown_at = None
    while time.time() < lift.timestamp() + 2:
        answer = get(site.url(ROSENHEIM_FEED))
        if answer.shows("Sperrfrist zur vollen Zeit"):
            assert answer.at >= lift.timestamp(), "shown before its embargo instant"
            shown_at = answer.at if shown_at is None else shown_at
        else:
            assert shown_at is None, "shown, then gone again"
            fresh_until = answer.fresh_until()
            assert fresh_until is not None and fresh_until <= lift.timestamp() + 1, (
                f"{answer.header('Cache-Control')}, Age {answer.age()}"
            )
        time.sleep(0.05)
    assert shown_at is not None, "never shown"
    assert shown_at - lift.timestamp() <= 1.0


def test_purge_answers_how_many_objects_went_and_only_from_loopback(varnish_site: Site) -> None:
    site = varnish_site
    get(site.url(ROSENHEIM_FEED))
    get(site.url(ROSENHEIM_FEED), {"Accept-Encoding": "gzip"})
    request = urllib.request.Request(
        site.url("/"), method="PURGE", headers={"xkey-purge": "city:1 nothing:0"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["X-Purged"] == "2"
    purge(site.purge_urls, ["city:1"])  # nothing left to purge is no error
    with pytest.raises(ValueError):
        purge(site.purge_urls, ["city 1"])


@pytest.mark.parametrize(
    "origin_env", [{"FEEDSVC_FEED_MAX_AGE": "1", "FEEDSVC_FEED_STALE_WHILE_REVALIDATE": "0"}]
)
def test_stale_copies_are_served_while_the_app_is_down(
    own_varnish_site: Site, own_origin: servers.Server
) -> None:
    """stale-if-error: past its max-age a copy is served only while the app cannot answer."""
    site, origin = own_varnish_site, own_origin
    clear_of_a_grid_point()  # both copies below get max-age=1, not 0 just before a grid point
    cached = get(site.url(ROSENHEIM_FEED))
    assert cached.status == 200 and cached.max_age() == 1
    time.sleep(1.2)
    refetched = get(site.url(ROSENHEIM_FEED))
    assert refetched.header("X-Cache") == "MISS", (
        "an expired copy without stale-while-revalidate is refetched"
    )
    stop_at_once(origin)
    time.sleep(max(0.0, refetched.at + 1.2 - time.time()))  # until the copy is past its max-age
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        answer = get(site.url(ROSENHEIM_FEED))
        assert answer.status == 200 and answer.body == refetched.body
        assert answer.header("X-Cache") == "HIT stale" and answer.age() >= 1 == answer.max_age()
        time.sleep(0.2)
    assert get(site.url("/cities/muenchen/feed.json")).status == 503  # never cached: nothing to serve
