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
from feedsvc.store import catalog
from feedsvc.web.feeds.content import Subject, subject_of
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


@dataclass
class Overview:
    subject: Subject
    heading: str
    intro: str
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
    crumbs = [("Start", "/"), (city.region.name, paths.subject_path(region=city.region))]
    if topic is None:
        return Overview(
            subject=subject,
            heading=f"Übersicht: {city.name}",
            intro=f"Pressemitteilungen aus {city.name}, {city.region.name}, neueste zuerst.",
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
    chips = [Chip(city.name, paths.subject_path(city=city), counts.get(city.id, 0)) for city in region.cities]
    subscriptions = [subscription(f"Alle Meldungen: {region.name}", subject)]
    subscriptions += [subscription(city.name, subject_of(city=city)) for city in region.cities]
    return Overview(
        subject=subject,
        heading=region.name,
        intro=f"{region.name}: Pressemitteilungen aller Städte und Gemeinden, neueste zuerst.",
        breadcrumbs=[("Start", "/")],
        chips_heading="Städte und Gemeinden",
        chips=chips,
        subscriptions=subscriptions,
        subscriptions_more="Einzelne Städte abonnieren",
    )
