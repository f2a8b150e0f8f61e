"""Surrogate keys and the purge client, without a real cache: every feed and public page
names the subjects it shows in `xkey`, and `worker.purge.purge` speaks to Varnish and
nginx as their configurations in deploy/ expect (a stub server stands in for both)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc import db
from feedsvc.store import catalog
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER
from feedsvc.worker.purge import PURGE_HEADER, SECOND_HEADER, purge
from tests.conftest import FakeClock
from tests.factories import add_release, make_catalog


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
    make_catalog(app)
    release_id = add_release(app, title="Kulturpreis verliehen", topics=("kultur",), minutes_ago=10)
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
    make_catalog(app)
    release_id = add_release(app, title="Noch gesperrt", minutes_ago=-30)
    hidden = client.get(f"/releases/{release_id}")
    assert hidden.status_code == 404
    assert (
        hidden.headers[SURROGATE_KEY_HEADER] == f"city:{_ids(app)['rosenheim']} release:{release_id} catalog"
    )


@dataclass
class Stub:
    """What a stub cache was asked, and how it answers."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    status: int = 200
    # nginx: answer with the second, which moves on only after `second_lasts` seconds.
    nginx: bool = False
    started: float = field(default_factory=time.time)
    second_lasts: float = 0.3

    def second(self) -> int:
        return 1000 + int((time.time() - self.started) / self.second_lasts)


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PURGE(self) -> None:
            state.requests.append((self.command, self.path, self.headers.get(PURGE_HEADER, "")))
            body = b"ok"
            self.send_response(state.status)
            if state.nginx:
                self.send_header(SECOND_HEADER, str(state.second()))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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


def test_an_nginx_purge_returns_once_its_second_is_over(stub: tuple[Stub, str]) -> None:
    state, base = stub
    state.nginx = True
    before = state.second()
    purge([f"{base}/.feedsvc/purge"], ["city:3"])
    assert state.second() > before
    assert 2 <= len(state.requests) <= 60  # asked again until the second moved on


def test_caches_get_the_whole_answer_while_max_age_counts_down_to_a_lift(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    """nginx keeps a copy's old headers on a 304: while a feed's max-age is shortened for an
    embargo lift, a cache's revalidation (Cache-Control: no-cache) is answered in full."""
    make_catalog(app)
    add_release(app, title="Schon sichtbar", minutes_ago=5)
    feed = client.get("/cities/rosenheim/feed.atom")
    etag = feed.headers["ETag"]
    cache_asks = {"If-None-Match": etag, "Cache-Control": "no-cache"}
    assert client.get("/cities/rosenheim/feed.atom", headers=cache_asks).status_code == 304
    assert client.get("/cities/rosenheim", headers={"If-None-Match": "x"}).status_code == 200

    add_release(app, title="Gleich sichtbar", minutes_ago=-2)  # an embargo lifting in 2 minutes
    feed = client.get("/cities/rosenheim/feed.atom")
    assert "max-age=120" in feed.headers["Cache-Control"]
    etag = feed.headers["ETag"]
    client_asks = {"If-None-Match": etag}
    assert client.get("/cities/rosenheim/feed.atom", headers=client_asks).status_code == 304
    whole = client.get("/cities/rosenheim/feed.atom", headers={**client_asks, "Cache-Control": "no-cache"})
    assert whole.status_code == 200 and whole.headers["ETag"] == etag
    assert "max-age=120" in whole.headers["Cache-Control"]

    clock.advance(seconds=90)
    page = client.get("/cities/rosenheim")
    assert page.headers["Cache-Control"] == "public, max-age=30"
    page_asks = {"If-None-Match": page.headers["ETag"]}
    assert client.get("/cities/rosenheim", headers=page_asks).status_code == 304
    assert (
        client.get("/cities/rosenheim", headers={**page_asks, "Cache-Control": "no-cache"}).status_code == 200
    )
