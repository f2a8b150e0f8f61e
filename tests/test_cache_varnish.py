"""feedsvc behind the real Varnish with deploy/varnish/feedsvc.vcl: purge by subject key,
exact embargo lifts, 304s and Age from the cache, stale copies while the app is down.

Skipped when varnishd is not installed (`apt-get install varnish varnish-modules`).
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from bench import servers
from feedsvc.worker.purge import purge
from tests.cache_support import (
    MUENCHEN_FEED,
    ROSENHEIM_FEED,
    Site,
    embargo_instant,
    get,
    origin,
    origin_env,
    varnish_site,
    wait_until_shown,
)

__all__ = ["origin", "origin_env", "varnish_site"]  # fixtures


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
    assert second.header("Cache-Control") == direct.header("Cache-Control")


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
    """The feed was cached before the embargoed release was submitted. The worker purges
    on the write (the app's answer then carries a max-age that ends at the lift) and, at
    the lift, again; here only the first purge is sent, so the cache alone must let the
    copy go at the lift. No answer may let a client keep the old copy past the lift."""
    site = varnish_site
    get(site.url(ROSENHEIM_FEED))
    assert get(site.url(ROSENHEIM_FEED)).header("X-Cache") == "HIT"
    lift = embargo_instant(4)
    release_id, _ = site.publish("Sperrfrist bis gleich", published_at=lift.isoformat())
    site.purge_for(release_id)
    shown_at = None
    answers = 0
    while time.time() < lift.timestamp() + 3:
        answer = get(site.url(ROSENHEIM_FEED))
        answers += 1
        if answer.shows("Sperrfrist bis gleich"):
            assert answer.at >= lift.timestamp(), "shown before its embargo instant"
            shown_at = answer.at if shown_at is None else shown_at
        else:
            assert shown_at is None, "shown, then gone again"
            fresh_until = answer.fresh_until()
            assert fresh_until is not None
            assert fresh_until <= lift.timestamp() + 1, (
                f"a client may keep the pre-lift copy {fresh_until - lift.timestamp():.1f} s past the lift "
                f"({answer.header('Cache-Control')}, Age {answer.age()})"
            )
        time.sleep(0.05)
    assert shown_at is not None, "never shown"
    assert shown_at - lift.timestamp() <= 2.0
    assert answers > 50


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
def test_stale_copies_are_served_while_the_app_is_down(varnish_site: Site, origin: servers.Server) -> None:
    """stale-if-error: past its max-age a copy is served only while the app cannot answer."""
    site = varnish_site
    cached = get(site.url(ROSENHEIM_FEED))
    assert cached.status == 200 and cached.max_age() == 1
    time.sleep(1.2)
    refetched = get(site.url(ROSENHEIM_FEED))
    assert refetched.header("X-Cache") == "MISS", (
        "an expired copy without stale-while-revalidate is refetched"
    )
    origin.stop()
    time.sleep(1.2)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        answer = get(site.url(ROSENHEIM_FEED))
        assert answer.status == 200 and answer.body == cached.body
        assert answer.header("X-Cache") == "HIT stale" and answer.age() >= 1 == answer.max_age()
        time.sleep(0.2)
    assert get(site.url("/cities/muenchen/feed.json")).status == 503  # never cached: nothing to serve
