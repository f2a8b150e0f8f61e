"""Atom 1.0 and RSS 2.0 through feedgen 1.0.0 — the only module that imports feedgen.

Workarounds for feedgen's known bugs and gaps, each covered by
tests/test_feed_writers.py:

- feedgen #135: `FeedEntry.atom_entry` keeps only `href` of entry links, turning
  enclosures into extra alternates. `_Entry.atom_entry` copies the attributes back.
- entries are added with `order="append"`, so the given order is kept.
- every `updated` comes from the data; a re-render gives identical bytes; every date
  passes `common.instant` (whole seconds).
- bodies use `type="html"`, never `CDATA`.
- text is escaped for the element it lands in: RSS `title`, `description` and the image
  title are read as HTML by readers, so their plain text goes in HTML-escaped
  (`common.html_escaped`), then XML-escaped; Atom text constructs get `type="html"` when
  their text needs it (`extensions.atom_text`).
- `&`, `<` and `>` are written as hexadecimal character references (`&#x26;`, `&#x3C;`,
  `&#x3E;`), the form the RSS Best Practices Profile recommends for text: the documents
  mean the same, and validators accept plain text that holds them (a name such as
  "Tom &amp; Jerry", typed so) without a warning. lxml writes no other escapes of them.
- RSS items have one author element, `dc:creator` (feedgen writes `<author>` only when
  given an e-mail, which the RSS writer never gives it).
- the `rel=alternate` link is added last, so RSS `<channel><link>` is the HTML page.
- hub/paging links in RSS, Media RSS caption and credit, `sy:*`, `fh:*`
  and tombstones come from `extensions`, with namespaces declared once on the root.
- one `FeedGenerator` per render and format.
- categories carry term and scheme only (no label), so Atom and RSS agree.
- RSS has one `<enclosure>`; feedgen picks the last enclosure, `_Entry.rss_entry` the first:
  the lead image, or the first attachment of a release without images (every image and
  attachment is in Media RSS `media:content` besides).
  Its `length` is required: 0 when unknown, as the RSS Advisory Board asks; Atom and
  Media RSS leave an unknown length out.
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

from feedsvc.formats.common import entry_content_html, html_escaped, instant, ttl_minutes
from feedsvc.formats.extensions import FeedsvcEntryExtension, FeedsvcFeedExtension, extra_links
from feedsvc.formats.model import Entry, Feed, Person

__all__ = ["render_atom", "render_rss"]

EXTENSION_NAME = "feedsvc"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
_LINK_ATTRS = ("rel", "type", "hreflang", "title", "length")
XmlFormat = Literal["atom", "rss"]
# lxml's escapes of "&", "<" and ">" (the only ones it writes) as hexadecimal references.
_REFERENCES = ((b"&amp;", b"&#x26;"), (b"&lt;", b"&#x3C;"), (b"&gt;", b"&#x3E;"))


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
        # feedgen keeps the last enclosure; the first (the lead image) is the one to keep.
        enclosures = [link for link in self.link() or [] if link.get("rel") == "enclosure"]
        enclosure = element.find("enclosure")
        if enclosure is not None and enclosures:
            first = enclosures[0]
            enclosure.set("url", first["href"])
            enclosure.set("length", str(first.get("length") or "0"))
            enclosure.set("type", str(first.get("type") or ""))
        return element


def _person(person: Person, fmt: XmlFormat) -> dict[str, str]:
    data = {"name": person.name}
    if person.email and fmt == "atom":  # given to RSS, feedgen would add <author>
        data["email"] = person.email
    if person.uri:
        data["uri"] = person.uri
    return data


def _text(text: str, fmt: XmlFormat) -> str:
    """Plain text for a title or description: RSS readers read these as HTML. Atom's are
    typed by `extensions.atom_text`."""
    return html_escaped(text) if fmt == "rss" else text


def _add_entry(fg: FeedGenerator, entry: Entry, feed: Feed, fmt: XmlFormat) -> None:
    fe = fg.add_entry(_Entry(), order="append")  # feedgen prepends by default
    fe.feedsvc.configure(entry, feed.language)
    fe.id(entry.id)  # Atom <id> and RSS <guid isPermaLink="false">
    fe.title(_text(entry.title, fmt))
    fe.published(instant(entry.published, f"{entry.id}: published"))
    fe.updated(instant(entry.updated, f"{entry.id}: updated"))
    fe.author(_person(entry.author, fmt))  # RSS: dc:creator only (extensions)
    # One alternate link, then the images as enclosures (attributes restored by _Entry).
    fe.link(href=entry.link, rel="alternate", type="text/html")
    for image in entry.images:
        length = {"length": str(image.length)} if image.length else {}
        fe.link(href=image.url, rel="enclosure", type=image.type, **length)
    # Then the documents: RSS's one <enclosure> is the first of all, the lead image if any.
    for attachment in entry.attachments:
        length = {"length": str(attachment.length)} if attachment.length else {}
        title = {"title": attachment.title} if attachment.title else {}
        fe.link(href=attachment.url, rel="enclosure", type=attachment.type, **length, **title)
    if entry.source_url:
        # Atom only: RSS <source> names the channel an item came from, <comments> a page
        # for comments; the source is a link of the content's closing lines there.
        fe.link(href=entry.source_url, rel="via", type="text/html")
    content = entry_content_html(entry)
    if content:
        fe.content(content, type="html")  # never CDATA
    if entry.summary:
        fe.summary(_text(entry.summary, fmt))  # Atom <summary>, RSS <description>
    for category in entry.categories:
        fe.category(term=category.term, scheme=category.scheme)  # no label


def _generator(feed: Feed, fmt: XmlFormat) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension(EXTENSION_NAME, FeedsvcFeedExtension, FeedsvcEntryExtension, atom=True, rss=True)
    fg.feedsvc.configure(feed, fmt)
    fg.generator("")  # no <generator> naming the library version
    fg.docs("")
    fg.id(feed.id)
    fg.title(_text(feed.title, fmt))
    fg.subtitle(_text(feed.subtitle, fmt))  # Atom <subtitle>, RSS <description>
    fg.language(feed.language)
    fg.updated(instant(feed.updated, "Feed.updated"))  # Atom <updated>, RSS <lastBuildDate>
    fg.author(_person(feed.author, fmt))
    if fmt == "rss" and feed.author.email:
        fg.managingEditor(f"{feed.author.email} ({feed.author.name})")
    if feed.icon:
        fg.icon(feed.icon)
    if feed.logo:
        # Also Atom <logo>. RSS: the image title is the channel title, written alike.
        fg.image(url=feed.logo, title=_text(feed.title, fmt), link=feed.alternate_url)
    ttl = ttl_minutes(feed.ttl_seconds) if feed.ttl_seconds is not None else None
    if fmt == "rss" and ttl is not None:
        fg.ttl(ttl)
    fg.link(href=feed.self_url, rel="self", type=ATOM_TYPE if fmt == "atom" else RSS_TYPE)
    for rel, href in extra_links(feed):  # Atom links; RSS gets them from the extension
        fg.link(href=href, rel=rel)
    fg.link(href=feed.alternate_url, rel="alternate", type="text/html")  # last: RSS takes the last link
    for entry in feed.entries:
        _add_entry(fg, entry, feed, fmt)
    return fg


def _as_references(data: bytes) -> bytes:
    for escaped, reference in _REFERENCES:
        data = data.replace(escaped, reference)
    return data


def render_atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8 bytes with XML declaration)."""
    data: bytes = _generator(feed, "atom").atom_str(pretty=True)
    return _as_references(data)


def render_rss(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8 bytes with XML declaration)."""
    data: bytes = _generator(feed, "rss").rss_str(pretty=True)
    return _as_references(data)
