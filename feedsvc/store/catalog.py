"""Reads and upserts of regions, cities, topics and publishers.

Lookups by slug find current entries, retired ones included (their feeds and pages
stay), never merged ones (their slugs are aliases of the entry they went into:
`store.catalog_history`). Listings show what is not retired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, selectinload

from feedsvc.models import City, Publisher, Region, Release, Topic
from feedsvc.store import catalog_history, changes, counts, keys
from feedsvc.store.scope import Scope


def city_by_slug(session: Session, slug: str) -> City | None:
    query = select(City).where(City.slug == slug, City.merged_into_id.is_(None))
    return session.scalars(query).one_or_none()


def topic_by_slug(session: Session, slug: str) -> Topic | None:
    query = select(Topic).where(Topic.slug == slug, Topic.merged_into_id.is_(None))
    return session.scalars(query).one_or_none()


def region_by_slug(session: Session, slug: str) -> Region | None:
    query = select(Region).where(Region.slug == slug, Region.merged_into_id.is_(None))
    return session.scalars(query).one_or_none()


def topics_by_slugs(session: Session, slugs: Sequence[str]) -> dict[str, Topic]:
    if not slugs:
        return {}
    found = session.scalars(select(Topic).where(Topic.slug.in_(slugs), Topic.merged_into_id.is_(None)))
    return {topic.slug: topic for topic in found}


def city_named(session: Session, slug: str) -> City | None:
    """The city a slug names now, or named before a rename or merge (input written
    before it still reaches it)."""
    found = catalog_history.resolve(session, "city", slug)
    return found if isinstance(found, City) else None


def topics_named(session: Session, slugs: Sequence[str]) -> dict[str, Topic]:
    """`topics_by_slugs`, old slugs of renamed or merged topics included."""
    found = topics_by_slugs(session, slugs)
    for slug in slugs:
        if slug not in found and isinstance(topic := catalog_history.resolve(session, "topic", slug), Topic):
            found[slug] = topic
    return found


def publisher_named(session: Session, name: str) -> Publisher | None:
    """The press office of this name now, or of this name before a rename or merge."""
    found = catalog_history.resolve(session, "publisher", name)
    return found if isinstance(found, Publisher) else None


def publisher_by_name(session: Session, name: str) -> Publisher | None:
    query = select(Publisher).where(Publisher.name == name, Publisher.merged_into_id.is_(None))
    return session.scalars(query).one_or_none()


def publishers_of_city(session: Session, city: City) -> Sequence[Publisher]:
    """The press offices that publish for a city and are not retired."""
    query = (
        select(Publisher)
        .where(Publisher.cities.contains(city), Publisher.retired_at.is_(None))
        .order_by(Publisher.name)
    )
    return session.scalars(query).unique().all()


def cities(session: Session, *, retired: bool = False) -> Sequence[City]:
    """The cities by name; with `retired`, retired (not merged) ones too."""
    return session.scalars(select(City).where(_listed(City, retired)).order_by(City.name)).all()


def topics(session: Session, *, retired: bool = False) -> Sequence[Topic]:
    return session.scalars(select(Topic).where(_listed(Topic, retired)).order_by(Topic.name)).all()


def regions(session: Session, *, retired: bool = False) -> Sequence[Region]:
    query = select(Region).where(_listed(Region, retired))
    query = query.options(selectinload(Region.cities), selectinload(Region.children))
    return session.scalars(query.order_by(Region.name)).all()


def publishers(session: Session, *, retired: bool = False) -> Sequence[Publisher]:
    query = select(Publisher).where(_listed(Publisher, retired)).options(selectinload(Publisher.cities))
    return session.scalars(query.order_by(Publisher.name)).all()


def _listed(model: type[City | Topic | Region | Publisher], retired: bool) -> ColumnElement[bool]:
    """What a listing shows: entries that are not retired (with `retired`: not merged)."""
    return model.merged_into_id.is_(None) if retired else model.retired_at.is_(None)


def _catalog_changed(session: Session, row: Region | City | Topic, values: dict[str, object]) -> None:
    """Sets `values` on `row`; a real change bumps the catalog, which every feed shows, and
    the subjects whose feeds show the row (`catalog_history.touched_keys`), so that the
    caches purge those feeds and their hubs hear of them. A new row is in no feed yet."""
    if all(getattr(row, name, None) == value for name, value in values.items()):
        return
    touched = catalog_history.touched_keys(session, row) if row.id is not None else set()
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    changes.bump(session, [keys.CATALOG_KEY, *touched], datetime.now(UTC), event="catalog")


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
        old_keys, new_keys = keys.region_keys(session, city.region_id), keys.region_keys(session, region.id)
        move_held(session, Scope(city_id=city.id), old_keys, new_keys, datetime.now(UTC))
    _catalog_changed(session, city, {"name": name, "state": state, "region": region, "ags": ags})
    return city


def move_held(session: Session, held: Scope, old_keys: set[str], new_keys: set[str], now: datetime) -> None:
    """The releases of `held` leave the subjects `old_keys` for `new_keys`: a city moved to
    another region, a region put under another one (each with the regions above it,
    `keys.region_keys`). The subjects left and joined change, the releases' count moves
    from the one to the other, and the ones joined learn of embargoes still to lift."""
    leaving, joining = old_keys - new_keys, new_keys - old_keys
    if not (leaving or joining):
        return
    count = counts.release_count(session, held)
    changes.bump(
        session,
        leaving | joining,
        now,
        embargo_until=changes.next_embargo(session, held, now),
        counted=dict.fromkeys(leaving, -count) | dict.fromkeys(joining, count),
        event="catalog",
    )


def city_by_ags(session: Session, ags: str) -> City | None:
    """The city an Amtlicher Gemeindeschlüssel (8 digits) names."""
    return session.scalars(select(City).where(City.ags == ags, City.merged_into_id.is_(None))).one_or_none()


def region_by_ags(session: Session, ags: str) -> Region | None:
    """The official region a key of 2, 3 or 5 digits names (Land, Regierungsbezirk, Kreis)."""
    query = select(Region).where(Region.ags == ags, Region.merged_into_id.is_(None))
    return session.scalars(query).one_or_none()


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
