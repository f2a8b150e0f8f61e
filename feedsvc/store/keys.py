"""Subject keys: the one spelling of what a feed holds, for counters, caches and purges.

"all", "city:<id>", "region:<id>", "topic:<id>" and "city:<id>:topic:<id>" name
the subjects a release can be in; "catalog" stands for the names of cities,
topics and regions, which every feed and page shows; "release:<id>" names one
release's page (`release_key`); "journalist:<subject key>" counts what journalists
see of a subject before the public does (`journalist_key`). Nothing else builds or
parses these strings.

A release is in its city's region and in every region above that one
(`store.region_tree`): a Gemeinde's release changes its Kreis, Regierungsbezirk and
Land (`region_keys`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, object_session

from feedsvc.models import Release
from feedsvc.store import region_tree
from feedsvc.store.scope import Scope

ALL_KEY = "all"
CATALOG_KEY = "catalog"


def scope_key(scope: Scope) -> str:
    if scope.region_id is not None:
        return f"region:{scope.region_id}"
    if scope.city_id is not None and scope.topic_id is not None:
        return f"city:{scope.city_id}:topic:{scope.topic_id}"
    if scope.city_id is not None:
        return f"city:{scope.city_id}"
    if scope.topic_id is not None:
        return f"topic:{scope.topic_id}"
    return ALL_KEY


def scope_of_key(key: str) -> Scope:
    """The scope a subject key names ("all" and "catalog": everything)."""
    parts = key.split(":")
    fields = {parts[i]: int(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}
    return Scope(city_id=fields.get("city"), topic_id=fields.get("topic"), region_id=fields.get("region"))


def release_key(release_id: int) -> str:
    """The key of one release's own page (caches tag it with this and its subjects)."""
    return f"release:{release_id}"


def journalist_key(key: str) -> str:
    """The counter of a subject's changes that only journalists see yet: writes to releases
    still under embargo (`changes.bump(hidden=True)`), which leave the subject's own counter,
    and with it every public validator, as it was. Never a subject of caches or purges."""
    return f"journalist:{key}"


def region_keys(session: Session, region_id: int) -> set[str]:
    """The subjects of a region and of every region above it: all of them hold its releases."""
    return {scope_key(Scope(region_id=each)) for each in region_tree.ancestor_ids(session, region_id)}


def release_keys(release: Release) -> set[str]:
    """Every subject whose feed holds this release. The regions above its own are read
    through the release's session; a release outside any session names its own only."""
    session = object_session(release)
    regions = (
        region_keys(session, release.region_id)
        if session is not None
        else {scope_key(Scope(region_id=release.region_id))}
    )
    keys = {ALL_KEY, scope_key(Scope(city_id=release.city_id)), *regions}
    for link in release.topic_links:
        keys.add(scope_key(Scope(topic_id=link.topic_id)))
        keys.add(scope_key(Scope(city_id=release.city_id, topic_id=link.topic_id)))
    return keys


# SQL LIKE patterns over keys, for the counts that read many subjects at once.
CITY_PATTERN = "city:%"
CITY_TOPIC_INFIX = "%:topic:%"
TOPIC_PATTERN = "topic:%"


def cities_of_topic_pattern(topic_id: int) -> str:
    return f"city:%:topic:{topic_id}"


def topics_of_city_pattern(city_id: int) -> str:
    return f"city:{city_id}:topic:%"
