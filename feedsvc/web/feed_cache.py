"""Rendered feed bytes, kept per worker process and checked against the database.

A feed is rendered once per change, not once per request: the bytes, their gzip
and brotli forms and the validators are kept in memory, labelled with the
change counters (`feed_versions`) they were rendered at. A request compares
that label with the counters in the database, which is one primary-key read, or
on SQLite one `PRAGMA data_version` while nothing was written. The ETag is
derived from the label, so it is known without rendering.
"""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

import brotli
from sqlalchemy import Engine

from feedsvc.store import feed_versions
from feedsvc.store.feed_versions import FeedState

# Bump when rendering changes, so a deploy never serves new bytes under old ETags.
RENDER_REVISION = "1"
ENCODINGS = ("br", "gzip", "identity")


@dataclass
class RenderedFeed:
    """One rendered feed page and everything needed to answer for it."""

    keys: tuple[str, ...]
    versions: tuple[int, ...]
    body: bytes
    media_type: str
    tag: str
    last_modified: datetime
    next_lift_us: int | None
    links: tuple[tuple[str, str], ...] = ()
    # An RFC 5005 archive page: its releases are complete, so caches may keep it long.
    archive: bool = False
    _encoded: dict[str, bytes] = field(default_factory=dict)
    _headers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def etag(self, encoding: str) -> str:
        """A strong ETag per encoding: the bytes differ, so must the validators."""
        return self.tag if encoding == "identity" else f"{self.tag}-{encoding}"

    def encoded(self, encoding: str) -> bytes:
        if encoding == "identity":
            return self.body
        with self._lock:
            if encoding not in self._encoded:
                if encoding == "gzip":
                    self._encoded[encoding] = gzip.compress(self.body, compresslevel=6, mtime=0)
                else:
                    self._encoded[encoding] = brotli.compress(self.body, quality=5)
            return self._encoded[encoding]

    def headers(self, encoding: str) -> list[tuple[str, str]]:
        """The validators and links of a response, built once per encoding."""
        with self._lock:
            if encoding not in self._headers:
                modified = format_datetime(self.last_modified.replace(microsecond=0), usegmt=True)
                headers = [
                    ("ETag", f'"{self.etag(encoding)}"'),
                    ("Last-Modified", modified),
                    ("Vary", "Accept-Encoding"),
                    ("Link", ", ".join(f'<{href}>; rel="{rel}"' for href, rel in self.links)),
                ]
                if encoding != "identity":
                    headers.append(("Content-Encoding", encoding))
                self._headers[encoding] = headers
            return self._headers[encoding]

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(value) for value in self._encoded.values())

    def is_current(self, states: dict[str, FeedState]) -> bool:
        return self.versions == tuple(states[key].version for key in self.keys)


def make_tag(cache_key: str, keys: Sequence[str], states: dict[str, FeedState]) -> str:
    label = "|".join([RENDER_REVISION, cache_key, *(f"{key}={states[key].version}" for key in keys)])
    return hashlib.blake2b(label.encode("utf-8"), digest_size=12).hexdigest()


class StateReader:
    """Current change counters of feed subjects, read as cheaply as the backend allows.

    SQLite: a read-only connection per thread asks `PRAGMA data_version`, which
    changes whenever another connection committed; counters read before stay
    valid until then. Other backends: counters are re-read after `ttl` seconds.
    """

    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._local = threading.local()
        self._sqlite_path = engine.url.database if engine.dialect.name == "sqlite" else None

    def states(self, keys: Sequence[str], fresh: bool = False) -> dict[str, FeedState]:
        memo, stamp = self._memo(fresh)
        missing = [key for key in keys if key not in memo]
        if missing:
            memo.update(self._read(missing))
        self._local.stamp = stamp
        return {key: memo[key] for key in keys}

    def forget(self) -> None:
        self._local.memo = {}

    def _memo(self, fresh: bool) -> tuple[dict[str, FeedState], object]:
        memo: dict[str, FeedState] | None = getattr(self._local, "memo", None)
        previous = getattr(self._local, "stamp", None)
        if self._sqlite_path:
            stamp: object = self._sqlite().execute("PRAGMA data_version").fetchone()[0]
            valid = stamp == previous
        else:
            now = time.monotonic()
            valid = isinstance(previous, float) and now - previous < self._ttl
            stamp = previous if valid else now
        if memo is None or fresh or not valid:
            memo = {}
            self._local.memo = memo
        return memo, stamp

    def _sqlite(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "sqlite", None)
        if connection is None:
            assert self._sqlite_path is not None
            connection = sqlite3.connect(
                f"file:{self._sqlite_path}?mode=ro", uri=True, check_same_thread=False
            )
            self._local.sqlite = connection
        return connection

    def _read(self, keys: list[str]) -> dict[str, FeedState]:
        if self._sqlite_path:
            marks = ",".join("?" * len(keys))
            query = f"SELECT key, version, changed_us, next_lift_us FROM feed_versions WHERE key IN ({marks})"
            found = {row[0]: FeedState(row[1], row[2], row[3]) for row in self._sqlite().execute(query, keys)}
            return {key: found.get(key, feed_versions.NO_STATE) for key in keys}
        with self._engine.connect() as connection:
            return feed_versions.states(connection, keys)


class FeedCache:
    """Rendered feeds of this process, least recently used first out, within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, RenderedFeed] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._render_locks: dict[str, threading.Lock] = {}

    def get(self, cache_key: str) -> RenderedFeed | None:
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is not None:
                self._entries.move_to_end(cache_key)
            return entry

    def put(self, cache_key: str, entry: RenderedFeed) -> None:
        with self._lock:
            old = self._entries.pop(cache_key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[cache_key] = entry
            self._bytes += entry.size
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @contextmanager
    def single_flight(self, cache_key: str) -> Iterator[None]:
        """One render per key at a time in this process; others wait and reuse it."""
        with self._lock:
            lock = self._render_locks.setdefault(cache_key, threading.Lock())
        with lock:
            yield


def choose_encoding(accept_quality: Callable[[str], float]) -> str:
    for encoding in ENCODINGS[:-1]:
        if accept_quality(encoding) > 0:
            return encoding
    return "identity"
