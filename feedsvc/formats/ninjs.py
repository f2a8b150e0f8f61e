"""IPTC ninjs 3.1 ("News in JSON", https://iptc.org/standards/ninjs/), written by hand.

Each release is a ninjs item of `type` "text"; a feed page is one ninjs item of `type`
"composite" that holds its releases. ninjs 3.1 has no links and no extension point: its
schema allows no property it does not define (`unevaluatedProperties: false`), so every
document here uses only those, and tests/test_ninjs.py validates each kind against the
schema. Like JSON Feed, a document is a dict in a fixed key order serialised with
`json.dumps(ensure_ascii=False)`: equal input gives equal bytes.

A release (`release_item`):
- `uri` is the entry id (the tag URI Atom and JSON Feed use), `version` the release's
  revision, `firstCreated` its publication, `versionCreated` its `updated` time.
- `pubStatus` "usable"; a retracted release is a `canceled_item` (pubStatus "canceled",
  the retraction's version and instant, its reason as `edNote`). `urgency` is the release's.
- `embargoedUntil` only in journalist feeds, with "SPERRFRIST bis …" leading the `edNote`;
  a correction note is the `edNote` of the corrected version.
- `headlines` (title), `descriptions` (summary), `bodies`: the release body as HTML and as
  plain text (paragraphs kept), without the notices, lead image and contact the other
  formats put into their HTML: ninjs says those in properties of their own.
- `by` and `infoSources` name the press office; its `contactInfo` holds the press contact
  (e-mail and phone, each `name`d by the contact person). `located` and `places` name the
  city, with its AGS as the DCAT-AP.de URI `…/politicalGeocoding/municipalityKey/<AGS>`
  (`AGS_URI`) and as `literal`. `subjects` are the topics.
- `renditions`: the release page ("page", text/html), the release on the press office's site
  ("source"), the release's own ninjs document ("ninjs"). `representationType` is "partial"
  where the feed's byte budget left only the summary (its "ninjs" rendition has the rest).
- `associations`: its images, `type` "picture", named "image-1" (the lead image), "image-2",
  …, the caption as `descriptions`, the credit as `by`, `usageTerms`, and the image itself as
  the rendition "web" (media type, `sizeInBytes`, `width` and `height` when known); then its
  documents (PDFs), named "document-1", …, their title as `title`, the file as the rendition
  "document".

A feed page (`feed_document`): `uri` is the feed id (as Atom's `<id>`, the same on every page),
`title` and `descriptions` its title and subtitle, `versionCreated` its `updated`. Its
`renditions` are "self" (this document) and "alternate" (the subject's HTML page). Its
`associations` are, newest first, its releases (`rel` "item"), then the canceled items of its
tombstones (`rel` "item"), then its RFC 5005 neighbours as partial composites named and
`rel`ated by their link relation ("next", "previous", "first", "current", "prev-archive",
"next-archive"), each with its URL as `uri` and as its "ninjs" rendition. `rel` values are IANA
link relations. WebSub hubs are in the HTTP `Link` header only.

URLs from press offices may be IRIs; every URI written here is one (`as_uri`, RFC 3987 §3.1).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from feedsvc.formats.common import BERLIN, require_aware, rfc3339
from feedsvc.formats.model import (
    Attachment,
    Concept,
    Contact,
    Entry,
    Feed,
    Image,
    Link,
    Person,
    Place,
    Tombstone,
)
from feedsvc.text import strip_xml_forbidden

__all__ = [
    "AGS_URI",
    "MEDIA_TYPE",
    "NINJS_SCHEMA",
    "NINJS_VERSION",
    "as_uri",
    "body_text",
    "canceled_item",
    "feed_document",
    "release_item",
    "render_canceled",
    "render_ninjs",
    "render_release",
]

NINJS_VERSION = "3.1"
NINJS_SCHEMA = "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#"
# There is no registered media type for ninjs: it is served as what it is, JSON.
MEDIA_TYPE = "application/json"
# DCAT-AP.de's vocabulary of German municipalities by their 8-digit AGS (dcat-ap.de/def/).
AGS_URI = "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/"
STANDARD: dict[str, str] = {"name": "ninjs", "version": NINJS_VERSION, "schema": NINJS_SCHEMA}

_HTML = "text/html"
_TEXT = "text/plain"
_AGS = re.compile(r"[0-9]{8}")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 characters each part of a URI may hold as they are (quote keeps A-Z a-z 0-9 -._~).
_SAFE_HOST = "!$&'()*+,;=:@[]%"
_SAFE_PATH = "!$&'()*+,;=:@/%"
_SAFE_QUERY = "!$&'()*+,;=:@/?%"
# Elements whose text stands as a paragraph of its own in the plain-text body.
# fmt: off
_BLOCKS = frozenset([
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "td", "th", "tr", "ul",
])
# fmt: on
_NOT_TEXT = frozenset({"script", "style", "template"})
_PARSER = lxml.html.HTMLParser(huge_tree=True)


def as_uri(iri: str) -> str:
    """An IRI as the URI it maps to (RFC 3987 §3.1): what a URI may not hold ("ä", " ", "|",
    a "%" that starts no escape) percent-encoded as UTF-8, escapes already there kept."""

    def encoded(part: str, safe: str) -> str:
        return quote(_LONE_PERCENT.sub("%25", part), safe=safe)

    parts = urlsplit(iri)
    return urlunsplit(
        (
            parts.scheme,
            encoded(parts.netloc, _SAFE_HOST),
            encoded(parts.path, _SAFE_PATH),
            encoded(parts.query, _SAFE_QUERY),
            encoded(parts.fragment, _SAFE_QUERY),
        )
    )


def body_text(html: str) -> str:
    """The text of an HTML body: a paragraph per block element (blank lines between), a line
    break per <br>, whitespace within a line collapsed, no markup, entities decoded."""
    root = lxml.html.fragment_fromstring(strip_xml_forbidden(html), create_parent="div", parser=_PARSER)
    paragraphs: list[str] = []
    # The text of the paragraph being read; None marks a <br>.
    pieces: list[str | None] = []
    hidden = 0  # inside script or style

    def close_paragraph() -> None:
        lines: list[list[str]] = [[]]
        for piece in pieces:
            if piece is None:
                lines.append([])
            else:
                lines[-1].append(piece)
        text = "\n".join(line for line in (" ".join("".join(words).split()) for words in lines) if line)
        if text:
            paragraphs.append(text)
        pieces.clear()

    for event, element in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = element.tag if isinstance(element.tag, str) else None
        if event == "start":
            if tag in _BLOCKS:
                close_paragraph()
            elif tag == "br":
                pieces.append(None)
            if tag in _NOT_TEXT:
                hidden += 1
            elif element.text and not hidden:
                pieces.append(element.text)
            continue
        if event == "end":
            if tag in _NOT_TEXT:
                hidden -= 1
            elif tag in _BLOCKS:
                close_paragraph()
        if element is not root and element.tail and not hidden:
            pieces.append(element.tail)
    close_paragraph()
    return "\n\n".join(paragraphs)


def _text(value: str, role: str | None = None) -> dict[str, str]:
    block = {"role": role} if role else {}
    return {**block, "contentType": _TEXT, "value": value}


def _edited_note(entry: Entry) -> str:
    """What receiving editors must know and readers are not to see: the embargo, the correction."""
    notes: list[str] = []
    if entry.embargoed_until is not None:
        local = require_aware(entry.embargoed_until, "embargoed_until").astimezone(BERLIN)
        notes.append(f"SPERRFRIST bis {local:%d.%m.%Y %H:%M} Uhr")
    if entry.correction_note.strip():
        notes.append(entry.correction_note)
    return "\n".join(notes)


def _place(place: Place) -> dict[str, str]:
    data = {"name": place.name}
    if place.ags and _AGS.fullmatch(place.ags):
        data["uri"] = f"{AGS_URI}{place.ags}"
        data["literal"] = place.ags
    return data


def _subject(topic: Concept) -> dict[str, str]:
    return {"name": topic.name, "uri": as_uri(topic.uri)}


def _contact_info(author: Person, contact: Contact | None) -> list[dict[str, str]]:
    """The press contact's e-mail and phone, each named by the contact person; without a
    contact, the press office's own address."""
    named = {"name": contact.name} if contact is not None and contact.name else {}
    email = contact.email if contact is not None else author.email
    found: list[dict[str, str]] = []
    if email:
        found.append({"type": "email", "role": "press", **named, "value": email})
    if contact is not None and contact.phone:
        found.append({"type": "phone", "role": "press", **named, "value": contact.phone})
    return found


def _info_source(author: Person, contact: Contact | None) -> dict[str, Any]:
    # No `role`: in NewsML-G2, whose infoSource ninjs takes, a source without a role originated
    # the content, as the press office did.
    source: dict[str, Any] = {"name": author.name} if author.name else {}
    if author.uri:
        source["uri"] = as_uri(author.uri)
    contact_info = _contact_info(author, contact)
    if contact_info:
        source["contactInfo"] = contact_info
    return source


def _picture(image: Image, number: int) -> dict[str, Any]:
    rendition: dict[str, Any] = {"name": "web", "href": as_uri(image.url), "contentType": image.type}
    if image.length:
        rendition["sizeInBytes"] = image.length
    if image.width and image.height:
        rendition |= {"width": image.width, "height": image.height}
    picture: dict[str, Any] = {"name": f"image-{number}", "uri": as_uri(image.url), "type": "picture"}
    if image.caption:
        picture["descriptions"] = [_text(image.caption, "caption")]
    if image.credit:
        picture["by"] = image.credit
    if image.usage_terms:
        picture["usageTerms"] = image.usage_terms
    picture["renditions"] = [rendition]
    return picture


def _document(attachment: Attachment, number: int) -> dict[str, Any]:
    rendition: dict[str, Any] = {
        "name": "document",
        "href": as_uri(attachment.url),
        "contentType": attachment.type,
    }
    if attachment.length:
        rendition["sizeInBytes"] = attachment.length
    document: dict[str, Any] = {"name": f"document-{number}", "uri": as_uri(attachment.url)}
    if attachment.title:
        document["title"] = attachment.title
    document["renditions"] = [rendition]
    return document


def _renditions(entry: Entry) -> list[dict[str, str]]:
    found = [{"name": "page", "href": as_uri(entry.link), "contentType": _HTML}]
    if entry.source_url:
        found.append({"name": "source", "href": as_uri(entry.source_url), "contentType": _HTML})
    if entry.document_url:
        found.append({"name": "ninjs", "href": as_uri(entry.document_url), "contentType": MEDIA_TYPE})
    return found


def release_item(entry: Entry) -> dict[str, Any]:
    """The ninjs item of a release (key order is the output order)."""
    item: dict[str, Any] = {
        "uri": entry.id,
        "type": "text",
        "version": str(entry.revision),
        "versionCreated": rfc3339(entry.updated, f"{entry.id}: updated"),
        "firstCreated": rfc3339(entry.published, f"{entry.id}: published"),
    }
    if entry.embargoed_until is not None:
        item["embargoedUntil"] = rfc3339(entry.embargoed_until, "embargoed_until")
    item["pubStatus"] = "usable"
    if entry.urgency is not None and 1 <= entry.urgency <= 9:
        item["urgency"] = entry.urgency
    item["representationType"] = "partial" if entry.shortened else "full"
    if entry.language:
        item["language"] = entry.language
    note = _edited_note(entry)
    if note:
        item["edNote"] = note
    item["headlines"] = [_text(entry.title, "main")]
    if entry.summary:
        item["descriptions"] = [_text(entry.summary, "summary")]
    item["bodies"] = [
        {"role": "main", "contentType": _HTML, "value": entry.content_html},
        _text(body_text(entry.content_html), "main"),
    ]
    if entry.author.name:
        item["by"] = entry.author.name
    if entry.place is not None:
        item["located"] = entry.place.name
        item["places"] = [_place(entry.place)]
    if entry.topics:
        item["subjects"] = [_subject(topic) for topic in entry.topics]
    source = _info_source(entry.author, entry.contact)
    if source:
        item["infoSources"] = [source]
    item["renditions"] = _renditions(entry)
    associations = [_picture(image, number) for number, image in enumerate(entry.images, 1)]
    associations += [_document(each, number) for number, each in enumerate(entry.attachments, 1)]
    if associations:
        item["associations"] = associations
    return item


def canceled_item(tombstone: Tombstone) -> dict[str, Any]:
    """The ninjs item of a retracted release: its id, the retraction's version, instant and reason."""
    item: dict[str, Any] = {"uri": tombstone.ref, "type": "text"}
    if tombstone.revision is not None:
        item["version"] = str(tombstone.revision)
    item["versionCreated"] = rfc3339(tombstone.when, "Tombstone.when")
    item["pubStatus"] = "canceled"
    if tombstone.comment:
        item["edNote"] = tombstone.comment
    return item


def _neighbour(link: Link) -> dict[str, Any]:
    """An RFC 5005 neighbour page as an associated composite that is only referred to."""
    return {
        "name": link.rel,
        "rel": link.rel,
        "uri": as_uri(link.href),
        "type": "composite",
        "representationType": "partial",
        "renditions": [{"name": "ninjs", "href": as_uri(link.href), "contentType": MEDIA_TYPE}],
    }


def feed_document(feed: Feed) -> dict[str, Any]:
    """The feed page as one ninjs composite (key order is the output order)."""
    doc: dict[str, Any] = {
        "uri": feed.id,
        "standard": STANDARD,
        "type": "composite",
        "versionCreated": rfc3339(feed.updated, "Feed.updated"),
        "language": feed.language,
        "title": feed.title,
    }
    if feed.subtitle:
        doc["descriptions"] = [_text(feed.subtitle, "summary")]
    doc["renditions"] = [
        {"name": "self", "href": as_uri(feed.self_url), "contentType": MEDIA_TYPE},
        {"name": "alternate", "href": as_uri(feed.alternate_url), "contentType": _HTML},
    ]
    associations: list[dict[str, Any]] = [
        {"name": "release", "rel": "item", **release_item(entry)} for entry in feed.entries
    ]
    associations += [
        {"name": "release", "rel": "item", **canceled_item(tombstone)} for tombstone in feed.tombstones
    ]
    associations += [_neighbour(link) for link in feed.links if link.rel != "hub"]
    if associations:
        doc["associations"] = associations
    return doc


def _serialised(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, sort_keys=False, indent=2, separators=(",", ": "))
    return (text + "\n").encode("utf-8")


def render_ninjs(feed: Feed) -> bytes:
    """The feed page as a ninjs 3.1 composite (UTF-8 bytes, indented, trailing newline)."""
    return _serialised(feed_document(feed))


def render_release(entry: Entry) -> bytes:
    """One release as a ninjs 3.1 document of its own."""
    return _serialised({"uri": entry.id, "standard": STANDARD, **release_item(entry)})


def render_canceled(tombstone: Tombstone) -> bytes:
    """A retracted release as a ninjs 3.1 document of its own: its canceled item."""
    return _serialised({"uri": tombstone.ref, "standard": STANDARD, **canceled_item(tombstone)})
