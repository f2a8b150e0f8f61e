"""What goes into a feed: from a subject (city, topic, region, city×topic, all) and
its releases to the neutral `Feed` value that every writer renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from feedsvc.feeds.model import Category, Entry, Feed, Image, Link, Person, Tombstone
from feedsvc.models import City, Region, Release, Topic
from feedsvc.store import catalog
from feedsvc.store.scope import Cursor, Scope
from feedsvc.web import urls

# Readers in Germany expect local times; offsets keep them unambiguous.
BERLIN = ZoneInfo("Europe/Berlin")
# An empty feed still needs an `updated`; it comes from the data, never the clock.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
# Category scheme of a city's Amtlicher Gemeindeschlüssel (8 digits, Destatis).
AGS_SCHEME = "urn:de:destatis:ags"


@dataclass(frozen=True)
class Subject:
    """What a feed is about. `key` names it in caches and change tracking."""

    key: str
    title: str
    scope: Scope
    page_path: str


def find_subject(
    session: Session, city_slug: str | None, topic_slug: str | None, region_slug: str | None
) -> Subject | None:
    """The subject named by the URL's slugs, or None when a slug is unknown."""
    city = topic = region = None
    if region_slug is not None and (region := catalog.region_by_slug(session, region_slug)) is None:
        return None
    if city_slug is not None and (city := catalog.city_by_slug(session, city_slug)) is None:
        return None
    if topic_slug is not None and (topic := catalog.topic_by_slug(session, topic_slug)) is None:
        return None
    return subject_of(city=city, topic=topic, region=region)


def subject_of(city: City | None = None, topic: Topic | None = None, region: Region | None = None) -> Subject:
    path = urls.subject_path(city=city, topic=topic, region=region)
    scope = Scope(
        city_id=city.id if city else None,
        topic_id=topic.id if topic else None,
        region_id=region.id if region else None,
    )
    if region is not None:
        return Subject(f"region:{region.id}", region.name, scope, path)
    if city is not None and topic is not None:
        return Subject(f"city:{city.id}:topic:{topic.id}", f"{city.name}: {topic.name}", scope, path)
    if city is not None:
        return Subject(f"city:{city.id}", city.name, scope, path)
    if topic is not None:
        return Subject(f"topic:{topic.id}", f"Thema {topic.name}", scope, path)
    return Subject("all", "alle Städte", scope, path)


def encode_cursor(cursor: Cursor) -> str:
    micros = int(cursor.published_at.timestamp() * 1_000_000)
    return f"{micros}-{cursor.release_id}"


def decode_cursor(text: str) -> Cursor | None:
    micros, _, release_id = text.partition("-")
    if not (micros.isdigit() and release_id.isdigit()) or len(micros) > 18 or len(release_id) > 18:
        return None
    try:
        published_at = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
    except (ValueError, OverflowError, OSError):  # beyond the years datetime can hold
        return None
    if int(release_id) > 2**63 - 1:
        return None
    return Cursor(published_at=published_at, release_id=int(release_id))


def entry_of(release: Release, embargo_now: datetime | None = None) -> Entry:
    """The entry of a release; with `embargo_now`, one still under embargo then is marked so."""
    base = urls.base_url()
    categories = [
        Category(term=topic.name, scheme=f"{base}/topics/", label=topic.name) for topic in release.topics
    ]
    city = release.city
    categories.append(Category(term=city.name, scheme=f"{base}/cities/", label=city.name))
    if city.ags:
        # The official municipality key lets aggregators match cities across sources.
        categories.append(Category(term=city.ags, scheme=AGS_SCHEME, label=city.ags))
    images = tuple(
        Image(
            url=image.url,
            type=image.media_type,
            length=image.length,
            caption=image.caption,
            credit=image.credit,
        )
        for image in release.images
    )
    published = release.published_at.astimezone(BERLIN)
    return Entry(
        id=release.guid,
        title=release.title,
        link=urls.release_url(release),
        summary=release.summary,
        content_html=release.body_html,
        published=published,
        # Until its first correction a release's content dates from its publication,
        # however long after it was written or imported.
        updated=_updated(release).astimezone(BERLIN),
        author=Person(name=release.author, email=release.contact_email),
        categories=tuple(categories),
        images=images,
        language=release.language,
        correction_note=release.correction_note or "",
        embargoed_until=published if embargo_now and release.published_at > embargo_now else None,
    )


def _updated(release: Release) -> datetime:
    return max(release.updated_at, release.published_at) if release.revision > 1 else release.published_at


def feed_of(
    subject: Subject,
    fmt: str,
    releases: Sequence[Release],
    *,
    self_url: str,
    paging: Sequence[Link],
    hubs: Sequence[str],
    retracted: Sequence[Release] = (),
    ttl_seconds: int | None = None,
    embargo_now: datetime | None = None,
    archive: bool = False,
) -> Feed:
    entries = tuple(entry_of(release, embargo_now) for release in releases)
    tombstones = tuple(
        Tombstone(ref=release.guid, when=release.retracted_at.astimezone(BERLIN))
        for release in retracted
        if release.retracted_at is not None
    )
    stamps = [entry.updated for entry in entries] + [tombstone.when for tombstone in tombstones]
    alternate = urls.absolute(subject.page_path or "/")
    return Feed(
        id=alternate,
        title=f"Pressemitteilungen – {subject.title}",
        subtitle=f"Pressemitteilungen der Städte und Gemeinden: {subject.title}",
        self_url=self_url,
        alternate_url=alternate,
        language="de",
        updated=max(stamps).astimezone(BERLIN) if stamps else EMPTY_FEED_UPDATED,
        author=Person(name="feedsvc"),
        entries=entries,
        links=tuple(paging) + tuple(Link(rel="hub", href=hub) for hub in hubs),
        tombstones=tombstones,
        ttl_seconds=ttl_seconds,
        archive=archive,
        icon=urls.absolute("/static/icon.png"),
        logo=urls.absolute("/static/logo.png"),
    )
