"""Writes of the official municipality directory: regions and cities by their official key
(AGS), the tree of regions, and who moves where (`publishing.municipalities` decides).

Nothing here bumps the catalog per row: the import changes thousands of rows at once and
bumps it once (`catalog_changed`), with the feeds that show a renamed entry's name
(`catalog_history.touched_keys`, gathered by the `set_` functions). What changes a feed's
releases bumps row by row: a city moved to another Kreis, a region put under another
one (`catalog.move_held`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedsvc.models import City, Region, Release
from feedsvc.store import catalog, catalog_history, changes, keys
from feedsvc.store.scope import Scope


def regions_with_keys(session: Session) -> dict[str, Region]:
    """Every region that has an official key, merged ones too (their key is still theirs)."""
    return {
        region.ags: region
        for region in session.scalars(select(Region).where(Region.ags.is_not(None)))
        if region.ags
    }


def cities_with_keys(session: Session) -> dict[str, City]:
    """Every city that has an AGS, merged ones too."""
    return {city.ags: city for city in session.scalars(select(City).where(City.ags.is_not(None))) if city.ags}


def region_holding_slug(session: Session, slug: str) -> Region | None:
    """The region whose row holds a slug, merged or not: a new region cannot have it."""
    return session.scalars(select(Region).where(Region.slug == slug)).one_or_none()


def city_holding_slug(session: Session, slug: str) -> City | None:
    """The city whose row holds a slug, merged or not: a new city cannot have it."""
    return session.scalars(select(City).where(City.slug == slug)).one_or_none()


def new_region(
    session: Session, *, slug: str, name: str, state: str, ags: str, level: str, parent: Region | None
) -> Region:
    region = Region(slug=slug, name=name, state=state, ags=ags, level=level, parent=parent)
    session.add(region)
    session.flush()  # its id: the regions below it and the cities in it refer to it
    return region


def set_region(
    session: Session,
    region: Region,
    *,
    name: str,
    state: str,
    ags: str,
    level: str,
    parent: Region | None,
    now: datetime,
    touched: set[str],
) -> bool:
    """Brings an existing region in line with the directory; whether anything changed.
    Put under another region, its releases (those of the regions below it included) leave
    the regions above it for those above the new parent. Renamed, the feeds that show its
    name join `touched`."""
    parent_id = parent.id if parent is not None else None
    changed = (region.name, region.state, region.ags, region.level, region.parent_id) != (
        name,
        state,
        ags,
        level,
        parent_id,
    )
    if region.name != name:
        touched |= catalog_history.touched_keys(session, region)
    if region.parent_id != parent_id:
        old_keys = keys.region_keys(session, region.parent_id) if region.parent_id is not None else set()
        new_keys = keys.region_keys(session, parent_id) if parent_id is not None else set()
        catalog.move_held(session, Scope(region_id=region.id), old_keys, new_keys, now)
    region.name, region.state, region.ags, region.level, region.parent = name, state, ags, level, parent
    session.flush()  # the regions below it find their chain through it
    return changed


def new_city(session: Session, *, slug: str, name: str, state: str, ags: str, region: Region) -> City:
    city = City(slug=slug, name=name, state=state, ags=ags, region=region)
    session.add(city)
    return city


def set_city(
    session: Session,
    city: City,
    *,
    name: str,
    state: str,
    ags: str,
    region: Region,
    now: datetime,
    touched: set[str],
) -> bool:
    """Brings an existing city in line with the directory; whether anything changed. Moved to
    another region, its releases go along (they carry a copy of their city's region) and
    leave the old region and those above it for the new ones. Renamed, the feeds that show
    its name join `touched`."""
    changed = (city.name, city.state, city.ags, city.region_id) != (name, state, ags, region.id)
    if city.name != name:
        touched |= catalog_history.touched_keys(session, city)
    if city.region_id != region.id:
        session.execute(update(Release).where(Release.city_id == city.id).values(region_id=region.id))
        old_keys, new_keys = keys.region_keys(session, city.region_id), keys.region_keys(session, region.id)
        catalog.move_held(session, Scope(city_id=city.id), old_keys, new_keys, now)
    city.name, city.state, city.ags, city.region = name, state, ags, region
    return changed


def catalog_changed(session: Session, now: datetime, touched: set[str]) -> None:
    """Names, keys or places changed: every feed and page shows the catalog; `touched` are
    the feeds that show a renamed entry (their hubs hear of them)."""
    changes.bump(session, {keys.CATALOG_KEY, *touched}, now, event="catalog")
