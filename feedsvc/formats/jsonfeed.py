"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written by hand.

feedgen has no JSON Feed support. The document is a plain dict in a fixed key order,
serialised with `json.dumps(ensure_ascii=False)`, so equal input gives equal bytes.

Mapping beyond the obvious fields:
- Atom `icon` (small, square) → `favicon`; Atom `logo` (large) → `icon`.
- `rel=hub` links → `hubs` (type WebSub); `rel=next` → `next_url`. Other paging links and
  tombstones have no JSON Feed equivalent and are left out.
- Images, then documents (PDFs) → `attachments` (`size_in_bytes` only when known); the
  first image → `image`; the `_media` extension carries the images' caption and credit.
- The release on the press office's site → `external_url`.
- The `_feedsvc` extension: the press contact (`contact`: name, email, phone) and, in
  journalist feeds, `embargoed` and `embargoed_until`.
- Title, summary, author names and `_media` are plain text; `content_html` is HTML.
"""

from __future__ import annotations

import json
from typing import Any

from feedsvc.formats.common import entry_content_html, rfc3339
from feedsvc.formats.model import Contact, Entry, Feed, Person

__all__ = ["JSON_FEED_VERSION", "feed_document", "render_json"]

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _author(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    # JSON Feed: "url ... of a site owned by the author ... could also be a mailto: URI".
    url = person.uri or (f"mailto:{person.email}" if person.email else None)
    if url:
        data["url"] = url
    return data


def _contact(contact: Contact) -> dict[str, str]:
    data = {"name": contact.name} if contact.name else {}
    if contact.email:
        data["email"] = contact.email
    if contact.phone:
        data["phone"] = contact.phone
    return data


def _attachment(url: str, media_type: str, length: int | None, title: str) -> dict[str, Any]:
    attachment: dict[str, Any] = {"url": url, "mime_type": media_type}
    if length:
        attachment["size_in_bytes"] = length
    if title:
        attachment["title"] = title
    return attachment


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry.id, "url": entry.link}
    if entry.source_url:
        item["external_url"] = entry.source_url
    item["title"] = entry.title
    item["content_html"] = entry_content_html(entry)
    if entry.summary:
        item["summary"] = entry.summary
    if entry.images:
        item["image"] = entry.images[0].url
    item["date_published"] = rfc3339(entry.published, f"{entry.id}: published")
    item["date_modified"] = rfc3339(entry.updated, f"{entry.id}: updated")
    item["authors"] = [_author(entry.author)]
    tags = list(dict.fromkeys(category.term for category in entry.categories))
    if tags:
        item["tags"] = tags
    if entry.language:
        item["language"] = entry.language
    attachments = [_attachment(image.url, image.type, image.length, image.caption) for image in entry.images]
    attachments += [_attachment(each.url, each.type, each.length, each.title) for each in entry.attachments]
    if attachments:
        item["attachments"] = attachments
    if entry.images:
        item["_media"] = [
            {"url": image.url, "caption": image.caption, "credit": image.credit} for image in entry.images
        ]
    extension: dict[str, Any] = {}
    contact = _contact(entry.contact) if entry.contact is not None else {}
    if contact:
        extension["contact"] = contact
    if entry.embargoed_until is not None:
        extension["embargoed"] = True
        extension["embargoed_until"] = rfc3339(entry.embargoed_until, "embargoed_until")
    if extension:
        item["_feedsvc"] = extension
    return item


def feed_document(feed: Feed) -> dict[str, Any]:
    """The JSON Feed 1.1 document as a dict (key order is the output order)."""
    doc: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.alternate_url,
        "feed_url": feed.self_url,
    }
    if feed.subtitle:
        doc["description"] = feed.subtitle
    next_urls = [link.href for link in feed.links if link.rel == "next"]
    if next_urls:
        doc["next_url"] = next_urls[0]
    if feed.logo:
        doc["icon"] = feed.logo
    if feed.icon:
        doc["favicon"] = feed.icon
    doc["authors"] = [_author(feed.author)]
    doc["language"] = feed.language
    hubs = [{"type": "WebSub", "url": link.href} for link in feed.links if link.rel == "hub"]
    if hubs:
        doc["hubs"] = hubs
    doc["items"] = [_item(entry) for entry in feed.entries]
    return doc


def render_json(feed: Feed) -> bytes:
    """The feed as a JSON Feed 1.1 document (UTF-8 bytes, indented, trailing newline)."""
    text = json.dumps(
        feed_document(feed), ensure_ascii=False, sort_keys=False, indent=2, separators=(",", ": ")
    )
    return (text + "\n").encode("utf-8")
