"""What goes into a feed: from a subject (city, topic, region, city×topic, all) and
its releases to the neutral `Feed` value that every writer renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import Session

from feedsvc import paths
from feedsvc.config import site_identity
from feedsvc.formats.model import Entry, Feed, Link, Person
from feedsvc.models import City, Region, Release, Subscription, Topic
from feedsvc.publishing.entries import release_entry, tombstone_of
from feedsvc.publishing.subscriptions import filter_title as filter_title  # pages name it from here
from feedsvc.store import catalog
from feedsvc.store.keys import scope_key
from feedsvc.store.releases import Holding
from feedsvc.store.scope import Scope
from feedsvc.store.subscriptions import subject_keys
from feedsvc.web import urls
from feedsvc.web.feeds.budget import content_budget, within_budget

# Readers in Germany expect local times; offsets keep them unambiguous.
BERLIN = ZoneInfo("Europe/Berlin")
# An empty feed still needs an `updated`; it comes from the data, never the clock.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
# The XSLT stylesheet that shows a feed opened in a browser as a page (feedsvc/static).
STYLESHEET_PATH = "/static/feed.xsl"


@dataclass(frozen=True)
class Subject:
    """What a feed is about. `key` names it in caches and change tracking; `id_path` is
    what its feed ids are made of, for good (`paths.subject_id_path`); `ended_at`: since
    when its city, topic or region is retired and takes no new releases."""

    key: str
    title: str
    scope: Holding
    page_path: str
    id_path: str = ""
    ended_at: datetime | None = None
    # The change counters that tell whether its feeds are current: its own key, or for a
    # subscription the subjects that cover it (`store.subscriptions.subject_keys`).
    counter_keys: tuple[str, ...] = ()
    # Of a retired subject: where its releases go on, as (title, page path).
    successors: tuple[tuple[str, str], ...] = ()

    @property
    def counters(self) -> tuple[str, ...]:
        return self.counter_keys or (self.key,)


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
    successors = _successors(city, topic, region) if ended_at is not None else ()
    return Subject(key, title, scope, path, id_path, ended_at, successors=successors)


def _successors(city: City | None, topic: Topic | None, region: Region | None) -> tuple[tuple[str, str], ...]:
    """Where a retired subject's releases go on: a city's region (and the topic in it), a
    region's parent region, and for a topic everything; always the directory of feeds."""
    found: list[tuple[str, str]] = []
    if region is not None and region.parent is not None and not region.parent.is_retired:
        found.append((region.parent.name, paths.subject_path(region=region.parent)))
    if city is not None and not city.region.is_retired:
        found.append((city.region.name, paths.subject_path(region=city.region)))
    if topic is not None and not topic.is_retired:
        found.append((f"Thema {topic.name}", paths.subject_path(topic=topic)))
    if not found:
        found.append(("alle Städte", ""))
    return (*found, ("Eigenen Feed zusammenstellen", "/subscriptions/new"))


def ended_entry(subject: Subject, fmt: str) -> Entry:
    """The one entry a retired subject's feed carries: it has ended, and where to go on."""
    assert subject.ended_at is not None
    when = subject.ended_at.astimezone(BERLIN)
    links = "".join(
        f'<li><a href="{escape(urls.absolute(paths.feed_path(path, fmt)))}">{escape(title)}</a></li>'
        if path.startswith(("/cities", "/topics", "/regions")) or path == ""
        else f'<li><a href="{escape(urls.absolute(path))}">{escape(title)}</a></li>'
        for title, path in subject.successors
    )
    text = f"Seit dem {when:%d.%m.%Y} erscheinen hier keine neuen Pressemitteilungen mehr."
    site = site_identity(current_app)
    return Entry(
        id=urls.absolute((subject.id_path or "/") + "#eingestellt"),
        title="Dieser Feed wurde eingestellt",
        link=urls.absolute(subject.page_path or "/"),
        summary=f"{text} Weiter geht es in: " + ", ".join(title for title, _ in subject.successors),
        content_html=f"<p>{escape(text)} Neue Meldungen finden Sie hier:</p><ul>{links}</ul>",
        published=when,
        updated=when,
        author=Person(name=site.name, email=site.contact.email),
    )


def subscription_subject(subscription: Subscription) -> Subject:
    """The subject of a subscription's feeds and page: titled by what it filters."""
    path = paths.subscription_path(subscription.key)
    return Subject(
        key=f"subscription:{subscription.key}",
        title=filter_title(subscription),
        scope=subscription,
        page_path=path,
        id_path=path,
        counter_keys=subject_keys(subscription),
    )


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
    """The entry of a release (`publishing.entries`) on the request's base URL; with
    `embargo_now`, one still under embargo then is marked so."""
    return release_entry(
        release, urls.base_url(), embargo_now=embargo_now, early_access_url=urls.early_access_url
    )


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
    ended: bool = False,
) -> Feed:
    """The feed of a page. Its `updated` is its newest change (entry or tombstone), never
    the clock, and, since entries are dated so, never in the future, journalist feeds too.
    `ended`: the first page of a retired subject, which holds only the entry saying so."""
    entries = within_budget([entry_of(release, embargo_now) for release in releases], content_budget())
    if ended:
        entries = (ended_entry(subject, fmt),)
    tombstones = tuple(
        tombstone for tombstone in (tombstone_of(release) for release in retracted) if tombstone is not None
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
