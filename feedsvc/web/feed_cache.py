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
from functools import partial

import brotli
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

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
    _headers: dict[tuple[str, bool], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Set by the cache holding this entry: told how many bytes a new encoding added.
    on_grow: Callable[[int], None] | None = None

    def etag(self, encoding: str) -> str:
        """A strong ETag per encoding: the bytes differ, so must the validators."""
        return self.tag if encoding == "identity" else f"{self.tag}-{encoding}"

    def encoded(self, encoding: str) -> bytes:
        """The body in an encoding, compressed on first use and kept."""
        if encoding == "identity":
            return self.body
        with self._lock:
            data = self._encoded.get(encoding)
            if data is None:
                if encoding == "gzip":
                    data = gzip.compress(self.body, compresslevel=6, mtime=0)
                else:
                    data = brotli.compress(self.body, quality=5)
                self._encoded[encoding] = data
                if self.on_grow is not None:
                    self.on_grow(len(data))
            return data

    def validator_headers(self, encoding: str) -> tuple[tuple[str, str], ...]:
        """Headers of a 304: the validators, Vary and Link, built once per encoding."""
        return self._headers_for(encoding, representation=False)

    def representation_headers(self, encoding: str) -> tuple[tuple[str, str], ...]:
        """Headers of a 200 (and HEAD): the validators plus the body's own headers."""
        return self._headers_for(encoding, representation=True)

    def _headers_for(self, encoding: str, *, representation: bool) -> tuple[tuple[str, str], ...]:
        known = self._headers.get((encoding, representation))
        if known is not None:
            return known
        headers = [("ETag", f'"{self.etag(encoding)}"'), ("Vary", "Accept-Encoding")]
        if self.links:
            headers.append(("Link", ", ".join(f'<{href}>; rel="{rel}"' for href, rel in self.links)))
        if representation:
            modified = format_datetime(self.last_modified.replace(microsecond=0), usegmt=True)
            headers.append(("Last-Modified", modified))
            if encoding != "identity":
                headers.append(("Content-Encoding", encoding))
            headers.append(("Content-Type", self.media_type))
            headers.append(("Content-Length", str(len(self.encoded(encoding)))))
        built = tuple(headers)
        self._headers[(encoding, representation)] = built
        return built

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(value) for value in self._encoded.values())

    def is_current(self, states: dict[str, FeedState]) -> bool:
        return self.versions == tuple(states[key].version for key in self.keys)


def feed_cache_key(base_url: str, path: str, query: str = "") -> str:
    """The key a feed's rendered bytes are kept under: its absolute URL."""
    return f"{base_url}{path}?{query}" if query else f"{base_url}{path}"


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
        self.dialect: str = engine.dialect.name
        self._sqlite_path = engine.url.database if self.dialect == "sqlite" else None

    def states(self, keys: Sequence[str], fresh: bool = False) -> dict[str, FeedState]:
        try:
            memo, stamp = self._memo(fresh)
            missing = [key for key in keys if key not in memo]
            if missing:
                memo.update(self._read(missing))
        except sqlite3.Error as error:
            # Raised as SQLAlchemy raises errors of its own connections, so that callers
            # tell an outage from a bug one way (db.is_outage); the next call reconnects.
            self._local.sqlite = None
            raise DBAPIError.instance("feed_versions", None, error, sqlite3.Error) from error
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
    """Rendered feeds of this process, least recently used first out, within a byte budget.

    An entry is charged for its body when it is put and for each encoding when
    that is first asked for, so compressed copies count against the budget too.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, RenderedFeed] = OrderedDict()
        self._charged: dict[str, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._render_locks: dict[str, threading.Lock] = {}

    @property
    def charged_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, cache_key: str) -> RenderedFeed | None:
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is not None:
                self._entries.move_to_end(cache_key)
            return entry

    def put(self, cache_key: str, entry: RenderedFeed) -> None:
        entry.on_grow = partial(self._grew, cache_key, entry)
        with self._lock:
            self._remove(cache_key)
            self._entries[cache_key] = entry
            self._charge(cache_key, entry.size)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._charged.clear()
            self._bytes = 0

    @contextmanager
    def single_flight(self, cache_key: str) -> Iterator[None]:
        """One render per key at a time in this process; others wait and reuse it."""
        with self._lock:
            lock = self._render_locks.setdefault(cache_key, threading.Lock())
        with lock:
            yield

    def _grew(self, cache_key: str, entry: RenderedFeed, added: int) -> None:
        with self._lock:
            if self._entries.get(cache_key) is entry:
                self._charge(cache_key, added)

    def _charge(self, cache_key: str, added: int) -> None:
        self._charged[cache_key] = self._charged.get(cache_key, 0) + added
        self._bytes += added
        # The newest entry stays even when it alone exceeds the budget.
        while self._bytes > self._max_bytes and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest == cache_key:
                break
            self._remove(oldest)

    def _remove(self, cache_key: str) -> None:
        if self._entries.pop(cache_key, None) is not None:
            self._bytes -= self._charged.pop(cache_key)
