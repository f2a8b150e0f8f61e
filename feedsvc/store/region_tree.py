"""The tree of official regions: which regions a region's feeds cover, and which regions
above a region hold its releases too.

Regions of one's own are flat (no parent, no children): each covers itself only, and
everything here costs them one small read. Official regions (`feedsvc
import-municipalities`) form Land → Regierungsbezirk → Kreis, each named by a prefix of
its cities' Amtlicher Gemeindeschlüssel; a release stores its city's own region
(`Release.region_id`), and the regions above it are found here, from `regions.parent_id`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from feedsvc.models import Region


class Level(StrEnum):
    """The official levels above a municipality, as `regions.level` stores them."""

    LAND = "land"
    REGIERUNGSBEZIRK = "regierungsbezirk"
    KREIS = "kreis"


# How many leading digits of an AGS name each level (Destatis: 2 Land, 1 Regierungsbezirk,
# 2 Kreis, 3 Gemeinde); a municipality's own key has all 8.
KEY_LENGTHS: dict[Level, int] = {Level.LAND: 2, Level.REGIERUNGSBEZIRK: 3, Level.KREIS: 5}
CITY_KEY_LENGTH = 8
LEVEL_OF_KEY_LENGTH: dict[int, Level] = {length: level for level, length in KEY_LENGTHS.items()}
# Deeper than any official tree: a parent chain this long can only be a cycle.
MAX_DEPTH = 8


def chain(region_id: int, parent_of: Callable[[int], int | None]) -> list[int]:
    """The region and the regions above it, nearest first; stops where a chain would loop."""
    found = [region_id]
    parent = parent_of(region_id)
    while parent is not None and parent not in found and len(found) < MAX_DEPTH:
        found.append(parent)
        parent = parent_of(parent)
    return found


def ancestor_ids(session: Session, region_id: int) -> list[int]:
    """The region and every region above it, nearest first (rows come from the session's
    identity map where they are loaded already)."""

    def parent_of(each: int) -> int | None:
        region = session.get(Region, each)
        return region.parent_id if region is not None else None

    return chain(region_id, parent_of)


def parent_map(session: Session) -> dict[int, int | None]:
    """Every region's parent, for reading the ancestors of many regions at once."""
    return {region_id: parent for region_id, parent in session.execute(select(Region.id, Region.parent_id))}


def ancestors_in(parents: Mapping[int, int | None], region_id: int) -> list[int]:
    """`ancestor_ids` from a `parent_map`."""
    return chain(region_id, parents.get)


def subtree_ids(session: Session, region_id: int) -> list[int]:
    """The region and every region below it, in one query (a recursive CTE; UNION, not
    UNION ALL, so that a cycle in bad data ends)."""
    tree = select(Region.id).where(Region.id == region_id).cte("subtree", recursive=True)
    below = select(Region.id).join(tree, Region.parent_id == tree.c.id)
    tree = tree.union(below)
    return sorted(session.scalars(select(tree.c.id)))


def within(session: Session, column: InstrumentedAttribute[int], region_id: int) -> ColumnElement[bool]:
    """`column` (a region id) is the region or one below it. A region without regions
    below it compares with `=`, so its feed stays one range scan of its index."""
    ids = subtree_ids(session, region_id)
    return column.in_(ids) if len(ids) > 1 else column == region_id


def regions_above(session: Session, region_id: int) -> list[Region]:
    """The regions above a region, the highest first (a Land, its Regierungsbezirk, …)."""
    found = (session.get(Region, each) for each in reversed(ancestor_ids(session, region_id)[1:]))
    return [region for region in found if region is not None]
