"""The neutral feed model: what a feed says, independent of how it is written.

One `Feed` value is handed to every writer (Atom, RSS, JSON Feed, ninjs), so the
formats cannot drift apart. Some fields serve ninjs alone (`Entry.revision`, `urgency`,
`place`, `topics`, `shortened`, `document_url`, `Tombstone.revision`, `Image.usage_terms`);
the other writers ignore them. Must not import Flask, SQLAlchemy or feedgen.
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
    # What a newsroom may do with the image, in the press office's words ("" when not said).
    usage_terms: str = ""
    # Pixels, where known (Media RSS width and height).
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A document of a release (a PDF): an enclosure of its own.

    `length` is its size in bytes, None when unknown (never 0, as for images).
    """

    url: str
    type: str
    length: int | None
    title: str = ""


@dataclass(frozen=True)
class Place:
    """Where an entry comes from: its city, with the Amtlicher Gemeindeschlüssel (8 digits,
    Destatis) when the catalog names one."""

    name: str
    ags: str | None = None


@dataclass(frozen=True)
class Concept:
    """A topic as something with an identity: its name and a URI that a rename keeps."""

    name: str
    uri: str


@dataclass(frozen=True)
class Link:
    """A feed-level link beyond self and alternate: RFC 5005 paging, WebSub hub."""

    rel: str
    href: str


@dataclass(frozen=True)
class Tombstone:
    """RFC 6721 `at:deleted-entry`: a release that was retracted; `comment` is why."""

    ref: str
    when: datetime
    comment: str | None = None
    # The version the retraction made (ninjs `version` of its canceled item); None: not known.
    revision: int | None = None


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
    attachments: tuple[Attachment, ...] = ()
    language: str = "de"
    # Shown at the top of the content when a correction was published.
    correction_note: str = ""
    # Set only in private journalist feeds: the embargo instant of the entry.
    embargoed_until: datetime | None = None
    # The release on the press office's own site (Atom rel="via", JSON Feed external_url).
    source_url: str | None = None
    contact: Contact | None = None
    # The release's version: 1, and one more with each correction (ninjs `version`).
    revision: int = 1
    # IPTC urgency, 1 (most urgent) to 9 (least); None: not said.
    urgency: int | None = None
    place: Place | None = None
    topics: tuple[Concept, ...] = ()
    # Set when the feed's byte budget put the summary and a link in place of the body.
    shortened: bool = False
    # The release alone as a ninjs document, with its whole body.
    document_url: str | None = None


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
