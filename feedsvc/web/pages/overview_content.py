"""What an overview page shows besides its releases: heading, breadcrumbs, the
filter chips (topics of a city, cities of a topic or region) and the feeds to
subscribe to. One builder per kind of subject; no Flask request here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from feedsvc import paths
from feedsvc.models import City, Region, Topic
from feedsvc.store import catalog, region_tree
from feedsvc.store.region_tree import Level
from feedsvc.store.scope import Scope
from feedsvc.web.feeds.content import Subject, ended_note, subject_of
from feedsvc.web.pages import counts as counts_memo
from feedsvc.web.pages.head import FeedLink, feed_links


@dataclass(frozen=True)
class Chip:
    label: str
    href: str
    count: int | None = None
    current: bool = False


@dataclass(frozen=True)
class Subscription:
    label: str
    feeds: tuple[FeedLink, ...]


@dataclass(frozen=True)
class RegionGroup:
    region: Region
    cities: list[tuple[City, int]]


@dataclass(frozen=True)
class OfficialKey:
    """The official key of a city or region, shown on its page with the feed that key leads to."""

    label: str
    key: str

    @property
    def feed_path(self) -> str:
        return paths.feed_path(paths.official_key_path(self.key), paths.FEED_FORMATS[0])


# What the key of each official level is called (a city's: Amtlicher Gemeindeschlüssel), and
# what the regions of a level are called together.
KEY_LABELS: dict[str, str] = {
    Level.LAND: "Landesschlüssel",
    Level.REGIERUNGSBEZIRK: "Schlüssel des Regierungsbezirks",
    Level.KREIS: "Kreisschlüssel",
}
CITY_KEY_LABEL = "Amtlicher Gemeindeschlüssel"
LEVEL_PLURALS: dict[str, str] = {
    Level.LAND: "Länder",
    Level.REGIERUNGSBEZIRK: "Regierungsbezirke",
    Level.KREIS: "Landkreise und kreisfreie Städte",
}


@dataclass
class Overview:
    subject: Subject
    heading: str
    intro: str
    official_key: OfficialKey | None = None
    breadcrumbs: list[tuple[str, str]] = field(default_factory=list)
    chips_heading: str = ""
    chips: list[Chip] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    region_groups: list[RegionGroup] = field(default_factory=list)
    # Heading of the feeds after the first, e.g. a city's feed per topic.
    subscriptions_more: str = "Weitere Feeds"

    @property
    def path(self) -> str:
        return self.subject.page_path or "/"

    @property
    def ended(self) -> str:
        """What the page of a retired city, topic or region says of it ("" for others)."""
        return ended_note(self.subject)


def subscription(label: str, subject: Subject) -> Subscription:
    return Subscription(label=label, feeds=feed_links(subject.page_path, subject.title))


def find_overview(
    session: Session, now: datetime, city: str | None, topic: str | None, region: str | None
) -> Overview | None:
    """The overview named by the URL's slugs, or None when a slug is unknown."""
    if region is not None:
        found_region = catalog.region_by_slug(session, region)
        return region_overview(session, now, found_region) if found_region else None
    found_city = catalog.city_by_slug(session, city) if city is not None else None
    found_topic = catalog.topic_by_slug(session, topic) if topic is not None else None
    if (city is not None and found_city is None) or (topic is not None and found_topic is None):
        return None
    if found_city is not None:
        return city_overview(session, now, found_city, found_topic)
    if found_topic is not None:
        return topic_overview(session, now, found_topic)
    return home_overview(session, now)


def home_overview(session: Session, now: datetime) -> Overview:
    subject = subject_of()
    counts = counts_memo.city_counts(session, now)
    groups = [
        RegionGroup(region, [(city, counts.get(city.id, 0)) for city in region.cities])
        for region in catalog.regions(session)
        if region.cities  # a Land or Regierungsbezirk holds Kreise, not cities
    ]
    chips = [
        Chip(topic.name, paths.subject_path(topic=topic), count)
        for topic, count in counts_memo.topic_counts(session, now)
    ]
    return Overview(
        subject=subject,
        heading="Aktuelle Pressemitteilungen",
        intro="Meldungen der Pressestellen aus Städten und Gemeinden – zum Lesen und als Feed.",
        chips_heading="Themen",
        chips=chips,
        subscriptions=[subscription("Alle Pressemitteilungen", subject)],
        region_groups=groups,
    )


def city_overview(session: Session, now: datetime, city: City, topic: Topic | None) -> Overview:
    subject = subject_of(city=city, topic=topic)
    city_path = paths.subject_path(city=city)
    counts = counts_memo.topic_counts(session, now, city_id=city.id)
    chips = [Chip("Alle Themen", city_path, current=topic is None)]
    chips += [
        Chip(
            each.name,
            paths.subject_path(city=city, topic=each),
            count,
            current=topic is not None and each.id == topic.id,
        )
        for each, count in counts
    ]
    subscriptions = [subscription(f"Alle Meldungen aus {city.name}", subject_of(city=city))]
    subscriptions += [
        subscription(f"{city.name}: {each.name}", subject_of(city=city, topic=each)) for each, _ in counts
    ]
    crumbs = [("Start", "/"), *_region_crumbs(session, city.region, itself=True)]
    if topic is None:
        return Overview(
            subject=subject,
            heading=f"Übersicht: {city.name}",
            intro=f"Pressemitteilungen aus {city.name}, {city.region.name}, neueste zuerst.",
            official_key=OfficialKey(CITY_KEY_LABEL, city.ags) if city.ags else None,
            breadcrumbs=crumbs,
            chips_heading=f"Themen in {city.name}",
            chips=chips,
            subscriptions=subscriptions,
            subscriptions_more="Nach Themen abonnieren",
        )
    return Overview(
        subject=subject,
        heading=f"{city.name}: {topic.name}",
        intro=f"Pressemitteilungen aus {city.name} zum Thema {topic.name}, neueste zuerst.",
        breadcrumbs=[*crumbs, (city.name, city_path)],
        chips_heading=f"Themen in {city.name}",
        chips=chips,
        subscriptions=[subscription(f"{city.name}: {topic.name}", subject), subscriptions[0]],
    )


def topic_overview(session: Session, now: datetime, topic: Topic) -> Overview:
    subject = subject_of(topic=topic)
    counts = counts_memo.city_counts(session, now, topic_id=topic.id)
    chips = [
        Chip(city.name, paths.subject_path(city=city, topic=topic), counts[city.id])
        for city in catalog.cities(session)
        if city.id in counts
    ]
    return Overview(
        subject=subject,
        heading=f"Thema: {topic.name}",
        intro=f"Pressemitteilungen aller Städte und Gemeinden zum Thema {topic.name}, neueste zuerst.",
        breadcrumbs=[("Start", "/")],
        chips_heading=f"{topic.name} in einer Stadt",
        chips=chips,
        subscriptions=[subscription(f"Thema {topic.name}", subject)],
    )


def region_overview(session: Session, now: datetime, region: Region) -> Overview:
    subject = subject_of(region=region)
    counts = counts_memo.city_counts(session, now)
    # An official region shows the regions right below it (a Land its Regierungsbezirke, …),
    # each with what it holds; a Kreis, like every region of one's own, its cities.
    below = [each for each in region.children if not each.is_retired]
    chips = [
        Chip(
            each.name,
            paths.subject_path(region=each),
            counts_memo.total(session, Scope(region_id=each.id), now),
        )
        for each in below
    ]
    chips += [
        Chip(city.name, paths.subject_path(city=city), counts.get(city.id, 0)) for city in region.cities
    ]
    subscriptions = [subscription(f"Alle Meldungen: {region.name}", subject)]
    subscriptions += [subscription(each.name, subject_of(region=each)) for each in below]
    subscriptions += [subscription(city.name, subject_of(city=city)) for city in region.cities]
    key_label = KEY_LABELS.get(region.level or "")
    heading = "Städte und Gemeinden"
    if below:
        heading = (
            LEVEL_PLURALS.get(below[0].level or "", "Gebiete") if not region.cities else "Gebiete und Städte"
        )
    return Overview(
        subject=subject,
        heading=region.name,
        intro=f"{region.name}: Pressemitteilungen aller Städte und Gemeinden, neueste zuerst.",
        official_key=OfficialKey(key_label, region.ags) if key_label and region.ags else None,
        breadcrumbs=[("Start", "/"), *_region_crumbs(session, region, itself=False)],
        chips_heading=heading,
        chips=chips,
        subscriptions=subscriptions,
        subscriptions_more="Einzeln abonnieren" if below else "Einzelne Städte abonnieren",
    )


def _region_crumbs(session: Session, region: Region, *, itself: bool) -> list[tuple[str, str]]:
    """Breadcrumbs down to a region: the Land, the Regierungsbezirk, … (and the region)."""
    chain = [*region_tree.regions_above(session, region.id), *([region] if itself else [])]
    return [(each.name, paths.subject_path(region=each)) for each in chain]
