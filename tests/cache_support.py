"""The caches in front, for real: feedsvc in gunicorn (`feedsvc serve`), Varnish or nginx
with the shipped configuration in front of it, each on a free loopback port with a working
directory of its own.

Starting a server costs seconds, so the tests of a file share one app server and one cache
(module-scoped, on a database of their own); each test gets the cache emptied of every feed
(`varnish_site`, `nginx_site`). A test that stops its app server, or needs other settings,
gets servers of its own (`own_origin`, `own_varnish_site`, `own_nginx_site`, with
`origin_env`). The files that use these are kept on one pytest-xdist worker each
(`xdist_group`), so that no other test resets the shared database meanwhile.

The app servers run on the real clock, so embargo tests submit releases a few seconds ahead.
Writes go through the API of the running server, and caches are purged the way the delivery
worker purges them: the changed subjects' keys and the release's own (and, for a cache that
purges by path, every feed of those subjects), once the write is acknowledged.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bench import servers
from feedsvc import create_app, db
from feedsvc.store import catalog, keys
from feedsvc.store.keys import release_key, release_keys
from feedsvc.store.releases import release_by_id
from feedsvc.store.scope import Scope
from feedsvc.worker.delivery import feed_paths
from feedsvc.worker.purge import purge
from tests.api_support import RELEASE, bearer, make_token
from tests.conftest import BASE_URL
from tests.databases import Databases
from tests.factories import make_catalog

ROSENHEIM_FEED = "/cities/rosenheim/feed.atom"
MUENCHEN_FEED = "/cities/muenchen/feed.atom"
TAG_AUTHORITY = "feeds.example.test"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    # When the answer had arrived, on the real clock.
    at: float

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def shows(self, text: str) -> bool:
        return text.encode() in self.body

    def max_age(self) -> int | None:
        found = re.search(r"max-age=(\d+)", self.header("Cache-Control"))
        return int(found.group(1)) if found else None

    def age(self) -> float:
        """The answer's age when it arrived (RFC 9111 §4.2.3): its Age header, or the time
        since its Date if that is more (a cache that passes the origin's Date on)."""
        stated = float(self.header("Age") or 0)
        date = self.header("Date")
        apparent = max(0.0, self.at - parsedate_to_datetime(date).timestamp()) if date else 0.0
        return max(stated, apparent)

    def fresh_until(self) -> float | None:
        """Until when a client may use this answer without asking again (RFC 9111 §4.2)."""
        max_age = self.max_age()
        return None if max_age is None else self.at + max_age - self.age()


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Answer:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return Answer(
                response.status, {k.lower(): v for k, v in response.headers.items()}, body, time.time()
            )
    except urllib.error.HTTPError as error:
        body = error.read()
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, body, time.time())


@dataclass
class Site:
    """feedsvc behind one cache: where to read (`front`), where to purge, how to write."""

    app: Flask
    origin: str
    front: str
    purge_urls: list[str]
    token: str

    def publish(
        self, title: str, city: str = "rosenheim", via: str | None = None, **fields: Any
    ) -> tuple[int, float]:
        """POSTs a release through the cache (writes pass through), or straight to the app
        server at `via`; its id and when the API acknowledged it. No purge yet: `purge_for`
        does that, as the worker would."""
        record = {**RELEASE, "title": title, "city": city, **fields}
        request = urllib.request.Request(
            f"{via or self.front}/api/v1/releases",
            data=json.dumps(record).encode(),
            headers={**bearer(self.token), "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201, response.status
            created: dict[str, Any] = json.loads(response.read())
        return int(created["id"]), time.time()

    def purge_for(self, release_id: int) -> None:
        """The worker's purge for a change of this release: its subjects and its own key."""
        with self.app.app_context():
            release = release_by_id(db.session(), release_id)
            assert release is not None
            subjects = sorted(release_keys(release))
            db.session().rollback()
        self.purge_keys(subjects, extra=[release_key(release_id)])

    def purge_keys(self, subject_keys: Sequence[str], extra: Sequence[str] = ()) -> None:
        """Purges as the delivery worker does: the keys, and every feed of their subjects
        for a cache that purges by path."""
        with self.app.app_context():
            paths = feed_paths(db.session(), subject_keys)
            db.session().rollback()
        purge(self.purge_urls, [*subject_keys, *extra], paths)

    def forget_every_feed(self) -> None:
        """Purges every feed of every subject there is (Varnish: every object, all carry
        "catalog"), so that a test starts with nothing cached."""
        with self.app.app_context():
            session = db.session()
            cities, topics = catalog.cities(session), catalog.topics(session)
            scopes = [Scope(), *(Scope(region_id=region.id) for region in catalog.regions(session))]
            scopes += [Scope(city_id=city.id) for city in cities]
            scopes += [Scope(topic_id=topic.id) for topic in topics]
            scopes += [Scope(city_id=city.id, topic_id=topic.id) for city in cities for topic in topics]
            session.rollback()
        self.purge_keys([keys.CATALOG_KEY, *(keys.scope_key(scope) for scope in scopes)])

    def url(self, path: str) -> str:
        return self.front + path


def _skip_unless(binary: str | None, what: str, hint: str) -> str:
    if binary is None:
        pytest.skip(f"{what} is not installed ({hint})")
    return binary


def origin_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of an app server on `database_url`, with the settings the deploy
    configurations ask for (one proxy in front) and `settings` (FEEDSVC_… names) on top."""
    return {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith("FEEDSVC_") and name != "GUNICORN_CMD_ARGS"
        },
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_BASE_URL": BASE_URL,
        "FEEDSVC_TAG_AUTHORITY": TAG_AUTHORITY,
        "FEEDSVC_SECRET_KEY": "test-secret",
        "FEEDSVC_PROXY_COUNT": "1",
        **settings,
    }


@contextmanager
def running_origin(
    database_url: str,
    directory: Path,
    settings: dict[str, str] | None = None,
    *,
    delivery_worker: bool = False,
    workers: int = 2,
) -> Iterator[servers.Server]:
    """`feedsvc serve` (2 gunicorn workers unless `workers` says otherwise) on the database;
    without a delivery worker unless asked for: the tests purge as the worker would, when they
    choose (a worker without targets would also take every change off the outbox).

    Stopped at once in the end (`stop_at_once`): nothing is asked of it any more."""
    port = servers.free_port()
    # Its metrics files beside its log, so that stopping it at once leaves nothing behind.
    metrics = directory / f"metrics-{port}"
    metrics.mkdir()
    server = servers.start_feedsvc(
        env=origin_environment(database_url, PROMETHEUS_MULTIPROC_DIR=str(metrics), **(settings or {})),
        port=port,
        log=directory / f"feedsvc-{port}.log",
        delivery_worker=delivery_worker,
        workers=workers,
    )
    try:
        yield server
    finally:
        stop_at_once(server)


def stop_at_once(server: servers.Server) -> None:
    """Ends the app server as a crash would: its whole process group is killed. A graceful
    stop lets gunicorn finish with every open connection first (those a cache keeps open
    too), which takes seconds."""
    server.stop(grace_s=0)


@contextmanager
def varnish_in_front(app: Flask, backend_ports: Sequence[int], directory: Path) -> Iterator[Site]:
    """Varnish with the shipped VCL before the app servers (a director spreads requests over
    them when there are several: `servers.render_vcl`)."""
    _skip_unless(servers.varnishd_binary(), "varnishd", servers.VARNISH_INSTALL_HINT)
    port = servers.free_port()
    vcl = servers.render_vcl(directory / f"varnish-{port}", backend_ports=backend_ports)
    complaint = _vcl_complaint(vcl, len(backend_ports))
    if complaint and "xkey" in complaint:
        pytest.skip(f"vmod xkey is missing ({servers.VARNISH_INSTALL_HINT}): {complaint}")
    assert complaint is None, complaint
    cache = servers.start_varnish(vcl, port=port, memory="64m")
    try:
        base = f"http://127.0.0.1:{port}"
        yield Site(app, f"http://127.0.0.1:{backend_ports[0]}", base, [base + "/"], _admin_token(app))
    finally:
        cache.stop()


# What varnishd said of the shipped VCL rendered for so many app servers: the rendered files
# differ only in their ports, and compiling one (a C compiler run) takes about a second.
_vcl_complaints: dict[int, str | None] = {}


def _vcl_complaint(vcl: Path, backends: int) -> str | None:
    if backends not in _vcl_complaints:
        _vcl_complaints[backends] = servers.check_vcl(vcl)
    return _vcl_complaints[backends]


@contextmanager
def nginx_in_front(app: Flask, origin: servers.Server) -> Iterator[Site]:
    _skip_unless(servers.nginx_binary(), "nginx", servers.NGINX_INSTALL_HINT)
    if servers.cache_purge_module() is None:
        pytest.skip(f"ngx_cache_purge is not installed ({servers.NGINX_INSTALL_HINT})")
    # Not under tmp_path: started as root, nginx's workers run as nobody, who may not enter
    # pytest's private directories.
    with tempfile.TemporaryDirectory(prefix="feedsvc-nginx-") as directory:
        workdir = Path(directory)
        proxy_port, static_port = servers.free_port(), servers.free_port()
        config = servers.render_nginx_config(
            workdir, upstream_port=origin.port, proxy_port=proxy_port, static_port=static_port
        )
        complaint = servers.check_nginx_config(config)
        assert complaint is None, complaint
        cache = servers.start_nginx(config, proxy_port=proxy_port, static_port=static_port)
        try:
            base = f"http://127.0.0.1:{proxy_port}"
            yield Site(app, origin.base_url, base, [base + "/.feedsvc/purge"], _admin_token(app))
        finally:
            cache.stop()


def _admin_token(app: Flask) -> str:
    return make_token(app, role="admin", publisher=None)


# --- the servers a test file shares --------------------------------------------------------------


@pytest.fixture(scope="module")
def site_database(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database of the file's servers, with the test catalog (`factories.make_catalog`)."""
    return databases.migrated(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def site_app(site_database: str) -> Iterator[Flask]:
    """An app on the servers' database, for what a test reads or writes beside them."""
    app = create_app(
        {
            "DATABASE_URL": site_database,
            "BASE_URL": BASE_URL,
            "TAG_AUTHORITY": TAG_AUTHORITY,
            "SECRET_KEY": "test-secret",
            "FEED_STATE_TTL": 0.0,
        }
    )
    make_catalog(app)
    yield app
    with app.app_context():
        db.engine().dispose()


@pytest.fixture(scope="module")
def origin(site_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    """The file's app server: `feedsvc serve` on the shared database."""
    with running_origin(site_database, tmp_path_factory.mktemp("origin")) as server:
        yield server


@pytest.fixture(scope="module")
def shared_varnish_site(
    site_app: Flask, origin: servers.Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with varnish_in_front(site_app, [origin.port], tmp_path_factory.mktemp("varnish")) as site:
        yield site


@pytest.fixture(scope="module")
def shared_nginx_site(site_app: Flask, origin: servers.Server) -> Iterator[Site]:
    with nginx_in_front(site_app, origin) as site:
        yield site


@pytest.fixture
def varnish_site(shared_varnish_site: Site) -> Site:
    """The file's Varnish, holding nothing when the test begins, not just before a grid point."""
    shared_varnish_site.forget_every_feed()
    clear_of_a_grid_point()
    return shared_varnish_site


@pytest.fixture
def nginx_site(shared_nginx_site: Site) -> Site:
    """The file's nginx, holding no feed when the test begins (pages and feeds with a query
    string expire within a second anyway), not just before a grid point."""
    shared_nginx_site.forget_every_feed()
    clear_of_a_grid_point()
    return shared_nginx_site


def clear_of_a_grid_point(seconds: float = 5.0) -> None:
    """Waits past the next point of the expiry grid if it is less than `seconds` away: every
    copy expires there, and a test that looks for hits must not meet one."""
    until = grid_point_after(time.time()) - time.time()
    if until < seconds:
        time.sleep(until + 0.05)


# --- servers of a test's own ---------------------------------------------------------------------


@pytest.fixture
def origin_env() -> dict[str, str]:
    """Further FEEDSVC_ settings of `own_origin`; a test parametrizes it to change them."""
    return {}


@pytest.fixture
def own_origin(site_database: str, tmp_path: Path, origin_env: dict[str, str]) -> Iterator[servers.Server]:
    """An app server of the test's own (it may stop it), on the file's database. One gunicorn
    worker: what such a test looks at (the answers under other settings, stale copies once the
    app is gone) is the same with any number, and each worker costs seconds to start."""
    with running_origin(site_database, tmp_path, origin_env, workers=1) as server:
        yield server


@pytest.fixture
def own_varnish_site(site_app: Flask, own_origin: servers.Server, tmp_path: Path) -> Iterator[Site]:
    with varnish_in_front(site_app, [own_origin.port], tmp_path) as site:
        yield site


@pytest.fixture
def own_nginx_site(site_app: Flask, own_origin: servers.Server) -> Iterator[Site]:
    with nginx_in_front(site_app, own_origin) as site:
        yield site


def wait_until_shown(site: Site, path: str, text: str, timeout_s: float = 5.0) -> Answer:
    """Polls `path` through the cache every 20 ms until it shows `text`."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = get(site.url(path))
        if answer.shows(text) or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def embargo_instant(seconds_ahead: float) -> datetime:
    """A whole second at least `seconds_ahead` from now (the API keeps microseconds, but
    whole seconds make the answers' max-age easy to check)."""
    return datetime.fromtimestamp(math.ceil(time.time() + seconds_ahead), tz=UTC)


def http_date(answer: Answer) -> float:
    return parsedate_to_datetime(answer.header("Date")).timestamp()


# FEEDSVC_FEED_EXPIRY_GRID of the servers here (its default): an answer is fresh until its next point.
EXPIRY_GRID_S = 60


def grid_point_after(moment: float) -> float:
    """The next point of the expiry grid after `moment` (epoch seconds), where the freshness of
    every copy fetched at `moment` ends, whatever is scheduled (docs/feeds.md#embargoes-and-caching)."""
    return (math.floor(moment / EXPIRY_GRID_S) + 1) * EXPIRY_GRID_S


def watch_an_embargo_lift(
    site: Site, cached: Answer, release_id: int, lift: datetime, watch_s: float, status_header: str
) -> tuple[float, int]:
    """Polls the Rosenheim feed through the cache every 20 ms from before `lift` until `watch_s`
    after it, purging the release's subjects at the instant as the delivery worker does. Until the
    release shows, every answer is the `cached` copy (before the purge) and fresh no longer than
    the grid point after its fetch; once shown, it never goes again and never before `lift`.
    Returns when it was first shown and how many answers came."""
    shown_at: float | None = None
    purged = False
    answers = 0
    while time.time() < lift.timestamp() + watch_s:
        if not purged and time.time() >= lift.timestamp():
            site.purge_for(release_id)
            purged = True
        answer = get(site.url(ROSENHEIM_FEED))
        answers += 1
        if answer.shows("Sperrfrist bis gleich"):
            assert answer.at >= lift.timestamp(), "shown before its embargo instant"
            shown_at = answer.at if shown_at is None else shown_at
        else:
            assert shown_at is None, "shown, then gone again"
            if not purged:
                seen = (answer.header("ETag"), answer.header("Last-Modified"), answer.body)
                assert seen == (cached.header("ETag"), cached.header("Last-Modified"), cached.body)
            fresh_until = answer.fresh_until()
            assert fresh_until is not None
            past = fresh_until - grid_point_after(answer.at - answer.age())
            assert past <= 1, (
                f"a client may keep the copy {past:.1f} s past a grid point "
                f"({answer.header('Cache-Control')}, Age {answer.age()}, {answer.header(status_header)})"
            )
        time.sleep(0.02)
    assert shown_at is not None, "never shown"
    return shown_at, answers
