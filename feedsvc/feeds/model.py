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
class Image:
    """An image of a release: an enclosure with Media RSS caption and credit."""

    url: str
    type: str
    length: int
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
    # Polling guidance for RSS <ttl> and sy:updatePeriod, in seconds.
    ttl_seconds: int | None = None
    # RFC 5005 archive document markers.
    complete: bool = False
    archive: bool = False
