"""feedsvc behind the real nginx with deploy/nginx/feedsvc.conf: copies fresh only until
the end of the second they were fetched in, a purge that waits for that, exact embargo
lifts, 304s and an Age that accounts for the copy's time in the cache.

Skipped when nginx is not installed (`apt-get install nginx`).
"""

from __future__ import annotations

import time

from bench import servers
from tests.api_support import bearer, make_token
from tests.cache_support import (
    MUENCHEN_FEED,
    ROSENHEIM_FEED,
    Site,
    embargo_instant,
    get,
    nginx_site,
    origin,
    origin_env,
    wait_until_shown,
)

__all__ = ["nginx_site", "origin", "origin_env"]  # fixtures

# nginx refetches a copy at the end of the second it was fetched in; the first request after
# that waits for the app (one render after a change).
ONE_FETCH_S = 0.25


def test_hits_carry_the_apps_headers_an_age_and_no_surrogate_keys(nginx_site: Site) -> None:
    site = nginx_site
    direct = get(site.origin + ROSENHEIM_FEED)
    first = get(site.url(ROSENHEIM_FEED))
    hit = get(site.url(ROSENHEIM_FEED))
    if hit.header("X-Cache-Status") != "HIT":  # the second ended between the two requests
        hit = get(site.url(ROSENHEIM_FEED))
    assert first.header("X-Cache-Status") in ("MISS", "EXPIRED")
    assert hit.header("X-Cache-Status") == "HIT"
    assert hit.body == direct.body and hit.header("ETag") == direct.header("ETag")
    assert hit.header("Cache-Control") == direct.header("Cache-Control")
    assert hit.header("Age") == "1" and not first.header("Age")
    assert not hit.header("xkey") and direct.header("xkey") == "city:1 catalog"
    page = get(site.url("/cities/rosenheim"))
    assert page.status == 200 and page.header("X-Cache-Status") in ("MISS", "EXPIRED", "HIT")


def test_a_publish_is_visible_once_the_purge_returns(nginx_site: Site) -> None:
    site = nginx_site
    for path in (MUENCHEN_FEED, "/feed.atom", ROSENHEIM_FEED):
        get(site.url(path))
    release_id, acknowledged = site.publish("Neuer Stadtrat in München gewählt", city="muenchen")
    site.purge_for(release_id)  # nginx: returns once every copy from before has expired
    purged = time.time()
    assert purged - acknowledged <= 1.1
    for path in (MUENCHEN_FEED, "/feed.atom"):
        answer = get(site.url(path))
        assert answer.shows("Neuer Stadtrat in München gewählt"), path
        assert answer.at - acknowledged <= 1.0 + ONE_FETCH_S
    assert not get(site.url(ROSENHEIM_FEED)).shows("Neuer Stadtrat in München gewählt")


def test_a_publish_is_visible_within_a_second_without_any_purge(nginx_site: Site) -> None:
    site = nginx_site
    get(site.url(ROSENHEIM_FEED))
    _, acknowledged = site.publish("Ohne Purge sichtbar")
    shown = wait_until_shown(site, ROSENHEIM_FEED, "Ohne Purge sichtbar")
    assert shown.shows("Ohne Purge sichtbar")
    assert shown.at - acknowledged <= 1.0 + ONE_FETCH_S, f"{shown.at - acknowledged:.2f} s"


def test_if_none_match_is_answered_304_by_nginx(nginx_site: Site) -> None:
    site = nginx_site
    full = get(site.url(ROSENHEIM_FEED))
    etag = full.header("ETag")
    again = get(site.url(ROSENHEIM_FEED), {"If-None-Match": etag})
    assert again.status == 304 and not again.body and again.header("ETag") == etag
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
    site = nginx_site
    get(site.url(ROSENHEIM_FEED))
    lift = embargo_instant(4)
    release_id, _ = site.publish("Sperrfrist bis gleich", published_at=lift.isoformat())
    site.purge_for(release_id)
    shown_at = None
    answers = 0
    while time.time() < lift.timestamp() + 2.5:
        answer = get(site.url(ROSENHEIM_FEED))
        answers += 1
        if answer.shows("Sperrfrist bis gleich"):
            assert answer.at >= lift.timestamp(), "shown before its embargo instant"
            shown_at = answer.at if shown_at is None else shown_at
        else:
            assert shown_at is None, "shown, then gone again"
            fresh_until = answer.fresh_until()
            assert fresh_until is not None
            # nginx says Age: 1 of every hit, its copies being less than a second old.
            assert fresh_until <= lift.timestamp() + 0.1, (
                f"a client may keep the pre-lift copy {fresh_until - lift.timestamp():.1f} s past the lift "
                f"({answer.header('Cache-Control')}, Age {answer.age()}, {answer.header('X-Cache-Status')})"
            )
        time.sleep(0.05)
    assert shown_at is not None, "never shown"
    assert shown_at - lift.timestamp() <= 1.0 + ONE_FETCH_S
    assert answers > 40


def test_credentials_bypass_the_cache(nginx_site: Site) -> None:
    site = nginx_site
    journalist = make_token(site.app, role="journalist", publisher=None, cities=())
    for _ in range(2):
        private = get(site.url(ROSENHEIM_FEED), bearer(journalist))
        assert private.status == 200 and private.header("X-Cache-Status") == "BYPASS"
        assert "private" in private.header("Cache-Control")
    public = get(site.url(ROSENHEIM_FEED))
    assert "public" in public.header("Cache-Control")


def test_stale_copies_go_out_with_max_age_0_while_the_app_is_down(
    nginx_site: Site, origin: servers.Server
) -> None:
    site = nginx_site
    cached = get(site.url(ROSENHEIM_FEED))
    origin.stop()
    time.sleep(1.1)
    answer = get(site.url(ROSENHEIM_FEED))
    assert answer.status == 200 and answer.body == cached.body
    assert answer.header("X-Cache-Status") == "STALE"
    assert answer.max_age() == 0
    assert get(site.url("/cities/muenchen/feed.json")).status == 502  # never cached: nothing to serve
