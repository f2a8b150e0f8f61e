"""What goes into a feed: from a subject (city, topic, region, city×topic, all) and
its releases to the neutral `Feed` value that every writer renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import Session

from feedsvc import paths
from feedsvc.config import site_identity
from feedsvc.formats.model import Category, Contact, Entry, Feed, Image, Link, Person, Tombstone
from feedsvc.models import City, Region, Release, Topic
from feedsvc.store import catalog
from feedsvc.store.keys import scope_key
from feedsvc.store.scope import Scope
from feedsvc.web import urls
from feedsvc.web.feeds.budget import content_budget, within_budget

# Readers in Germany expect local times; offsets keep them unambiguous.
BERLIN = ZoneInfo("Europe/Berlin")
# An empty feed still needs an `updated`; it comes from the data, never the clock.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
# Category scheme of a city's Amtlicher Gemeindeschlüssel (8 digits, Destatis).
AGS_SCHEME = "urn:de:destatis:ags"
# The XSLT stylesheet that shows a feed opened in a browser as a page (feedsvc/static).
STYLESHEET_PATH = "/static/feed.xsl"


@dataclass(frozen=True)
class Subject:
    """What a feed is about. `key` names it in caches and change tracking; `id_path` is
    what its feed ids are made of, for good (`paths.subject_id_path`); `ended_at`: since
    when its city, topic or region is retired and takes no new releases."""

    key: str
    title: str
    scope: Scope
    page_path: str
    id_path: str = ""
    ended_at: datetime | None = None


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
    path = paths.subject_path(city=city, topic=topic, region=region)
    scope = Scope(
        city_id=city.id if city else None,
        topic_id=topic.id if topic else None,
        region_id=region.id if region else None,
    )
    key = scope_key(scope)
    named = (None, None, region) if region is not None else (city, topic, None)
    ends = [entry.retired_at for entry in named if entry is not None and entry.retired_at is not None]
    id_path, ended_at = paths.subject_id_path(*named), min(ends) if ends else None
    if region is not None:
        title = region.name
    elif city is not None and topic is not None:
        title = f"{city.name}: {topic.name}"
    elif city is not None:
        title = city.name
    elif topic is not None:
        title = f"Thema {topic.name}"
    else:
        title = "alle Städte"
    return Subject(key, title, scope, path, id_path, ended_at)


def _subtitle(subject: Subject) -> str:
    subtitle = f"Pressemitteilungen der Städte und Gemeinden: {subject.title}"
    return f"{subtitle}. {ended_note(subject)}" if subject.ended_at is not None else subtitle


def ended_note(subject: Subject) -> str:
    """What the feeds and the page of a retired city, topic or region say of it, in German."""
    if subject.ended_at is None:
        return ""
    day = subject.ended_at.astimezone(BERLIN)
    return f"Eingestellt am {day:%d.%m.%Y}: hier erscheinen keine neuen Pressemitteilungen mehr."


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
            url=urls.asset_url(image.url, base),
            type=image.media_type,
            # The API takes 0 for a size nobody knows; no feed format allows a length of 0.
            length=image.length or None,
            caption=image.caption,
            credit=image.credit,
        )
        for image in release.images
    )
    published, updated = release.published_at, _updated(release)
    embargoed = embargo_now is not None and release.published_at > embargo_now
    if embargo_now is not None and embargoed:
        # Shown to journalists before its instant: dated by when it was last written, never
        # from the future; the embargo instant is in the notice (and JSON's `_feedsvc`).
        published = updated = min(release.updated_at, embargo_now)
    return Entry(
        id=release.guid,
        title=release.title,
        link=urls.release_url(release),
        summary=release.summary,
        content_html=release.body_html,
        published=published.astimezone(BERLIN),
        updated=updated.astimezone(BERLIN),
        author=Person(name=release.author, email=release.contact_email),
        categories=tuple(categories),
        images=images,
        language=release.language,
        correction_note=release.correction_note or "",
        embargoed_until=release.published_at.astimezone(BERLIN) if embargoed else None,
        source_url=release.source_url,
        contact=_contact(release),
    )


def _contact(release: Release) -> Contact | None:
    if not (release.contact_name or release.contact_email or release.contact_phone):
        return None
    return Contact(name=release.contact_name or "", email=release.contact_email, phone=release.contact_phone)


def _updated(release: Release) -> datetime:
    # Until its first correction a release's content dates from its publication, however
    # long after it was written or imported.
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
    update_seconds: int | None = None,
    embargo_now: datetime | None = None,
    archive: bool = False,
) -> Feed:
    """The feed of a page. Its `updated` is its newest change (entry or tombstone), never
    the clock, and, since entries are dated so, never in the future, journalist feeds too."""
    entries = within_budget([entry_of(release, embargo_now) for release in releases], content_budget())
    tombstones = tuple(
        Tombstone(ref=release.guid, when=release.retracted_at.astimezone(BERLIN))
        for release in retracted
        if release.retracted_at is not None
    )
    stamps = [entry.updated for entry in entries] + [tombstone.when for tombstone in tombstones]
    alternate = urls.absolute(subject.page_path or "/")
    site = site_identity(current_app)
    return Feed(
        # The page's URL when the feed was first served: a rename keeps the id.
        id=urls.absolute(subject.id_path or "/"),
        title=site.feed_title(subject.title),
        subtitle=_subtitle(subject),
        self_url=self_url,
        alternate_url=alternate,
        language="de",
        updated=max(stamps).astimezone(BERLIN) if stamps else EMPTY_FEED_UPDATED,
        # The feed's author is the site: its name, and its contact address when there is one.
        author=Person(name=site.name, email=site.contact.email),
        entries=entries,
        links=tuple(paging) + tuple(Link(rel="hub", href=hub) for hub in hubs),
        tombstones=tombstones,
        ttl_seconds=ttl_seconds,
        update_seconds=update_seconds,
        archive=archive,
        icon=urls.asset_url(site.icon_path()),
        logo=urls.asset_url(site.logo_path()),
        stylesheet_url=urls.absolute(STYLESHEET_PATH),
    )
