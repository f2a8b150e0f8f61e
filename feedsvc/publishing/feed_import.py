"""Importing a feed's items as releases of one city: `feedsvc import FEED --city …` and
the worker's scheduled pulls (`worker.pulling`) go this one way
(docs/operations.md#importing-from-a-feed).

Each item (`feed_reading`) becomes an import record, as a line of an import file would:

- `external_id`: the item's guid (RSS), id (Atom, JSON Feed), else its link, else one
  derived from city, title and date (`importing.with_external_id`); an id longer than
  an external_id may be is replaced by its SHA-256;
- `published_at`: its publication date, else its update date (`feed_dates`; no zone
  means Europe/Berlin); an item without either is published at the time of the import;
- `body`: its content, else its description, with relative links and images made
  absolute against the item's base (`feed_reading`); the publishing service sanitises it;
- `images`: its image enclosures and `media:content` (JSON Feed: `image`, `banner_image`
  and image attachments), with the media type and length the feed gives (a length of 0
  or none is unknown);
- `topics`: its categories through a `TopicMapping`;
- `source_url`: its link; `author`, and `language` from the feed.

Then each is published through `Publishing.publish_or_replace`, in the caller's
transaction and as a savepoint of its own: a new item is created, a changed one
corrected (a new revision of the same release), an unchanged one left as it is. An item
that cannot be imported is counted as failed with its reasons; whether the others are
kept is the caller's choice (`feedsvc import` keeps nothing unless told to, a pull keeps
them). What is wrong with the feed as a whole (an unknown city, a mapping naming
unknown topics) raises `ImportFailed` before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.orm import Session

from feedsvc.models import Topic
from feedsvc.publishing.feed_dates import feed_instant
from feedsvc.publishing.feed_reading import Category, Feed, FeedItem, ImageRef
from feedsvc.publishing.importing import ImportFailed, with_external_id
from feedsvc.publishing.input import ImportRecord, field_errors, is_slug
from feedsvc.publishing.service import Effect, Publishing, Refused
from feedsvc.publishing.writers import ImportWriter
from feedsvc.store import catalog
from feedsvc.text import HtmlTooDeep, clean_body, slugify_de

# What a release takes at most (`publishing.input`): more images than this are left out.
MAX_IMAGES = 20
MAX_EXTERNAL_ID = 200
_CONTROL = re.compile(r"[\x00-\x1f]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def _key(name: str) -> str:
    """How category names are compared: case and runs of white space do not count."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class TopicMapping:
    """Feed categories → topic slugs, as a mapping file gives them: a JSON object whose keys
    are category names and whose values are a topic slug, a list of them, or null (the
    category names no topic, and is not reported as unmapped).

    A category the mapping does not name goes to the topic of the same name or slug
    ("Kultur" → `kultur`, "Verkehr & Mobilität" → `verkehr-mobilitaet`), if there is one;
    else it is reported as unmapped and the release is imported without it.
    """

    topics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by `_key` of the name
    names: Mapping[str, str] = field(default_factory=dict)  # `_key` → the name as given

    @classmethod
    def from_json(cls, text: str, origin: str) -> TopicMapping:
        """The mapping in `text` (a file named `origin`); ImportFailed lists every problem."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ImportFailed([f"{origin}: malformed JSON: {error.msg} (line {error.lineno})"]) from None
        if not isinstance(data, dict):
            raise ImportFailed([f"{origin}: must be a JSON object of feed categories to topic slugs"])
        topics: dict[str, tuple[str, ...]] = {}
        names: dict[str, str] = {}
        problems: list[str] = []
        for name, value in data.items():
            slugs = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            if (
                (value is not None and not slugs)
                or not all(is_slug(slug) for slug in slugs)
                or not _key(name)
            ):
                problems.append(f"{origin}: {name!r}: must be a topic slug, a list of topic slugs, or null")
                continue
            topics[_key(name)] = tuple(dict.fromkeys(slugs))
            names[_key(name)] = name
        if problems:
            raise ImportFailed(problems)
        return cls(topics=topics, names=names)

    def to_json(self) -> str:
        """The mapping as a mapping file would give it (what a feed source keeps)."""
        document = {
            self.names[key]: (list(slugs) if len(slugs) != 1 else slugs[0]) if slugs else None
            for key, slugs in self.topics.items()
        }
        return json.dumps(document, ensure_ascii=False, sort_keys=True)

    def unknown_topics(self, session: Session, origin: str) -> list[str]:
        """A problem line for each topic slug of the mapping that names no topic."""
        wanted = sorted({slug for slugs in self.topics.values() for slug in slugs})
        known = catalog.topics_by_slugs(session, wanted)
        return [
            f"{origin}: {self.names[key]!r}: unknown topic '{slug}'"
            for key, slugs in self.topics.items()
            for slug in slugs
            if slug not in known
        ]


class _TopicMatcher:
    """The topics of an item's categories: the mapping first, then topics of the same name."""

    def __init__(self, mapping: TopicMapping, topics: Sequence[Topic]) -> None:
        self.mapping = mapping
        self.by_name = {_key(topic.name): topic.slug for topic in topics}
        self.slugs = {topic.slug for topic in topics}

    def topics_of(self, categories: Sequence[Category]) -> tuple[list[str], list[str]]:
        """(topic slugs, names of the categories that have none)."""
        found: list[str] = []
        unmapped: list[str] = []
        for category in categories:
            given = self.mapping.topics
            mapped = next((given[_key(name)] for name in category.names if _key(name) in given), None)
            if mapped is None:
                mapped = next(
                    ((slug,) for name in category.names if (slug := self._same_name(name)) is not None), None
                )
            if mapped is None:
                unmapped.append(" ".join(category.names[0].split()))
            else:
                found.extend(mapped)
        return list(dict.fromkeys(found)), unmapped

    def _same_name(self, name: str) -> str | None:
        if _key(name) in self.by_name:
            return self.by_name[_key(name)]
        slug = slugify_de(name, max_length=100)
        return slug if slug in self.slugs else None


@dataclass
class FeedReport:
    """What an import of a feed did, item by item."""

    items: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    # One line per reason an item failed: "item 3 (guid): field: message".
    problems: list[str] = field(default_factory=list)
    # Categories that named no topic, with the number of items that had them.
    unmapped: Counter[str] = field(default_factory=Counter)
    ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.failed} failed"

    def unmapped_summary(self) -> str | None:
        if not self.unmapped:
            return None
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(self.unmapped.items()))
        return f"categories without a topic: {listed}"


def import_feed(
    session: Session,
    feed: Feed,
    *,
    city: str,
    mapping: TopicMapping,
    publisher: str | None,
    now: datetime,
    tag_authority: str,
    mapping_origin: str = "the topic mapping",
    progress: Callable[[], None] = lambda: None,
    source: str = "feedsvc import",
) -> FeedReport:
    """Publishes the items of `feed` for `city`, for the press office named `publisher`
    (None: the city's own), in the caller's transaction (begun with `db.begin_writing`).
    `source` is what the audit log names as the writer."""
    if catalog.city_by_slug(session, city) is None:
        raise ImportFailed([f"unknown city '{city}'"])
    unknown = mapping.unknown_topics(session, mapping_origin)
    if unknown:
        raise ImportFailed(unknown)
    matcher = _TopicMatcher(mapping, catalog.topics(session))
    publishing = Publishing(session, now=now, tag_authority=tag_authority, within_callers_transaction=True)
    writer = ImportWriter(publisher, source)
    report = FeedReport(items=len(feed.items))
    for item in feed.items:
        progress()
        label = _label(item)
        record, problems, unmapped = _record(item, feed, city, matcher)
        report.unmapped.update(dict.fromkeys(unmapped, 1))
        if record is None:
            report.failed += 1
            report.problems.extend(f"{label}: {problem}" for problem in problems)
            continue
        outcome = publishing.publish_or_replace(writer, record)
        if isinstance(outcome, Refused):
            report.failed += 1
            report.problems.extend(f"{label}: {problem}" for problem in _refusal(outcome))
            continue
        if outcome.effect is Effect.CREATED:
            report.new += 1
        elif outcome.effect is Effect.REPLACED:
            report.changed += 1
        else:
            report.unchanged += 1
        report.ids.append(outcome.release.id)
    return report


def _label(item: FeedItem) -> str:
    named = item.id or item.link
    return f"item {item.position} ({named})" if named else f"item {item.position}"


def _record(
    item: FeedItem, feed: Feed, city: str, matcher: _TopicMatcher
) -> tuple[ImportRecord | None, list[str], list[str]]:
    """(the item as a validated record or None, why not, its categories without a topic)."""
    topics, unmapped = matcher.topics_of(item.categories)
    problems: list[str] = []
    value: dict[str, Any] = {"city": city, "topics": topics, "title": item.title}
    if item.id or item.link:
        value["external_id"] = _external_id(item.id or item.link or "")
    raw_date = item.published or item.updated
    if raw_date is not None:
        instant = feed_instant(raw_date)
        if instant is None:
            problems.append(f"published_at: {raw_date!r} is no date feedsvc can read")
        else:
            value["published_at"] = instant
    if item.body is None:
        problems.append("body: the item has neither content nor a description")
    else:
        value["body"] = item.body
        if item.body_base is not None:
            # Relative links resolve against the item's base (xml:base or the feed's link),
            # not against `source_url`, which the service would take; absolute ones stay.
            try:
                value["body"] = clean_body(item.body, base_url=item.body_base)
            except HtmlTooDeep as error:
                problems.append(f"body: {error}")
    if item.link is not None:
        value["source_url"] = item.link
    if item.author is not None:
        value["author"] = item.author
    language = (feed.language or "").replace("_", "-")
    if _LANGUAGE.fullmatch(language):
        value["language"] = language
    value["images"] = [_image(image) for image in item.images[:MAX_IMAGES]]
    if problems:
        return None, problems, unmapped
    try:
        record = ImportRecord.model_validate(value)
    except ValidationError as error:
        return None, [f"{e.field}: {e.message}" for e in field_errors(error)], unmapped
    return with_external_id(record), [], unmapped


def _external_id(identifier: str) -> str:
    if len(identifier) <= MAX_EXTERNAL_ID and not _CONTROL.search(identifier):
        return identifier
    return "sha256:" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()


def _image(image: ImageRef) -> dict[str, Any]:
    media_type = image.media_type
    if media_type is None:
        guessed, _ = mimetypes.guess_type(urlsplit(image.url).path)
        media_type = guessed if guessed and guessed.startswith("image/") else "image/jpeg"
    # A caption longer than a release's may be is cut rather than the item refused.
    return {"url": image.url, "type": media_type, "length": image.length, "caption": image.caption[:1000]}


def _refusal(refused: Refused) -> list[str]:
    if not refused.errors:
        return [refused.message]
    return [f"{error.field}: {error.message}" for error in refused.errors]
