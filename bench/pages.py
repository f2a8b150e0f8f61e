"""The page rows: every kind of page on its first hit in a fresh gunicorn worker, the first
request after start against a minimal Django app's, and a city page's first render after a
write through the API.

Each first hit gets a gunicorn of its own (one gthread worker, as `feedsvc serve` runs them),
timed from the moment its worker has loaded the app (`gunicorn_ready.py`), so the request
pays whatever the worker left for later: template compiles, SQL compiles, the first
database connection, the database file's pages not yet in SQLite's cache. The machine's
file cache is left alone.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from bench import servers
from bench.caches import Publisher
from bench.dataset import Manifest
from bench.report import PageFirst, SizeResult, StartFirst, WriteRender
from bench.scenarios import log
from feedsvc import db, paths
from feedsvc.store.releases import release_by_id

FEEDSVC_APP = "feedsvc.cli.serve:served_app()"  # as `feedsvc serve` loads it in each worker
DJANGO_APP = "bench.minimal_django:application"
DJANGO_HINT = "pip install -e '.[bench]'"
SEARCH_WORDS = ("Christkindlmarkt", "Stadtteilfest", "Impfaktion", "Bürgerportal", "Hochwasserschutzübung")
FIRST_REQUEST_KIND = "release"  # the page feedsvc's first-request row shows against Django's


def page_paths(app: Flask, manifest: Manifest, samples: int) -> dict[str, list[str]]:
    """`samples` pages of each kind: the biggest cities, topics and regions, releases from
    across the archive (visible ones), searches for words every dataset holds."""
    releases: list[str] = []
    with app.app_context():
        session = db.session()
        for share in range(1, samples + 1):
            release_id = max(1, manifest.releases * share // (samples + 1))
            for candidate in range(release_id, release_id + 50):
                release = release_by_id(session, candidate)
                if release is not None and release.retracted_at is None:
                    releases.append(paths.release_path(release))
                    break
        session.rollback()
    return {
        "home": ["/"] * samples,
        "city": [f"/cities/{slug}" for slug, _ in manifest.cities[:samples]],
        "topic": [f"/topics/{slug}" for slug, _ in manifest.topics[:samples]],
        "region": [f"/regions/{slug}" for slug, _ in manifest.regions[:samples]],
        "release": releases,
        "search": [f"/?q={SEARCH_WORDS[i % len(SEARCH_WORDS)]}" for i in range(samples)],
    }


def timed_get(url: str) -> tuple[float, int, bytes]:
    """Milliseconds from opening the connection to the last byte of the answer."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, response.status, body


def feedsvc_env(database_url: str) -> dict[str, str]:
    """As `servers.start_gunicorn` runs feedsvc: the caller's FEEDSVC_* settings left out."""
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")},
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_SECRET_KEY": "bench-only-secret",
    }


def first_hit(app_uri: str, env: dict[str, str], workdir: Path, path: str) -> tuple[float, float, int, bytes]:
    """A fresh worker's first answer to `path` and its second; (first ms, again ms, status, body)."""
    port = servers.free_port()
    server = servers.start_fresh_gunicorn(
        app_uri, env={**env, "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}"}, workdir=workdir, port=port
    )
    try:
        first_ms, status, body = timed_get(server.base_url + path)
        again_ms, _, _ = timed_get(server.base_url + path)
    finally:
        server.stop()
    return first_ms, again_ms, status, body


def measure_pages(
    label: str,
    result: SizeResult,
    app: Flask,
    manifest: Manifest,
    database_url: str,
    workdir: Path,
    samples: int,
) -> None:
    """The page rows and the first request against Django (into `result`)."""
    env = feedsvc_env(database_url)
    for kind, kind_paths in page_paths(app, manifest, samples).items():
        log(f"[{label}] pages: {kind}, first hit in {len(kind_paths)} fresh worker(s)")
        page = PageFirst(kind, kind_paths)
        for path in kind_paths:
            first_ms, again_ms, status, body = first_hit(FEEDSVC_APP, env, workdir, path)
            if status != 200:
                result.problems.append(f"{path}: the page answered {status}")
            page.first_ms.append(first_ms)
            page.again_ms.append(again_ms)
            page.bytes = max(page.bytes, len(body))
            log(f"[{label}]   {path}: {first_ms:.1f} ms first, {again_ms:.1f} ms again, {len(body):,} bytes")
        result.pages.append(page)
    shown = next((page for page in result.pages if page.kind == FIRST_REQUEST_KIND), None)
    start = StartFirst(shown.paths[0] if shown and shown.paths else "")
    start.feedsvc_ms = list(shown.first_ms) if shown else []
    if importlib.util.find_spec("django") is None:
        start.note = f"Django is not installed: {DJANGO_HINT}"
    else:
        log(f"[{label}] pages: minimal Django app, first request in {samples} fresh worker(s)")
        plain = {name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")}
        for _ in range(samples):
            first_ms, _again, status, body = first_hit(DJANGO_APP, plain, workdir, "/")
            if status != 200 or b"Pressemitteilung" not in body:
                result.problems.append(f"the minimal Django app answered {status}")
            start.django_ms.append(first_ms)
            log(f"[{label}]   Django /: {first_ms:.1f} ms first")
    result.start = start


def measure_write(
    label: str, result: SizeResult, manifest: Manifest, database_url: str, workdir: Path, writes: int
) -> None:
    """A release published through the API into the biggest city, then that city's page,
    `writes` times, in one worker that had shown the page before."""
    city = manifest.cities[0][0]
    path = f"/cities/{city}"
    log(f"[{label}] pages: {writes} write(s) through the API, then {path}")
    port = servers.free_port()
    env = {**feedsvc_env(database_url), "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}"}
    server = servers.start_fresh_gunicorn(FEEDSVC_APP, env=env, workdir=workdir, port=port)
    measured = WriteRender(path)
    try:
        publisher = Publisher(database_url, server.base_url, city)
    except BaseException:
        server.stop()
        raise
    try:
        for _ in range(2):  # the page has been shown before the write
            timed_get(server.base_url + path)
        for number in range(writes):
            title = f"Seitenmessung {number + 1}: Bekanntmachung {uuid.uuid4().hex[:8]}"
            publisher.publish(title)
            first_ms, status, body = timed_get(server.base_url + path)
            if status != 200 or title.encode() not in body:
                result.problems.append(f"{path} did not show the release just written ({status})")
            measured.first_ms.append(first_ms)
            again_ms = timed_get(server.base_url + path)[0]
            measured.again_ms.append(again_ms)
            log(f"[{label}]   after write {number + 1}: {first_ms:.1f} ms, then {again_ms:.1f} ms")
    finally:
        publisher.close()
        server.stop()
    result.write = measured
