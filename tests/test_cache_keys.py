"""Surrogate keys and the purge client, without a real cache: every feed and public page
names the subjects it shows in `xkey`, and `worker.purge.purge` speaks to Varnish and
nginx as their configurations in deploy/ expect (a stub server stands in for both)."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc import db
from feedsvc.store import catalog
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER
from feedsvc.worker.purge import BY_PATH_HEADER, PURGE_HEADER, purge
from tests.conftest import FakeClock
from tests.databases import fill_once
from tests.factories import add_release, make_catalog
from tests.loopback import running


def _ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        session = db.session()
        found = {slug: catalog.city_by_slug(session, slug) for slug in ("rosenheim", "muenchen")}
        ids = {slug: city.id for slug, city in found.items() if city is not None}
        rosenheim = found["rosenheim"]
        assert rosenheim is not None
        ids["region-rosenheim"] = rosenheim.region_id
        topic = catalog.topic_by_slug(session, "kultur")
        assert topic is not None
        ids["kultur"] = topic.id
        return ids


@pytest.fixture
def tagged(app: Flask) -> tuple[FlaskClient, dict[str, int], int]:
    def fill() -> int:
        make_catalog(app)
        return add_release(app, title="Kulturpreis verliehen", topics=("kultur",), minutes_ago=10)

    release_id = fill_once(app, "a release in Kultur, for cache keys", fill)
    return app.test_client(), _ids(app), release_id


def test_a_feed_names_its_own_subject_only(tagged: tuple[FlaskClient, dict[str, int], int]) -> None:
    client, ids, _ = tagged
    city, region, topic = ids["rosenheim"], ids["region-rosenheim"], ids["kultur"]
    expected = {
        "/feed.atom": "all catalog",
        "/cities/rosenheim/feed.rss": f"city:{city} catalog",
        "/regions/region-rosenheim/feed.json": f"region:{region} catalog",
        "/topics/kultur/feed.atom": f"topic:{topic} catalog",
        "/cities/rosenheim/topics/kultur/feed.atom": f"city:{city}:topic:{topic} catalog",
        "/cities/muenchen/feed.atom": f"city:{ids['muenchen']} catalog",
    }
    for path, keys in expected.items():
        first = client.get(path)  # rendered by the view
        again = client.get(path)  # answered by the poll front
        assert first.headers[SURROGATE_KEY_HEADER] == again.headers[SURROGATE_KEY_HEADER] == keys, path
        not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert not_modified.status_code == 304 and not_modified.headers[SURROGATE_KEY_HEADER] == keys
        gzipped = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert gzipped.headers[SURROGATE_KEY_HEADER] == keys


def test_pages_name_what_they_show(tagged: tuple[FlaskClient, dict[str, int], int]) -> None:
    client, ids, release_id = tagged
    city, topic = ids["rosenheim"], ids["kultur"]
    assert client.get("/").headers[SURROGATE_KEY_HEADER] == "all catalog"
    assert client.get("/cities/rosenheim").headers[SURROGATE_KEY_HEADER] == f"city:{city} catalog"
    assert client.get("/feeds").headers[SURROGATE_KEY_HEADER] == "catalog"
    # The OPML list names the city×topic feeds that have releases: any release may add one.
    assert client.get("/feeds.opml").headers[SURROGATE_KEY_HEADER] == "all catalog"
    moved = client.get(f"/releases/{release_id}")
    assert moved.status_code == 301
    keys = f"city:{city} topic:{topic} release:{release_id}"
    assert moved.headers[SURROGATE_KEY_HEADER] == keys  # the title decides where it points
    page = client.get(moved.headers["Location"])
    assert page.status_code == 200 and page.headers[SURROGATE_KEY_HEADER] == f"{keys} catalog"
    # An id nobody has yet: the next publish may take it, and every publish changes "all".
    unknown = client.get("/releases/999999")
    assert (
        unknown.status_code == 404 and unknown.headers[SURROGATE_KEY_HEADER] == "all release:999999 catalog"
    )
    assert client.get("/nirgends").headers[SURROGATE_KEY_HEADER] == "catalog"


def test_an_embargoed_release_page_is_tagged_for_its_lift(app: Flask, client: FlaskClient) -> None:
    """Tagged as the 404 of an id that never existed (its city would give it away), with the
    keys the purge at its instant names: "all" and the release's own."""
    make_catalog(app)
    release_id = add_release(app, title="Noch gesperrt", minutes_ago=-30)
    hidden = client.get(f"/releases/{release_id}")
    assert hidden.status_code == 404
    assert hidden.headers[SURROGATE_KEY_HEADER] == f"all release:{release_id} catalog"
    unknown = client.get(f"/releases/{release_id + 1}")
    assert unknown.headers[SURROGATE_KEY_HEADER] == f"all release:{release_id + 1} catalog"


@dataclass
class Stub:
    """What a stub cache was asked, and how it answers."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    status: int = 200
    # nginx: the key purge answers where to purge by path; each path purge is recorded with
    # its Accept-Encoding, and answers 404 for the paths in `not_cached`.
    nginx: bool = False
    by_path: list[tuple[str, str]] = field(default_factory=list)
    not_cached: set[str] = field(default_factory=set)
    connections: set[int] = field(default_factory=set)


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps connections open, as nginx does

        def do_PURGE(self) -> None:
            body = b"ok"
            status = state.status
            if state.nginx and self.path.startswith("/.feedsvc/purge/"):
                state.by_path.append((self.path, self.headers.get("Accept-Encoding", "")))
                state.connections.add(self.client_address[1])
                status = 404 if self.path in state.not_cached else status
            else:
                state.requests.append((self.command, self.path, self.headers.get(PURGE_HEADER, "")))
            self.send_response(status)
            if state.nginx:
                self.send_header(BY_PATH_HEADER, "/.feedsvc/purge")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with running(server):
        yield state, f"http://127.0.0.1:{server.server_address[1]}"


def test_one_request_per_cache_names_every_key(stub: tuple[Stub, str]) -> None:
    state, base = stub
    purge([f"{base}/", f"{base}/other"], ["all", "city:3", "city:3:topic:5", "all", "release:42"])
    assert state.requests == [
        ("PURGE", "/", "all city:3 city:3:topic:5 release:42"),
        ("PURGE", "/other", "all city:3 city:3:topic:5 release:42"),
    ]
    purge([f"{base}/"], [])
    purge([], ["all"])
    assert len(state.requests) == 2


def test_refusals_and_bad_input_raise(stub: tuple[Stub, str]) -> None:
    state, base = stub
    state.status = 403
    with pytest.raises(OSError, match="403"):
        purge([f"{base}/"], ["all"])
    with pytest.raises(OSError, match=r"refused|Errno"):
        purge(["http://127.0.0.1:1/"], ["all"], timeout=1.0)
    with pytest.raises(ValueError):
        purge([f"{base}/"], ["city 3"])
    with pytest.raises(ValueError):
        purge(["ftp://cache/"], ["all"])
    with pytest.raises(ValueError):
        purge(f"{base}/", ["all"])


def test_nginx_is_purged_by_path_in_every_encoding_over_one_connection(stub: tuple[Stub, str]) -> None:
    state, base = stub
    state.nginx = True
    feeds = ["/cities/rosenheim/feed.atom", "/cities/rosenheim/feed.rss", "/feed.json"]
    state.not_cached = {"/.feedsvc/purge/feed.json"}  # nothing to purge is no error
    purge([f"{base}/.feedsvc/purge"], ["city:3", "all"], feeds)
    assert state.requests == [("PURGE", "/.feedsvc/purge", "city:3 all")]
    assert state.by_path == [
        (f"/.feedsvc/purge{path}", encoding) for path in feeds for encoding in ("br", "gzip", "identity")
    ]
    assert len(state.connections) == 1
    state.status = 500
    with pytest.raises(OSError, match="500"):
        purge([f"{base}/.feedsvc/purge"], ["city:3"], feeds)
    with pytest.raises(ValueError):
        purge([f"{base}/.feedsvc/purge"], ["city:3"], ["cities/rosenheim/feed.atom"])
    with pytest.raises(ValueError):
        purge([f"{base}/.feedsvc/purge"], ["city:3"], ["/feed.atom?limit=5"])


def test_caches_get_the_whole_answer_while_max_age_counts_down_to_the_grid(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    """nginx keeps a copy's old headers on a 304: while a feed's max-age counts down to the
    next point of the expiry grid, a cache's revalidation (Cache-Control: no-cache) is
    answered in full; at a grid point, where the max-age is whole, with a 304."""
    make_catalog(app)
    add_release(app, title="Schon sichtbar", minutes_ago=5)
    add_release(app, title="Gleich sichtbar", minutes_ago=-2)  # pending or not: the same answers
    assert clock.now.second == 0
    feed = client.get("/cities/rosenheim/feed.atom")
    assert "max-age=60," in feed.headers["Cache-Control"]
    etag = feed.headers["ETag"]
    cache_asks = {"If-None-Match": etag, "Cache-Control": "no-cache"}
    assert client.get("/cities/rosenheim/feed.atom", headers=cache_asks).status_code == 304
    assert client.get("/cities/rosenheim", headers={"If-None-Match": "x"}).status_code == 200

    clock.advance(seconds=20)
    client_asks = {"If-None-Match": etag}
    assert client.get("/cities/rosenheim/feed.atom", headers=client_asks).status_code == 304
    whole = client.get("/cities/rosenheim/feed.atom", headers=cache_asks)
    assert whole.status_code == 200 and whole.headers["ETag"] == etag
    assert "max-age=40," in whole.headers["Cache-Control"]

    clock.advance(seconds=10)
    page = client.get("/cities/rosenheim")
    assert page.headers["Cache-Control"] == "public, max-age=30"
    page_asks = {"If-None-Match": page.headers["ETag"]}
    assert client.get("/cities/rosenheim", headers=page_asks).status_code == 304
    assert (
        client.get("/cities/rosenheim", headers={**page_asks, "Cache-Control": "no-cache"}).status_code == 200
    )
