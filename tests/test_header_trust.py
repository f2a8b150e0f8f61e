"""No request header changes what other clients get: links, cached renderings, redirects.

With FEEDSVC_BASE_URL set, a foreign `Host` and any `X-Forwarded-*` or `Forwarded`
header leave every link and redirect as they are, and nothing cached changes. Without
it (development) links follow the request's host, but a rendering made for a foreign
host is never kept for anyone else. A real `feedsvc serve` ignores `X-Forwarded-Proto`
from a local client when no proxy is configured.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench import servers
from feedsvc.paths import FEED_FORMATS
from feedsvc.web.feeds.cache import feed_cache
from feedsvc.web.urls import is_shareable
from tests.conftest import AppFactory
from tests.factories import add_release, make_catalog

FOREIGN = "evil.example"
HOSTILE_HEADERS = {
    "Host": FOREIGN,
    "X-Forwarded-Host": FOREIGN,
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/evil",
    "X-Forwarded-For": "203.0.113.9",
    "Forwarded": f"for=203.0.113.9;host={FOREIGN};proto=https",
}
FEEDS = [
    f"{subject}/feed.{fmt}"
    for subject in ("", "/cities/rosenheim", "/topics/verkehr")
    for fmt in FEED_FORMATS
]
PAGES = ["/", "/cities/rosenheim", "/topics/verkehr", "/feeds", "/feeds.opml", "/sitemap.xml", "/robots.txt"]
REDIRECTS = ["/feed.atom?limit=50", "/cities/rosenheim/", "/feed.atom?utm_source=x"]


@pytest.fixture
def seeded(app: Flask) -> int:
    make_catalog(app)
    return add_release(app, topics=("verkehr",), minutes_ago=5)


def _release_page(client: FlaskClient, release_id: int) -> str:
    location = client.get(f"/releases/{release_id}").headers.get("Location")
    return location or f"/releases/{release_id}"


def test_with_a_base_url_no_header_changes_a_link_a_cached_copy_or_a_redirect(
    app: Flask, client: FlaskClient, seeded: int
) -> None:
    urls = [*FEEDS, *PAGES, _release_page(client, seeded), "/api/v1/releases", f"/api/v1/releases/{seeded}"]
    before = {url: client.get(url) for url in urls}
    cached_before = len(feed_cache(app))
    for url in urls:
        hostile = client.get(url, headers=HOSTILE_HEADERS)
        assert hostile.status_code == before[url].status_code, url
        assert hostile.data == before[url].data, url
        assert FOREIGN.encode() not in hostile.data and b"https://feeds.example.test" not in hostile.data, url
    for url in REDIRECTS:
        plain, hostile = client.get(url), client.get(url, headers=HOSTILE_HEADERS)
        assert plain.status_code == hostile.status_code == 301, url
        assert hostile.headers["Location"] == plain.headers["Location"], url
        assert FOREIGN not in hostile.headers["Location"]
    # Nothing new was kept, and what was kept still answers every other client the same.
    assert len(feed_cache(app)) == cached_before
    for url in urls:
        assert client.get(url).data == before[url].data, url


def test_without_a_base_url_a_foreign_host_gets_its_own_links_and_nothing_is_kept(
    make_app: AppFactory,
) -> None:
    app = make_app(BASE_URL=None)
    make_catalog(app)
    add_release(app, minutes_ago=5)
    client = app.test_client()
    own = client.get("/cities/rosenheim/feed.atom")
    assert b"http://localhost/cities/rosenheim" in own.data
    kept = len(feed_cache(app))
    assert kept >= 1
    foreign = client.get("/cities/rosenheim/feed.atom", headers={"Host": FOREIGN})
    assert f"http://{FOREIGN}/cities/rosenheim".encode() in foreign.data
    opml = client.get("/feeds.opml", headers={"Host": FOREIGN})
    assert FOREIGN.encode() in opml.data
    client.get("/feeds", headers={"Host": FOREIGN})
    assert len(feed_cache(app)) == kept
    for url in ("/cities/rosenheim/feed.atom", "/feeds.opml", "/feeds"):
        assert FOREIGN.encode() not in client.get(url).data, url
    # Forwarded headers are ignored without FEEDSVC_PROXY_COUNT.
    forwarded = client.get("/feed.atom", headers={k: v for k, v in HOSTILE_HEADERS.items() if k != "Host"})
    assert FOREIGN.encode() not in forwarded.data and b"https://localhost" not in forwarded.data


@pytest.mark.parametrize(
    ("base_url", "trusted_hosts", "host", "shareable"),
    [
        ("https://presse.example.org", None, FOREIGN, True),
        (None, ["presse.example.org"], "presse.example.org", True),
        (None, None, "localhost", True),
        (None, None, "localhost:8000", True),
        (None, None, "127.0.0.1:8000", True),
        (None, None, "[::1]:8000", True),
        (None, None, "[::1]", True),
        (None, None, "LOCALHOST", True),
        (None, None, FOREIGN, False),
        (None, [], FOREIGN, False),
        (None, None, "localhost.evil.example", False),
        (None, None, "127.0.0.1.evil.example:80", False),
    ],
)
def test_which_renderings_are_kept(
    base_url: str | None, trusted_hosts: list[str] | None, host: str, shareable: bool
) -> None:
    assert is_shareable(base_url, trusted_hosts, host) is shareable


def test_serve_ignores_forwarded_proto_from_a_local_client(tmp_path: Path, database_url: str) -> None:
    """gunicorn by default believes X-Forwarded-Proto from 127.0.0.1; `serve` does not."""
    port = servers.free_port()
    env = {"FEEDSVC_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    # Links are gunicorn's and the app's to make; the delivery worker beside them has no part in it.
    server = servers.start_feedsvc(
        env=env, port=port, log=tmp_path / "serve.log", workers=1, delivery_worker=False
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/feed.atom",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    finally:
        server.stop()
    assert f"http://127.0.0.1:{port}/feed.atom".encode() in body
    assert b"https://127.0.0.1" not in body
