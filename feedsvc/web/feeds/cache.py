"""Rendered feed bytes, kept per worker process and checked against the database.

A feed is rendered once per change, not once per request: the bytes, their gzip
and brotli forms and the validators are kept in memory, labelled with the
change counters (`store.changes`) they were rendered at. A request compares
that label with the counters in the database, which is one primary-key read, or
on SQLite one `PRAGMA data_version` while nothing was written (`is_current`).
The ETag is derived from the label, so it is known without rendering.

`install` gives an app its cache and its `StateReader`; `feed_cache()` and
`state_reader()` hand them to views and pages.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import partial

import brotli
from flask import Flask, current_app

from feedsvc import db
from feedsvc.store.changes import FeedState, StateReader

# Bump when rendering changes, so a deploy never serves new bytes under old ETags.
RENDER_REVISION = "3"
ENCODINGS = ("br", "gzip", "identity")
# Names the subject keys a response shows, so a cache in front can purge by key
# (Varnish's xkey; deploy/varnish/feedsvc.vcl strips it before clients see it).
SURROGATE_KEY_HEADER = "xkey"
_CACHE = "feedsvc.feed_cache"
_STATES = "feedsvc.feed_states"


@dataclass
class RenderedFeed:
    """One rendered feed page and everything needed to answer for it."""

    keys: tuple[str, ...]
    versions: tuple[int, ...]
    body: bytes
    media_type: str
    tag: str
    last_modified: datetime
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
        """Headers of a 304: the validators, Vary, Link and the surrogate keys, built once per encoding."""
        return self._headers_for(encoding, representation=False)

    def representation_headers(self, encoding: str) -> tuple[tuple[str, str], ...]:
        """Headers of a 200 (and HEAD): the validators plus the body's own headers."""
        return self._headers_for(encoding, representation=True)

    def _headers_for(self, encoding: str, *, representation: bool) -> tuple[tuple[str, str], ...]:
        known = self._headers.get((encoding, representation))
        if known is not None:
            return known
        headers = [
            ("ETag", f'"{self.etag(encoding)}"'),
            ("Vary", "Accept-Encoding"),
            (SURROGATE_KEY_HEADER, surrogate_keys(self.keys)),
            ("X-Content-Type-Options", "nosniff"),
        ]
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


def surrogate_keys(keys: Iterable[str]) -> str:
    """The value of the surrogate key header: the keys once each, in the order given."""
    return " ".join(dict.fromkeys(keys))


def is_current(entry: RenderedFeed, states: Mapping[str, FeedState], now: datetime) -> bool:
    """The one rule for "may these bytes still be sent?", asked by the poll front and the view:
    rendered at the change counters the database holds now, and no embargo of the
    feed's subject ran out since (its lift changes the feed before anyone bumps it)."""
    subject = entry.keys[0]
    if states[subject].lift_due(now):
        return False
    return entry.versions == tuple(states[key].version for key in entry.keys)


def feed_cache_key(base_url: str, path: str, query: str = "") -> str:
    """The key a feed's rendered bytes are kept under: its absolute URL."""
    return f"{base_url}{path}?{query}" if query else f"{base_url}{path}"


def make_tag(cache_key: str, keys: Sequence[str], states: dict[str, FeedState], identity: str = "") -> str:
    """The ETag of a rendering: what it shows (its counters) and how (the render revision and
    the site's identity fingerprint, which a restart with another name or logo changes)."""
    label = "|".join(
        [RENDER_REVISION, identity, cache_key, *(f"{key}={states[key].version}" for key in keys)]
    )
    return hashlib.blake2b(label.encode("utf-8"), digest_size=12).hexdigest()


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


def install(app: Flask) -> None:
    """Gives the app its feed cache and change-counter reader, shared by the view and the front."""
    app.extensions[_CACHE] = FeedCache(max_bytes=app.config["FEED_CACHE_BYTES"])
    with app.app_context():
        app.extensions[_STATES] = StateReader(db.engine(), ttl=app.config["FEED_STATE_TTL"])


def feed_cache(app: Flask | None = None) -> FeedCache:
    cache: FeedCache = (app or current_app).extensions[_CACHE]
    return cache


def state_reader(app: Flask | None = None) -> StateReader:
    reader: StateReader = (app or current_app).extensions[_STATES]
    return reader
