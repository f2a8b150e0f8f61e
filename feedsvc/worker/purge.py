"""Purging the caches in front of feedsvc by subject key, before hubs are told of a change.

One HTTP request per cache: `PURGE <cache url>` with the header `xkey-purge: k1 k2 …`
naming every subject key (`store.keys`) at once.

- Varnish (`deploy/varnish/feedsvc.vcl`) purges every object tagged with one of the
  keys (vmod xkey) and says in `X-Purged` how many went.
- nginx (`deploy/nginx/feedsvc.conf`) has nothing to purge: its copies expire at the
  end of the second they were fetched in. It answers with `X-Cache-Second`, its
  current second, and the purge returns once nginx says that second is over, so
  no copy older than the purge is served after it returns (at most a second).

The standard library only, so the worker needs nothing more to reach a cache.
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

PURGE_METHOD = "PURGE"
PURGE_HEADER = "xkey-purge"
PURGED_HEADER = "X-Purged"
SECOND_HEADER = "X-Cache-Second"

# Subject keys are "all", "catalog", "city:3", "city:3:topic:5", "release:42", …
_KEY = re.compile(r"^[a-z]+(:[0-9A-Za-z_-]+)*$")
# Varnish accepts header lines of 8 KiB by default: more keys than fit go in further requests.
_MAX_HEADER_BYTES = 6000
_SECOND_POLL_S = 0.01


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int | None
    path: str


def purge(cache_urls: Sequence[str], keys: Sequence[str], timeout: float = 5.0) -> None:
    """Purges every cached object tagged with any of `keys` from each cache.

    Raises ValueError for a malformed URL or key, and OSError when a cache cannot be
    reached, does not answer 2xx or (nginx) does not move to its next second within
    `timeout`; every cache is tried before raising.
    """
    if isinstance(cache_urls, str) or isinstance(keys, str):
        raise ValueError("cache_urls and keys are sequences of strings, not strings")
    wanted = list(dict.fromkeys(keys))
    for key in wanted:
        if not _KEY.match(key):
            raise ValueError(f"not a subject key: {key!r}")
    targets = [_target(url) for url in cache_urls]
    if not wanted or not targets:
        return
    failures: list[str] = []
    seconds: list[tuple[_Target, int]] = []
    for target in targets:
        try:
            for chunk in _chunks(wanted):
                second = _send(target, chunk, timeout)
            if second is not None:
                seconds.append((target, second))
        except OSError as error:
            failures.append(f"{target.url}: {error}")
    for target, second in seconds:
        try:
            _wait_past(target, second, timeout)
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


def _send(target: _Target, keys: list[str], timeout: float) -> int | None:
    """One PURGE; the cache's current second if it answers with one (nginx)."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    try:
        headers = {PURGE_HEADER: " ".join(keys), "Content-Length": "0"}
        connection.request(PURGE_METHOD, target.path, headers=headers)
        response = connection.getresponse()
        body = response.read(512)
        if not 200 <= response.status < 300:
            detail = " ".join(body.decode("utf-8", "replace").split())[:200]
            raise OSError(f"{PURGE_METHOD} answered {response.status} {response.reason}: {detail}")
        second = response.getheader(SECOND_HEADER)
    except http.client.HTTPException as error:
        raise OSError(f"{PURGE_METHOD} failed: {error!r}") from error
    finally:
        connection.close()
    if second is None:
        return None
    if not second.strip().isdigit():
        raise OSError(f"{SECOND_HEADER} is not a number of seconds: {second!r}")
    return int(second)


def _wait_past(target: _Target, second: int, timeout: float) -> None:
    """Returns once the cache's clock has left `second` (its copies of then have expired)."""
    deadline = time.monotonic() + timeout
    # Our clock says when the cache's second ends (at most a second from now); the cache's
    # own answer decides, asked again every few milliseconds if the clocks differ.
    time.sleep(min(max(second + 1 - time.time(), 0.0), 1.0) + 0.002)
    while True:
        now = _send(target, [], timeout)
        if now is None or now > second:
            return
        if time.monotonic() > deadline:
            raise OSError(f"{SECOND_HEADER} stayed at {second} for {timeout:g} s")
        time.sleep(_SECOND_POLL_S)
