"""Atom 1.0 and RSS 2.0 through feedgen 1.0.0 — the only module that imports feedgen.

Workarounds for feedgen's known bugs and gaps, each covered by
tests/test_feed_writers.py:

- feedgen #135: `FeedEntry.atom_entry` keeps only `href` of entry links, turning
  enclosures into extra alternates. `_Entry.atom_entry` copies the attributes back.
- entries are added with `order="append"`, so the given order is kept.
- every `updated` comes from the data; a re-render gives identical bytes.
- bodies use `type="html"`, never `CDATA`.
- the `rel=alternate` link is added last, so RSS `<channel><link>` is the HTML page.
- hub/paging links in RSS, Media RSS caption and credit, `sy:*`, `fh:*`
  and tombstones come from `extensions`, with namespaces declared once on the root.
- one `FeedGenerator` per render and format.
- categories carry term and scheme only (no label), so Atom and RSS agree.
- RSS has one `<enclosure>`; feedgen picks the last image, `_Entry.rss_entry` the first.
- `generator('')` and `docs('')` suppress `<generator>` and `<docs>`.
- `formatRFC2822` calls `locale.setlocale` (process-global, racy); it is replaced by
  `email.utils.format_datetime` in `feedgen.feed` and `feedgen.entry` at import.
"""

from __future__ import annotations

import email.utils
from datetime import datetime
from typing import Literal

import feedgen.entry
import feedgen.feed
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.feeds.extensions import FeedsvcEntryExtension, FeedsvcFeedExtension, extra_links
from feedsvc.feeds.model import Entry, Feed, Person
from feedsvc.feeds.writers import entry_content_html, require_aware, ttl_minutes

__all__ = ["render_atom", "render_rss"]

EXTENSION_NAME = "feedsvc"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
_LINK_ATTRS = ("rel", "type", "hreflang", "title", "length")


def _format_rfc2822(value: datetime) -> str:
    """Locale-free RFC 2822 date, e.g. `Fri, 01 Mar 2024 09:30:00 +0100`."""
    return email.utils.format_datetime(value)


feedgen.feed.formatRFC2822 = _format_rfc2822
feedgen.entry.formatRFC2822 = _format_rfc2822


class _Entry(FeedEntry):  # type: ignore[misc]  # feedgen is untyped
    """`FeedEntry` with the link bugs fixed."""

    def atom_entry(self, extensions: bool = True) -> etree._Element:
        element: etree._Element = super().atom_entry(extensions=extensions)
        # feedgen #135: the <link> loop rebinds its loop variable, so only
        # href survives. The <link> children are written in the order of self.link().
        elements = [child for child in element if child.tag == "link"]
        for link_element, data in zip(elements, self.link() or [], strict=True):
            for attr in _LINK_ATTRS:
                if data.get(attr):
                    link_element.set(attr, str(data[attr]))
        return element

    def rss_entry(self, extensions: bool = True) -> etree._Element:
        element: etree._Element = super().rss_entry(extensions=extensions)
        # feedgen keeps the last enclosure; the first image is the lead image.
        enclosures = [link for link in self.link() or [] if link.get("rel") == "enclosure"]
        enclosure = element.find("enclosure")
        if enclosure is not None and enclosures:
            first = enclosures[0]
            enclosure.set("url", first["href"])
            enclosure.set("length", str(first.get("length") or "0"))
            enclosure.set("type", str(first.get("type") or ""))
        return element


def _person(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    if person.email:
        data["email"] = person.email
    if person.uri:
        data["uri"] = person.uri
    return data


def _add_entry(fg: FeedGenerator, entry: Entry, feed: Feed) -> None:
    fe = fg.add_entry(_Entry(), order="append")  # feedgen prepends by default
    fe.feedsvc.configure(entry, feed.language)
    fe.id(entry.id)  # Atom <id> and RSS <guid isPermaLink="false">
    fe.title(entry.title)
    fe.published(require_aware(entry.published, f"{entry.id}: published"))
    fe.updated(require_aware(entry.updated, f"{entry.id}: updated"))
    fe.author(_person(entry.author))
    # One alternate link, then the images as enclosures (attributes restored by _Entry).
    fe.link(href=entry.link, rel="alternate", type="text/html")
    for image in entry.images:
        fe.link(href=image.url, rel="enclosure", type=image.type, length=str(image.length))
    content = entry_content_html(entry)
    if content:
        fe.content(content, type="html")  # never CDATA
    if entry.summary:
        fe.summary(entry.summary)  # plain text: Atom type text, RSS <description>
    for category in entry.categories:
        fe.category(term=category.term, scheme=category.scheme)  # no label


def _generator(feed: Feed, fmt: Literal["atom", "rss"]) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension(EXTENSION_NAME, FeedsvcFeedExtension, FeedsvcEntryExtension, atom=True, rss=True)
    fg.feedsvc.configure(feed, fmt)
    fg.generator("")  # no <generator> naming the library version
    fg.docs("")
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.subtitle)  # Atom <subtitle>, RSS <description>
    fg.language(feed.language)
    fg.updated(require_aware(feed.updated, "Feed.updated"))  # Atom <updated>, RSS <lastBuildDate>
    fg.author(_person(feed.author))
    if fmt == "rss" and feed.author.email:
        fg.managingEditor(f"{feed.author.email} ({feed.author.name})")
    if feed.icon:
        fg.icon(feed.icon)
    if feed.logo:
        fg.image(url=feed.logo, title=feed.title, link=feed.alternate_url)  # also Atom <logo>
    if fmt == "rss" and feed.ttl_seconds is not None:
        fg.ttl(ttl_minutes(feed.ttl_seconds))
    fg.link(href=feed.self_url, rel="self", type=ATOM_TYPE if fmt == "atom" else RSS_TYPE)
    for rel, href in extra_links(feed):  # Atom links; RSS gets them from the extension
        fg.link(href=href, rel=rel)
    fg.link(href=feed.alternate_url, rel="alternate", type="text/html")  # last: RSS takes the last link
    for entry in feed.entries:
        _add_entry(fg, entry, feed)
    return fg


def render_atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8 bytes with XML declaration)."""
    data: bytes = _generator(feed, "atom").atom_str(pretty=True)
    return data


def render_rss(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8 bytes with XML declaration)."""
    data: bytes = _generator(feed, "rss").rss_str(pretty=True)
    return data
