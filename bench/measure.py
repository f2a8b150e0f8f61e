"""What is measured besides load: cold renders in-process, and HTTP probes that
check the servers answer what the load runs assume (200s, 304s, gzip, cache hits).
"""

from __future__ import annotations

import statistics
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from bench.dataset import Manifest
from feedsvc import create_app

FORMATS = ("atom", "rss", "json")
FULL_PAGE = 50  # a feed page holds 50 entries by default


@dataclass(frozen=True)
class Probe:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class ColdRender:
    median_ms: float
    p90_ms: float
    renders: int
    feeds: int
    notes: list[str] = field(default_factory=list)


def hot_path(manifest: Manifest) -> str:
    """The feed most pollers hit: the atom feed of the city with most releases."""
    return f"/cities/{manifest.cities[0][0]}/feed.atom"


def spread_paths(manifest: Manifest, count: int = 200) -> list[str]:
    """`count` different feeds: every topic, every region, the biggest cities and city×topic
    feeds, in all three formats (rotating), so requests land on many cache entries."""
    subjects = [f"/topics/{slug}" for slug, _ in manifest.topics]
    subjects += [f"/regions/{slug}" for slug, _ in manifest.regions]
    subjects += [f"/cities/{city}/topics/{topic}" for city, topic, _ in manifest.city_topics[:20]]
    subjects += [f"/cities/{slug}" for slug, _ in manifest.cities]
    chosen = list(dict.fromkeys(subjects))[:count]
    return [f"{subject}/feed.{FORMATS[i % len(FORMATS)]}" for i, subject in enumerate(chosen)]


def cold_paths(manifest: Manifest, count: int = 20) -> list[str]:
    """Atom feeds of the biggest cities that fill a whole page at every dataset size."""
    full = [slug for slug, releases in manifest.cities if releases > FULL_PAGE]
    return [f"/cities/{slug}/feed.atom" for slug in full[:count]]


def make_app(database_url: str, base_url: str) -> Flask:
    config: dict[str, Any] = {"DATABASE_URL": database_url, "BASE_URL": base_url, "SECRET_KEY": "bench"}
    return create_app(config)


def clear_feed_caches(app: Flask) -> int:
    """Empties the app's per-process feed caches (whatever offers `clear()`); how many."""
    cleared = 0
    for name, extension in app.extensions.items():
        clear = getattr(extension, "clear", None)
        if "feed" in name and callable(clear):
            clear()
            cleared += 1
    return cleared


def cold_render(app: Flask, paths: list[str], rounds: int = 3) -> ColdRender:
    """Median time of one uncached feed request in-process (query, render, validators)."""
    client = app.test_client()
    notes: list[str] = []
    client.get("/feed.atom")  # imports, first connection, SQLAlchemy's statement cache
    timings: list[float] = []
    for _ in range(rounds):
        if not clear_feed_caches(app):
            notes.append("no feed cache found to clear (uncached app?)")
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} in-process")
    clear_feed_caches(app)
    deciles = statistics.quantiles(timings, n=10) if len(timings) > 1 else timings * 9
    return ColdRender(statistics.median(timings), deciles[-1], len(timings), len(paths), sorted(set(notes)))


def render_once(app: Flask, path: str) -> bytes:
    response = app.test_client().get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} in-process")
    return response.get_data()


def probe(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Probe:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Probe(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as error:
        return Probe(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def check_feed_http(base_url: str, path: str) -> tuple[list[str], str]:
    """Probes a feed the way the load runs will use it. Returns the problems found
    (empty when all is as docs/feeds.md#polling-http-caching says) and the ETag for the conditional run."""
    problems: list[str] = []
    full = probe(base_url + path)
    if full.status != 200:
        return [f"{path}: GET answered {full.status}"], ""
    etag, last_modified = full.header("ETag"), full.header("Last-Modified")
    for name in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
        if not full.header(name):
            problems.append(f"{path}: no {name} on a 200")
    if etag:
        again = probe(base_url + path, {"If-None-Match": etag})
        if again.status != 304 or again.body:
            problems.append(f"If-None-Match {etag} answered {again.status} with {len(again.body)} bytes")
        elif again.header("ETag") != etag:
            problems.append(f"304 carries ETag {again.header('ETag')!r}, the 200 had {etag!r}")
    if last_modified:
        since = probe(base_url + path, {"If-Modified-Since": last_modified})
        if since.status != 304:
            problems.append(f"If-Modified-Since {last_modified} answered {since.status}")
    gzipped = probe(base_url + path, {"Accept-Encoding": "gzip"})
    if gzipped.header("Content-Encoding") != "gzip":
        problems.append(f"Accept-Encoding: gzip got Content-Encoding {gzipped.header('Content-Encoding')!r}")
    elif gzipped.header("ETag") == etag:
        problems.append("the gzip body has the same ETag as the identity body")
    head = probe(base_url + path, method="HEAD")
    if head.status != 200 or head.body:
        problems.append(f"HEAD answered {head.status} with {len(head.body)} bytes")
    return problems, etag


def check_spread(base_url: str, paths: list[str]) -> list[str]:
    """Fetches each spread feed once (also warming the worker that answers)."""
    failed = [f"{path}: {status}" for path in paths if (status := probe(base_url + path).status) != 200]
    return [f"{len(failed)} of {len(paths)} spread feeds failed: {', '.join(failed[:5])}"] if failed else []


def cache_statuses(base_url: str, path: str, tries: int = 3) -> list[str]:
    """nginx's X-Cache-Status of a few GETs in a row: MISS then HIT when caching works."""
    return [probe(base_url + path).header("X-Cache-Status") or "-" for _ in range(tries)]
