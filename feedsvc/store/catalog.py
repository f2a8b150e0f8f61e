"""Reads and upserts of regions, cities, topics and publishers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from feedsvc.models import City, Publisher, Region, Release, Topic
from feedsvc.store import changes, counts, keys
from feedsvc.store.scope import Scope


def city_by_slug(session: Session, slug: str) -> City | None:
    return session.scalars(select(City).where(City.slug == slug)).one_or_none()


def topic_by_slug(session: Session, slug: str) -> Topic | None:
    return session.scalars(select(Topic).where(Topic.slug == slug)).one_or_none()


def region_by_slug(session: Session, slug: str) -> Region | None:
    return session.scalars(select(Region).where(Region.slug == slug)).one_or_none()


def topics_by_slugs(session: Session, slugs: Sequence[str]) -> dict[str, Topic]:
    if not slugs:
        return {}
    found = session.scalars(select(Topic).where(Topic.slug.in_(slugs)))
    return {topic.slug: topic for topic in found}


def publisher_by_name(session: Session, name: str) -> Publisher | None:
    return session.scalars(select(Publisher).where(Publisher.name == name)).one_or_none()


def publishers_of_city(session: Session, city: City) -> Sequence[Publisher]:
    query = select(Publisher).where(Publisher.cities.contains(city)).order_by(Publisher.name)
    return session.scalars(query).unique().all()


def cities(session: Session) -> Sequence[City]:
    return session.scalars(select(City).order_by(City.name)).all()


def topics(session: Session) -> Sequence[Topic]:
    return session.scalars(select(Topic).order_by(Topic.name)).all()


def regions(session: Session) -> Sequence[Region]:
    query = select(Region).options(selectinload(Region.cities)).order_by(Region.name)
    return session.scalars(query).all()


def _catalog_changed(session: Session, row: object, values: dict[str, object]) -> None:
    """Sets `values` on `row`; a real change bumps the catalog, which every feed shows."""
    if all(getattr(row, name, None) == value for name, value in values.items()):
        return
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    changes.bump(session, [keys.CATALOG_KEY], datetime.now(UTC), event="catalog")


def upsert_region(session: Session, slug: str, name: str, state: str) -> Region:
    region = region_by_slug(session, slug) or Region(slug=slug)
    _catalog_changed(session, region, {"name": name, "state": state})
    return region


def upsert_city(session: Session, slug: str, name: str, state: str, region: Region, ags: str | None) -> City:
    city = city_by_slug(session, slug) or City(slug=slug)
    if city.id is not None and region.id is not None and city.region_id != region.id:
        # Releases carry a copy of their city's region (for region feeds): move them along,
        # and their count from the old region to the new one.
        session.execute(update(Release).where(Release.city_id == city.id).values(region_id=region.id))
        held = counts.release_count(session, Scope(city_id=city.id))
        old_key = keys.scope_key(Scope(region_id=city.region_id))
        new_key = keys.scope_key(Scope(region_id=region.id))
        changes.bump(
            session,
            [old_key, new_key],
            datetime.now(UTC),
            counted={old_key: -held, new_key: held},
            event="catalog",
        )
    _catalog_changed(session, city, {"name": name, "state": state, "region": region, "ags": ags})
    return city


def upsert_topic(session: Session, slug: str, name: str) -> Topic:
    topic = topic_by_slug(session, slug) or Topic(slug=slug)
    _catalog_changed(session, topic, {"name": name})
    return topic


def upsert_publisher(session: Session, name: str, cities: Sequence[City], now: datetime) -> Publisher:
    publisher = publisher_by_name(session, name) or Publisher(name=name, created_at=now)
    publisher.cities = list(cities)
    session.add(publisher)
    return publisher


def office_of_city(session: Session, city: City, now: datetime) -> Publisher:
    """The press office that publishes for a city: its own, or a new "Pressestelle <City>".

    Used when a release names no office (admin tokens, imports without `publisher`).
    An existing office of that name that serves other cities keeps them.
    """
    existing = publishers_of_city(session, city)
    if existing:
        return existing[0]
    name = f"Pressestelle {city.name}"
    return publisher_by_name(session, name) or upsert_publisher(session, name, [city], now)


def subject_rows(session: Session, key: str) -> tuple[City | None, Topic | None, Region | None] | None:
    """The city, topic and region a subject key names, or None when one of them is gone."""
    scope = keys.scope_of_key(key)
    city = session.get(City, scope.city_id) if scope.city_id is not None else None
    topic = session.get(Topic, scope.topic_id) if scope.topic_id is not None else None
    region = session.get(Region, scope.region_id) if scope.region_id is not None else None
    named = zip((city, topic, region), (scope.city_id, scope.topic_id, scope.region_id), strict=True)
    if any(row is None for row, row_id in named if row_id is not None):
        return None
    return city, topic, region
