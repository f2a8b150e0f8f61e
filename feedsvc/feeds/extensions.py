"""feedgen extensions for what feedgen 1.0.0 cannot write itself.

They follow feedgen's extension protocol (`extend_ns`, `extend_atom`, `extend_rss`) by duck
typing, so this module needs lxml only; `atom_rss` registers them with
`FeedGenerator.register_extension`. One generator is built per format, so each instance is
told its format and data through `configure` before rendering.

Feed level (what feedgen's RSS drops or lacks):
- RSS `atom:link` for hub/paging links (feedgen's RSS keeps only the first `rel=self`);
- RSS `<sy:updatePeriod>`/`<sy:updateFrequency>`, lowercase as the module specifies;
- RFC 5005 `<fh:complete/>` / `<fh:archive/>` in Atom and RSS;
- RFC 6721 `<at:deleted-entry ref when/>` in Atom;
- every namespace declared once on the root element.

Entry level (gotcha 17): Media RSS `media:content` with `media:description` and `media:credit`
for every image, RSS `<dc:creator>`, and Atom entry `xml:lang` when it differs from the feed.
"""

from __future__ import annotations

from typing import Literal

from lxml import etree

from feedsvc.feeds.model import Entry, Feed, Image
from feedsvc.feeds.writers import rfc3339, update_schedule

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


def _has_images(feed: Feed) -> bool:
    return any(entry.images for entry in feed.entries)


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
        if _has_images(feed):
            ns["media"] = MEDIA_NS
        if self._format == "rss" and feed.ttl_seconds is not None:
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
        self._history(feed_element)
        for tombstone in self.feed.tombstones:
            _sub(
                feed_element,
                AT_NS,
                "deleted-entry",
                ref=tombstone.ref,
                when=rfc3339(tombstone.when, "Tombstone.when"),
            )
        return feed_element

    def extend_rss(self, rss_element: etree._Element) -> etree._Element:
        channel = rss_element.find("channel")
        if channel is None:  # pragma: no cover - feedgen always writes <channel>
            raise RuntimeError("RSS document without <channel>")
        for rel, href in extra_links(self.feed):
            _sub(channel, ATOM_NS, "link", href=href, rel=rel)
        if self.feed.ttl_seconds is not None:
            period, frequency = update_schedule(self.feed.ttl_seconds)
            _sub(channel, SY_NS, "updatePeriod", period)
            _sub(channel, SY_NS, "updateFrequency", str(frequency))
        self._history(channel)
        return rss_element


def _media_content(parent: etree._Element, image: Image) -> None:
    content = _sub(
        parent,
        MEDIA_NS,
        "content",
        url=image.url,
        type=image.type,
        fileSize=str(image.length),
        medium="image",
    )
    if image.caption:
        _sub(content, MEDIA_NS, "description", image.caption, type="plain")
    if image.credit:
        _sub(content, MEDIA_NS, "credit", image.credit)


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
        for image in entry.images:
            _media_content(entry_element, image)
        return entry_element

    def extend_rss(self, item_element: etree._Element) -> etree._Element:
        entry = self.entry
        _sub(item_element, DC_NS, "creator", entry.author.name)
        for image in entry.images:
            _media_content(item_element, image)
        return item_element
