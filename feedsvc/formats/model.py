"""The neutral feed model: what a feed says, independent of how it is written.

One `Feed` value is handed to every writer (Atom, RSS, JSON Feed), so the three
formats cannot drift apart. Must not import Flask, SQLAlchemy or feedgen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Category:
    """A topic or the city of an entry. `scheme` tells the two kinds apart."""

    term: str
    scheme: str
    label: str


@dataclass(frozen=True)
class Contact:
    """The press contact of an entry: whom journalists call or write to."""

    name: str = ""
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Image:
    """An image of a release: an enclosure with Media RSS caption and credit.

    `length` is its size in bytes, None when unknown (never 0: no format allows it).
    """

    url: str
    type: str
    length: int | None
    caption: str = ""
    credit: str = ""


@dataclass(frozen=True)
class Link:
    """A feed-level link beyond self and alternate: RFC 5005 paging, WebSub hub."""

    rel: str
    href: str


@dataclass(frozen=True)
class Tombstone:
    """RFC 6721 `at:deleted-entry`: a release that was retracted."""

    ref: str
    when: datetime


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    author: Person
    categories: tuple[Category, ...] = ()
    images: tuple[Image, ...] = ()
    language: str = "de"
    # Shown at the top of the content when a correction was published.
    correction_note: str = ""
    # Set only in private journalist feeds: the embargo instant of the entry.
    embargoed_until: datetime | None = None
    # The release on the press office's own site (Atom rel="via", JSON Feed external_url).
    source_url: str | None = None
    contact: Contact | None = None


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    subtitle: str
    self_url: str
    alternate_url: str
    language: str
    updated: datetime
    author: Person
    entries: tuple[Entry, ...] = ()
    links: tuple[Link, ...] = field(default=())
    tombstones: tuple[Tombstone, ...] = ()
    icon: str | None = None
    logo: str | None = None
    # RSS <ttl>, in seconds: never longer than any Cache-Control this version is served with
    # (None: no <ttl>, see docs/feeds.md#polling-http-caching).
    ttl_seconds: int | None = None
    # RSS sy:updatePeriod/sy:updateFrequency: how often the feed is usually polled, in seconds.
    update_seconds: int | None = None
    # An XSLT stylesheet for browsers (<?xml-stylesheet?> in Atom and RSS), absolute.
    stylesheet_url: str | None = None
    # RFC 5005 archive document markers.
    complete: bool = False
    archive: bool = False
