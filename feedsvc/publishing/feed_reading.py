"""Reading a feed document: RSS, Atom and JSON Feed to neutral items, for `feed_import`.

What a document is, is told by its content, never by a file name or a media type:
feedsvc's own import format (a JSON array or JSON Lines of records, `importing`), a JSON
Feed (a JSON object whose `version` is a jsonfeed.org URL), an HTML page (refused, naming
the feeds it links to), or XML, which feedparser reads (RSS 0.9x to 2.0, Atom 0.3 and 1.0).
feedparser 6 does not read JSON Feed; its few fields are read here.

URLs are made absolute here: against the xml:base in force (Atom), else the feed's own
link (RSS `<link>`, Atom's alternate link, JSON Feed's `home_page_url`), else the URL the
document was fetched from. Item bodies are left as the feed has them (feedparser neither
sanitises nor rewrites them here): `feed_import` hands each to the publishing service
with the base its relative links resolve against, and the service sanitises it.

A document that is no feed raises `NotAFeed` with one line saying what it is instead.
"""

from __future__ import annotations

import io
import json
import re
import xml.sax
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
from lxml.etree import ParserError

JSON_FEED_VERSION = "https://jsonfeed.org/version/"
# The media types of feeds, as pages announce them in <link rel="alternate" type="…">.
FEED_MEDIA_TYPES = {
    "application/rss+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/json": "JSON Feed",
    "application/rdf+xml": "RSS",
}
# feedparser's names of the formats it recognised.
_FORMATS = {
    "rss20": "RSS 2.0",
    "rss10": "RSS 1.0",
    "rss090": "RSS 0.90",
    "rss091n": "RSS 0.91",
    "rss091u": "RSS 0.91",
    "rss092": "RSS 0.92",
    "rss093": "RSS 0.93",
    "rss094": "RSS 0.94",
    "rss": "RSS",
    "atom10": "Atom 1.0",
    "atom03": "Atom 0.3",
    "atom": "Atom",
    "cdf": "CDF",
}
# What feedparser reports about a well-formed document (its encoding was declared
# otherwise than it was found, or by no XML media type): no reason to refuse it.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# Only the start of a document is looked at to tell HTML from XML.
_SNIFF_BYTES = 65536
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE | re.DOTALL
)
_BOM = b"\xef\xbb\xbf"


class NotAFeed(ValueError):
    """A document that is no feed; the message says in one line what it is instead."""


@dataclass(frozen=True)
class ImageRef:
    url: str
    media_type: str | None  # None: not given
    length: int  # bytes; 0: unknown
    caption: str = ""


@dataclass(frozen=True)
class Category:
    term: str
    label: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """How a mapping may name it: by its label (Atom) first, then its term."""
        return tuple(name for name in (self.label, self.term) if name)


@dataclass(frozen=True)
class FeedItem:
    position: int  # 1 for the first item of the document
    id: str | None  # RSS guid, Atom id, JSON Feed id
    link: str | None  # absolute http(s)
    title: str
    body: str | None  # HTML as the feed has it
    # What the body's relative links resolve against (None: nothing known).
    body_base: str | None
    published: str | None  # the date texts as the feed has them (`feed_dates`)
    updated: str | None
    categories: tuple[Category, ...]
    images: tuple[ImageRef, ...]
    author: str | None


@dataclass(frozen=True)
class Feed:
    format: str  # "RSS 2.0", "Atom 1.0", "JSON Feed 1.1", …
    title: str
    link: str | None  # absolute: the base of the feed's relative URLs
    language: str | None
    items: tuple[FeedItem, ...]


def document_kind(data: bytes) -> Literal["records", "feed"]:
    """Whether `data` is feedsvc's import format ("records": a JSON array, JSON Lines) or
    something for `read_feed` to read (a feed, or a document it refuses with a reason)."""
    start = data[:_SNIFF_BYTES].removeprefix(_BOM).lstrip()
    if start.startswith(b"["):
        return "records"
    if start.startswith(b"{"):
        return "feed" if _json_feed(data) is not None else "records"
    return "feed"


def read_feed(data: bytes, *, url: str | None = None, content_type: str | None = None) -> Feed:
    """The feed in `data`, fetched from `url` (None: a file); NotAFeed when it is none.
    `content_type` is what the server said the document was (for its character set)."""
    start = data[:_SNIFF_BYTES].removeprefix(_BOM).lstrip()
    if not start:
        raise NotAFeed("the document is empty")
    if start.startswith(b"{"):
        document = _json_feed(data)
        if document is None:
            raise NotAFeed("this is JSON, but not a JSON Feed (no 'version' of jsonfeed.org)")
        return _read_json_feed(document, url)
    if _HTML_START.match(start):
        raise NotAFeed(_html_page_message(data, url))
    return _read_xml_feed(data, url, content_type)


# --- XML feeds through feedparser ------------------------------------------------------------------


def _read_xml_feed(data: bytes, url: str | None, content_type: str | None) -> Feed:
    charset = _charset(content_type)
    # A file object, never bytes: feedparser would take bytes for a file name and open it.
    parsed = feedparser.parse(
        io.BytesIO(data),
        resolve_relative_uris=False,
        sanitize_html=False,
        response_headers={"content-type": f"application/xml{'; charset=' + charset if charset else ''}"},
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, xml.sax.SAXParseException):
        raise NotAFeed(
            f"not well-formed XML (line {problem.getLineNumber()}, column {problem.getColumnNumber()}): "
            f"{problem.getMessage()}"
        )
    if problem is not None and not isinstance(problem, _HARMLESS):
        raise NotAFeed(f"not a readable feed: {problem}")
    version = parsed.get("version") or ""
    if not version:
        raise NotAFeed("not an RSS, Atom or JSON feed" + _root_element(data))
    channel: Mapping[str, Any] = parsed.get("feed", {})
    link = _absolute(_text(channel.get("link")), url) or (url if _is_http(url) else None)
    base = link
    items = tuple(_xml_item(position, entry, base) for position, entry in enumerate(parsed.entries, 1))
    return Feed(
        format=_FORMATS.get(version, version),
        title=_text(channel.get("title")) or "",
        link=link,
        language=_text(channel.get("language")),
        items=items,
    )


def _xml_item(position: int, entry: Mapping[str, Any], base: str | None) -> FeedItem:
    # feedparser records the xml:base in force for each text it read (Atom; for RSS it is
    # the document's, here none); relative to the feed's own base when it is relative itself.
    detail_bases = [
        _text(detail.get("base"))
        for detail in (*entry.get("content", []), entry.get("summary_detail"), entry.get("title_detail"))
        if isinstance(detail, Mapping)
    ]
    entry_base = _absolute(next((b for b in detail_bases if b), None), base) or base
    body, body_type, body_base = _xml_body(entry)
    if body is not None and body_type == "text/plain":
        body = _plain_text_as_html(body)
    author_detail = entry.get("author_detail")
    author = _text(author_detail.get("name")) if isinstance(author_detail, Mapping) else None
    return FeedItem(
        position=position,
        id=_text(entry.get("id")),
        link=_absolute(_text(entry.get("link")), entry_base),
        title=_title(entry),
        body=body,
        body_base=_absolute(body_base, base) or entry_base,
        published=_text(entry.get("published")),
        # Read past feedparser's alias of a missing `updated` to `published` (deprecated, warned).
        updated=_text(dict.get(entry, "updated") if isinstance(entry, dict) else entry.get("updated")),
        categories=tuple(_xml_categories(entry.get("tags", []))),
        images=_unique_images(_xml_images(entry, entry_base)),
        author=author or _text(entry.get("author")),
    )


def _title(entry: Mapping[str, Any]) -> str:
    """The title as text that may hold markup and character references, as a release's
    title is read (`text.plain_text`): a plain-text title is escaped, so it means just itself."""
    title = _text(entry.get("title")) or ""
    detail = entry.get("title_detail")
    is_html = isinstance(detail, Mapping) and detail.get("type") in ("text/html", "application/xhtml+xml")
    return title if is_html else escape(title, quote=False)


def _xml_body(entry: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(text, media type, xml:base) of the fullest body an entry has: its content (HTML
    preferred), else its summary (RSS `<description>`)."""
    contents = [c for c in entry.get("content", []) if isinstance(c, Mapping) and _text(c.get("value"))]
    contents.sort(key=lambda c: c.get("type") not in ("text/html", "application/xhtml+xml"))
    if contents:
        chosen = contents[0]
        return _text(chosen.get("value")), _text(chosen.get("type")), _text(chosen.get("base"))
    detail = entry.get("summary_detail")
    summary = _text(entry.get("summary"))
    if summary is None:
        return None, None, None
    if isinstance(detail, Mapping):
        return summary, _text(detail.get("type")), _text(detail.get("base"))
    return summary, None, None


def _xml_categories(tags: Sequence[Any]) -> Iterator[Category]:
    for tag in tags:
        if not isinstance(tag, Mapping):
            continue
        term, label = _text(tag.get("term")), _text(tag.get("label"))
        if term or label:
            yield Category(term=term or label or "", label=label if term else None)


def _xml_images(entry: Mapping[str, Any], base: str | None) -> Iterator[ImageRef]:
    for link in entry.get("links", []):
        if isinstance(link, Mapping) and link.get("rel") == "enclosure":
            image = _image(link.get("href"), link.get("type"), link.get("length"), base, link.get("title"))
            if image is not None:
                yield image
    for media in entry.get("media_content", []):
        if not isinstance(media, Mapping):
            continue
        media_type = _text(media.get("type"))
        if media_type is None and media.get("medium") not in (None, "image"):
            continue  # a video or sound without a media type: not an image
        image = _image(media.get("url"), media_type, media.get("filesize"), base, None, assume_image=True)
        if image is not None:
            yield image


# --- JSON Feed ---------------------------------------------------------------------------------------


def _json_feed(data: bytes) -> dict[str, Any] | None:
    """The JSON Feed object in `data`, or None when `data` is not one."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):  # also UnicodeDecodeError
        return None
    if isinstance(document, dict):
        version = document.get("version")
        if isinstance(version, str) and version.startswith(JSON_FEED_VERSION):
            return document
    return None


def _read_json_feed(document: dict[str, Any], url: str | None) -> Feed:
    link = _absolute(_text(document.get("home_page_url")), url) or (url if _is_http(url) else None)
    items = document.get("items")
    if not isinstance(items, list):
        raise NotAFeed("this JSON Feed has no list of 'items'")
    version = str(document["version"]).removeprefix(JSON_FEED_VERSION)
    return Feed(
        format=f"JSON Feed {version}",
        title=_text(document.get("title")) or "",
        link=link,
        language=_text(document.get("language")),
        items=tuple(
            _json_item(position, item if isinstance(item, dict) else {}, link)
            for position, item in enumerate(items, 1)
        ),
    )


def _json_item(position: int, item: Mapping[str, Any], base: str | None) -> FeedItem:
    body = _text(item.get("content_html"))
    if body is None and (text := _text(item.get("content_text"))) is not None:
        body = _plain_text_as_html(text)
    images = [
        _image(item.get(key), None, None, base, None, assume_image=True) for key in ("image", "banner_image")
    ]
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, Mapping):
            images.append(
                _image(
                    attachment.get("url"),
                    attachment.get("mime_type"),
                    attachment.get("size_in_bytes"),
                    base,
                    attachment.get("title"),
                )
            )
    identifier = item.get("id")
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)  # JSON Feed 1.0 allowed numbers as ids
    return FeedItem(
        position=position,
        id=_text(identifier),
        link=_absolute(_text(item.get("url")), base),
        title=escape(_text(item.get("title")) or "", quote=False),  # JSON Feed titles are plain text
        body=body,
        body_base=base,
        published=_text(item.get("date_published")),
        updated=_text(item.get("date_modified")),
        categories=tuple(Category(term=tag) for tag in item.get("tags") or [] if _text(tag)),
        images=_unique_images(image for image in images if image is not None),
        author=_json_author(item),
    )


def _json_author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")
    if not isinstance(authors, list):  # JSON Feed 1.0: one `author`
        authors = [item.get("author")]
    names = [_text(author.get("name")) for author in authors if isinstance(author, Mapping)]
    return ", ".join(name for name in names if name) or None


# --- HTML pages ---------------------------------------------------------------------------------------


def _html_page_message(data: bytes, url: str | None) -> str:
    links = feed_links(data, url)
    if not links:
        return 'this is an HTML page, not a feed, and it links to no feed (<link rel="alternate">)'
    return "this is an HTML page, not a feed; its feed links are: " + ", ".join(links)


def feed_links(data: bytes, url: str | None) -> list[str]:
    """The feeds an HTML page announces (`<link rel="alternate" type="application/rss+xml"
    href="…">`), absolute when the page's URL (or its `<base>`) is known."""
    try:
        page = lxml.html.document_fromstring(data)
    except (ParserError, ValueError):
        return []
    base_element = page.find(".//base[@href]")
    base_href = base_element.get("href") if base_element is not None else None
    base = _absolute(base_href, url) or url
    found: list[str] = []
    for link in page.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").split(";")[0].strip().lower()
        href = " ".join((link.get("href") or "").split())
        if "alternate" in rel and media_type in FEED_MEDIA_TYPES and href:
            absolute = urljoin(base, href) if base else href
            if absolute not in found:
                found.append(absolute)
    return found


# --- small helpers ------------------------------------------------------------------------------------


def _image(
    url: object,
    media_type: object,
    length: object,
    base: str | None,
    caption: object,
    *,
    assume_image: bool = False,
) -> ImageRef | None:
    """An image, or None when the reference is no image (a PDF, a sound) or has no URL.
    A length that is missing, 0 or no number is unknown (0)."""
    absolute = _absolute(_text(url), base)
    if absolute is None:
        return None
    given = (_text(media_type) or "").split(";")[0].strip().lower() or None
    if given is not None and not given.startswith("image/"):
        return None
    if given is None and not assume_image:
        return None
    size = 0
    if isinstance(length, int) and not isinstance(length, bool):
        size = length
    elif isinstance(length, str) and length.strip().isdigit():
        size = int(length.strip())
    return ImageRef(
        url=absolute,
        media_type=given,
        length=size if 0 < size <= 2**53 else 0,
        caption=_text(caption) or "",
    )


def _unique_images(images: Iterator[ImageRef] | Sequence[ImageRef]) -> tuple[ImageRef, ...]:
    """One image per URL (feeds often give an image as enclosure and as media:content),
    keeping what either says of its type and length."""
    by_url: dict[str, ImageRef] = {}
    for image in images:
        known = by_url.get(image.url)
        if known is None:
            by_url[image.url] = image
            continue
        by_url[image.url] = ImageRef(
            url=image.url,
            media_type=known.media_type or image.media_type,
            length=known.length or image.length,
            caption=known.caption or image.caption,
        )
    return tuple(by_url.values())


def _plain_text_as_html(text: str) -> str:
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", text)]
    return "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs if paragraph)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    return stripped or None


def _is_http(url: str | None) -> bool:
    if url is None:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _absolute(value: str | None, base: str | None) -> str | None:
    """`value` resolved against `base`, when that makes an absolute http(s) URL."""
    if value is None:
        return None
    value = " ".join(value.split())
    try:
        resolved = urljoin(base, value) if base else value
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        return None
    return resolved if _is_http(resolved) else None


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", content_type or "")
    return match[1] if match else None


def _root_element(data: bytes) -> str:
    match = re.search(rb"<([A-Za-z_][\w.:-]*)[\s/>]", re.sub(rb"<[?!][^>]*>", b"", data[:_SNIFF_BYTES]))
    return f" (its root element is <{match[1].decode('ascii', 'replace')}>)" if match else ""
