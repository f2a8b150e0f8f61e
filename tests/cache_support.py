"""The caches in front, for real: feedsvc in gunicorn, Varnish or nginx with the shipped
configuration in front of it, each on a free loopback port with a working directory
of its own under the test's tmp_path. Stopped when the test ends.

The app in gunicorn runs on the real clock, so embargo tests submit releases a few
seconds ahead. Writes go through the API of the running server, and caches are
purged the way the delivery worker purges them: the changed subjects' keys and the
release's own, once the write is acknowledged.
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bench import servers
from feedsvc import db
from feedsvc.store.keys import release_key, release_keys
from feedsvc.store.releases import release_by_id
from feedsvc.worker.purge import purge
from tests.api_support import RELEASE, bearer, make_token
from tests.conftest import BASE_URL
from tests.factories import make_catalog

ROSENHEIM_FEED = "/cities/rosenheim/feed.atom"
MUENCHEN_FEED = "/cities/muenchen/feed.atom"


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

    def age(self) -> int:
        return int(self.header("Age") or 0)

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

    def publish(self, title: str, city: str = "rosenheim", **fields: Any) -> tuple[int, float]:
        """POSTs a release through the cache (writes pass through); its id and when the API
        acknowledged it. No purge yet: `purge_for` does that, as the worker would."""
        record = {**RELEASE, "title": title, "city": city, **fields}
        request = urllib.request.Request(
            f"{self.front}/api/v1/releases",
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
            keys = [*sorted(release_keys(release)), release_key(release_id)]
            db.session().rollback()
        purge(self.purge_urls, keys)

    def url(self, path: str) -> str:
        return self.front + path


def _admin_token(app: Flask) -> str:
    return make_token(app, role="admin", publisher=None)


def _skip_unless(binary: str | None, what: str, hint: str) -> str:
    if binary is None:
        pytest.skip(f"{what} is not installed ({hint})")
    return binary


@pytest.fixture
def origin_env() -> dict[str, str]:
    """Further FEEDSVC_ settings of the app server; a test parametrizes it to change them."""
    return {}


@pytest.fixture
def origin(
    app: Flask, app_config: dict[str, Any], tmp_path: Path, origin_env: dict[str, str]
) -> Iterator[servers.Server]:
    """feedsvc served by gunicorn (2 workers) on the test's database, as `feedsvc serve` runs it,
    with the settings the deploy configurations ask for (one proxy in front)."""
    make_catalog(app)
    port = servers.free_port()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")},
        "FEEDSVC_DATABASE_URL": app_config["DATABASE_URL"],
        "FEEDSVC_BASE_URL": BASE_URL,
        "FEEDSVC_TAG_AUTHORITY": "feeds.example.test",
        "FEEDSVC_SECRET_KEY": "test-secret",
        "FEEDSVC_PROXY_COUNT": "1",
        **origin_env,
    }
    server = servers.start_feedsvc(env=env, port=port, log=tmp_path / "feedsvc.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def varnish_site(app: Flask, origin: servers.Server, tmp_path: Path) -> Iterator[Site]:
    _skip_unless(servers.varnishd_binary(), "varnishd", servers.VARNISH_INSTALL_HINT)
    port = servers.free_port()
    vcl = servers.render_vcl(tmp_path / "varnish", backend_port=origin.port)
    complaint = servers.check_vcl(vcl)
    if complaint and "xkey" in complaint:
        pytest.skip(f"vmod xkey is missing ({servers.VARNISH_INSTALL_HINT}): {complaint}")
    assert complaint is None, complaint
    cache = servers.start_varnish(vcl, port=port, memory="64m")
    try:
        base = f"http://127.0.0.1:{port}"
        yield Site(app, origin.base_url, base, [base + "/"], _admin_token(app))
    finally:
        cache.stop()


@pytest.fixture
def nginx_site(app: Flask, origin: servers.Server) -> Iterator[Site]:
    _skip_unless(servers.nginx_binary(), "nginx", servers.NGINX_INSTALL_HINT)
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
