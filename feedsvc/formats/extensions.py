"""feedgen extensions for what feedgen 1.0.0 cannot write itself.

They follow feedgen's extension protocol (`extend_ns`, `extend_atom`, `extend_rss`) by duck
typing, so this module needs lxml only; `atom_rss` registers them with
`FeedGenerator.register_extension`. One generator is built per format, so each instance is
told its format and data through `configure` before rendering.

Feed level (what feedgen's RSS drops or lacks):
- `<?xml-stylesheet?>` before the root, for browsers (`Feed.stylesheet_url`);
- RSS `atom:link` for hub/paging links (feedgen's RSS keeps only the first `rel=self`);
- RSS `<sy:updatePeriod>`/`<sy:updateFrequency>`, lowercase as the module specifies;
- RFC 5005 `<fh:complete/>` / `<fh:archive/>` in Atom and RSS;
- RFC 6721 `<at:deleted-entry ref when/>` in Atom;
- Atom `title`/`subtitle` as `type="html"` when their text needs it (`common.needs_html`);
- every namespace declared once on the root element.

Entry level: Media RSS `media:content` with `media:description` (`type="html"`, escaped)
and `media:credit` for every image (its width and height where known), `media:content`
`medium="document"` with `media:title` for every attachment, RSS `<dc:creator>` (the one
author element of an item), Atom `title`/`summary` types as at feed level, and Atom entry
`xml:lang` when it differs from the feed.
"""

from __future__ import annotations

from typing import Literal

from lxml import etree

from feedsvc.formats.common import html_escaped, needs_html, rfc3339, update_schedule
from feedsvc.formats.model import Attachment, Entry, Feed, Image

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
FH_NS = "http://purl.org/syndication/history/1.0"
AT_NS = "http://purl.org/atompub/tombstones/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# Feed-level links written by the generator itself; everything else in `Feed.links` is extra.
OWN_RELS = frozenset({"self", "alternate"})

XmlFormat = Literal["atom", "rss"]


def extra_links(feed: Feed) -> list[tuple[str, str]]:
    """`(rel, href)` of the feed's hub and paging links, in the given order."""
    return [(link.rel, link.href) for link in feed.links if link.rel not in OWN_RELS]


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _has_media(feed: Feed) -> bool:
    return any(entry.images or entry.attachments for entry in feed.entries)


def atom_text(parent: etree._Element, tag: str, text: str) -> None:
    """Writes an Atom text construct feedgen made as plain text, or as escaped HTML when a
    reader taking the text for HTML would misread it: either way readers show `text`."""
    element = parent.find(tag)
    if element is None or not needs_html(text):
        return
    element.text = html_escaped(text)
    element.set("type", "html")


def stylesheet(root: etree._Element, href: str | None) -> None:
    """`<?xml-stylesheet type="text/xsl" href="…"?>` before the root element."""
    if href is None:
        return
    value = href.replace("&", "&amp;").replace('"', "&quot;")
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{value}"'))


class FeedsvcFeedExtension:
    """Feed-level additions. feedgen instantiates it without arguments."""

    def __init__(self) -> None:
        self._feed: Feed | None = None
        self._format: XmlFormat = "atom"

    def configure(self, feed: Feed, fmt: XmlFormat) -> None:
        self._feed = feed
        self._format = fmt

    @property
    def feed(self) -> Feed:
        if self._feed is None:
            raise RuntimeError("FeedsvcFeedExtension.configure() was not called")
        return self._feed

    def extend_ns(self) -> dict[str, str]:
        """Namespaces for the root element: only those the document uses, declared once."""
        feed = self.feed
        ns: dict[str, str] = {}
        if self._format == "rss" and feed.entries:
            ns["dc"] = DC_NS
        if _has_media(feed):
            ns["media"] = MEDIA_NS
        if self._format == "rss" and feed.update_seconds is not None:
            ns["sy"] = SY_NS
        if feed.complete or feed.archive:
            ns["fh"] = FH_NS
        if self._format == "atom" and feed.tombstones:
            ns["at"] = AT_NS
        return ns

    def _history(self, parent: etree._Element) -> None:
        if self.feed.complete:
            _sub(parent, FH_NS, "complete")
        if self.feed.archive:
            _sub(parent, FH_NS, "archive")

    def extend_atom(self, feed_element: etree._Element) -> etree._Element:
        # Hub and paging links are ordinary fg.link() calls in Atom (atom_rss).
        stylesheet(feed_element, self.feed.stylesheet_url)
        atom_text(feed_element, "title", self.feed.title)
        atom_text(feed_element, "subtitle", self.feed.subtitle)
        self._history(feed_element)
        for tombstone in self.feed.tombstones:
            deleted = _sub(
                feed_element,
                AT_NS,
                "deleted-entry",
                ref=tombstone.ref,
                when=rfc3339(tombstone.when, "Tombstone.when"),
            )
            if tombstone.comment:
                _sub(deleted, AT_NS, "comment", tombstone.comment)
        return feed_element

    def extend_rss(self, rss_element: etree._Element) -> etree._Element:
        channel = rss_element.find("channel")
        if channel is None:  # pragma: no cover - feedgen always writes <channel>
            raise RuntimeError("RSS document without <channel>")
        stylesheet(rss_element, self.feed.stylesheet_url)
        for rel, href in extra_links(self.feed):
            _sub(channel, ATOM_NS, "link", href=href, rel=rel)
        if self.feed.update_seconds is not None:
            period, frequency = update_schedule(self.feed.update_seconds)
            _sub(channel, SY_NS, "updatePeriod", period)
            _sub(channel, SY_NS, "updateFrequency", str(frequency))
        self._history(channel)
        return rss_element


def _media_content(parent: etree._Element, image: Image) -> None:
    content = _sub(parent, MEDIA_NS, "content", url=image.url, type=image.type)
    if image.length:  # fileSize must be positive: left out when unknown
        content.set("fileSize", str(image.length))
    content.set("medium", "image")
    if image.width and image.height:
        content.set("width", str(image.width))
        content.set("height", str(image.height))
    if image.caption:
        # type="html", escaped: readers that render a description as HTML whatever its type
        # still show the caption as text, and those that follow the type do anyway.
        _sub(content, MEDIA_NS, "description", html_escaped(image.caption), type="html")
    if image.credit:
        _sub(content, MEDIA_NS, "credit", image.credit)  # plain text, as Media RSS defines it


def _media_document(parent: etree._Element, attachment: Attachment) -> None:
    content = _sub(parent, MEDIA_NS, "content", url=attachment.url, type=attachment.type)
    if attachment.length:
        content.set("fileSize", str(attachment.length))
    content.set("medium", "document")
    if attachment.title:
        _sub(content, MEDIA_NS, "title", attachment.title)  # plain text by default


class FeedsvcEntryExtension:
    """Entry-level additions. feedgen instantiates it once per entry, without arguments."""

    def __init__(self) -> None:
        self._entry: Entry | None = None
        self._feed_language = ""

    def configure(self, entry: Entry, feed_language: str) -> None:
        self._entry = entry
        self._feed_language = feed_language

    @property
    def entry(self) -> Entry:
        if self._entry is None:
            raise RuntimeError("FeedsvcEntryExtension.configure() was not called")
        return self._entry

    def extend_ns(self) -> dict[str, str]:
        return {}  # declared on the root by FeedsvcFeedExtension

    def extend_atom(self, entry_element: etree._Element) -> etree._Element:
        entry = self.entry
        if entry.language and entry.language != self._feed_language:
            entry_element.set(f"{{{XML_NS}}}lang", entry.language)
        atom_text(entry_element, "title", entry.title)
        atom_text(entry_element, "summary", entry.summary)
        for image in entry.images:
            _media_content(entry_element, image)
        for attachment in entry.attachments:
            _media_document(entry_element, attachment)
        return entry_element

    def extend_rss(self, item_element: etree._Element) -> etree._Element:
        entry = self.entry
        # The one author element of an item: RSS <author> would want an e-mail (and feedgen
        # would write both); the e-mail is in the content's contact line instead.
        _sub(item_element, DC_NS, "creator", entry.author.name)
        for image in entry.images:
            _media_content(item_element, image)
        for attachment in entry.attachments:
            _media_document(item_element, attachment)
        return item_element
