"""Purging the caches in front of feedsvc, before hubs are told of a change.

Per cache, first one HTTP request: `PURGE <cache url>` with the header
`xkey-purge: k1 k2 …` naming every subject key (`store.keys`) at once.

- Varnish (`deploy/varnish/feedsvc.vcl`) purges every object tagged with one of the
  keys (vmod xkey) and says in `X-Purged` how many went. That is all.
- nginx (`deploy/nginx/feedsvc.conf`) cannot purge by key. It answers
  `X-Purge-By-Path: <prefix>`, and each feed of the changed subjects is purged by
  path, once per encoding class nginx keeps a copy of (`PATH_ENCODINGS`):
  `PURGE <prefix><feed path>` with that Accept-Encoding, over one connection. nginx
  answers 200 for a copy purged and 404 where it held none; both are fine.

The standard library only, so the worker needs nothing more to reach a cache.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

PURGE_METHOD = "PURGE"
PURGE_HEADER = "xkey-purge"
PURGED_HEADER = "X-Purged"
BY_PATH_HEADER = "X-Purge-By-Path"
# The encoding classes nginx keys feed copies by ($feedsvc_encoding): each is purged by sending
# exactly this Accept-Encoding.
PATH_ENCODINGS = ("br", "gzip", "identity")

# Subject keys are "all", "catalog", "city:3", "city:3:topic:5", "release:42", …
_KEY = re.compile(r"^[a-z]+(:[0-9A-Za-z_-]+)*$")
# Feed paths as feedsvc links them: "/feed.atom", "/cities/rosenheim/topics/kultur/feed.json", …
_PATH = re.compile(r"^(/[0-9A-Za-z._~-]+)+$")
# Varnish accepts header lines of 8 KiB by default: more keys than fit go in further requests.
_MAX_HEADER_BYTES = 6000
# A purge by path found nothing to purge: not an error.
_NOTHING_CACHED = 404


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int | None
    path: str

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def purge(
    cache_urls: Sequence[str], keys: Sequence[str], feed_paths: Sequence[str] = (), timeout: float = 5.0
) -> None:
    """Purges every cached object tagged with any of `keys` from each cache; a cache that
    purges by path is told `feed_paths` (the feeds of those keys' subjects) instead.

    Raises ValueError for a malformed URL, key or path, and OSError when a cache cannot
    be reached or does not answer 2xx (nginx: 2xx or 404); every cache is tried before
    raising.
    """
    for given in (cache_urls, keys, feed_paths):
        if isinstance(given, str):
            raise ValueError("cache_urls, keys and feed_paths are sequences of strings, not strings")
    wanted = list(dict.fromkeys(keys))
    for key in wanted:
        if not _KEY.match(key):
            raise ValueError(f"not a subject key: {key!r}")
    paths = list(dict.fromkeys(feed_paths))
    for path in paths:
        if not _PATH.match(path):
            raise ValueError(f"not a feed path: {path!r}")
    targets = [_target(url) for url in cache_urls]
    if not wanted or not targets:
        return
    failures: list[str] = []
    for target in targets:
        try:
            prefix = None
            for chunk in _chunks(wanted):
                prefix = _send(target, chunk, timeout)
            if prefix is not None:
                _purge_paths(target, prefix, paths, timeout)
        except OSError as error:
            failures.append(f"{target.url}: {error}")
    if failures:
        raise OSError("cache purge failed: " + "; ".join(failures))


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) cache URL: {url!r}")
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"bad port in cache URL {url!r}") from error
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(url, parts.scheme, parts.hostname, port, path)


def _chunks(keys: list[str]) -> list[list[str]]:
    """The keys in as few requests as fit the header limit: one, in practice."""
    chunks: list[list[str]] = [[]]
    size = 0
    for key in keys:
        if chunks[-1] and size + len(key) + 1 > _MAX_HEADER_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(key)
        size += len(key) + 1
    return chunks


def _send(target: _Target, keys: list[str], timeout: float) -> str | None:
    """One PURGE by key; the path prefix to purge by path under, if the cache says so (nginx)."""
    connection = target.connect(timeout)
    try:
        headers = {PURGE_HEADER: " ".join(keys), "Content-Length": "0"}
        connection.request(PURGE_METHOD, target.path, headers=headers)
        response = connection.getresponse()
        body = response.read(512)
        if not 200 <= response.status < 300:
            raise OSError(f"{PURGE_METHOD} answered {response.status} {response.reason}: {_excerpt(body)}")
        prefix = response.getheader(BY_PATH_HEADER)
    except http.client.HTTPException as error:
        raise OSError(f"{PURGE_METHOD} failed: {error!r}") from error
    finally:
        connection.close()
    if prefix is None:
        return None
    prefix = prefix.strip().rstrip("/")
    if not prefix.startswith("/") or not _PATH.match(prefix):
        raise OSError(f"{BY_PATH_HEADER} is not a path: {prefix!r}")
    return prefix


def _purge_paths(target: _Target, prefix: str, paths: list[str], timeout: float) -> None:
    """Each path in each encoding class, one request after the other on one connection."""
    connection = target.connect(timeout)
    try:
        for path in paths:
            for encoding in PATH_ENCODINGS:
                headers = {"Content-Length": "0", "Accept-Encoding": encoding}
                connection.request(PURGE_METHOD, prefix + path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                if not (200 <= response.status < 300 or response.status == _NOTHING_CACHED):
                    raise OSError(
                        f"{PURGE_METHOD} {prefix + path} answered {response.status} {response.reason}: "
                        f"{_excerpt(body)}"
                    )
                if response.will_close:
                    connection.close()  # the next request opens a new connection
    except http.client.HTTPException as error:
        raise OSError(f"{PURGE_METHOD} failed: {error!r}") from error
    finally:
        connection.close()


def _excerpt(body: bytes) -> str:
    return " ".join(body[:512].decode("utf-8", "replace").split())[:200]
