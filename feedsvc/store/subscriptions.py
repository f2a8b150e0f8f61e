"""Subscriptions: saved filters over releases, one object behind every channel (its
feeds, webhooks and e-mail alerts; docs/feeds.md#subscriptions).

A filter names cities, regions and topics by id, a full-text search and an urgency
floor. Within a kind it is a union (Rosenheim or Kolbermoor), across kinds an
intersection (… and about Verkehr); an empty kind does not filter, so the empty filter
holds everything. A region holds the releases of every region below it. The key of a
subscription is made from its filter: the same filter, asked for twice or by two
people, is one subscription with one URL.

Which subject counters tell that a subscription's feed may have changed
(`subject_keys`) is a superset rule: a union of the subjects whose feeds hold every
release the subscription can hold. A change there may leave the subscription as it was
(a render that finds the same bytes), never the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.models import (
    Release,
    ReleaseTopic,
    Subscription,
    subscription_cities,
    subscription_regions,
    subscription_topics,
)
from feedsvc.store import region_tree
from feedsvc.store.keys import ALL_KEY, scope_key
from feedsvc.store.scope import Scope
from feedsvc.store.search import Search, matching, parse_search

# Enough for a newsroom's beat, few enough that every query stays an index walk or an IN list.
MAX_PER_KIND = 50
KEY_LENGTH = 16


@dataclass(frozen=True)
class SubscriptionFilter:
    """A filter as ids; `query` the text of a search (`store.search`), parsed when used."""

    city_ids: frozenset[int] = frozenset()
    region_ids: frozenset[int] = frozenset()
    topic_ids: frozenset[int] = frozenset()
    query: str | None = None
    urgency_floor: int | None = None

    @property
    def key(self) -> str:
        """The subscription's key: a digest of the filter in canonical form (base32, lower case)."""
        canonical = json.dumps(
            {
                "cities": sorted(self.city_ids),
                "regions": sorted(self.region_ids),
                "topics": sorted(self.topic_ids),
                "query": self.query,
                "urgency_floor": self.urgency_floor,
            },
            sort_keys=True,
        )
        digest = hashlib.sha256(canonical.encode()).digest()
        return base64.b32encode(digest).decode().lower()[:KEY_LENGTH]


def filter_of(subscription: Subscription) -> SubscriptionFilter:
    return SubscriptionFilter(
        city_ids=frozenset(city.id for city in subscription.cities),
        region_ids=frozenset(region.id for region in subscription.regions),
        topic_ids=frozenset(topic.id for topic in subscription.topics),
        query=subscription.query,
        urgency_floor=subscription.urgency_floor,
    )


def by_key(session: Session, key: str) -> Subscription | None:
    if len(key) != KEY_LENGTH or not key.isascii() or not key.isalnum():
        return None
    return session.scalars(select(Subscription).where(Subscription.key == key)).one_or_none()


def find_or_create(
    session: Session,
    wanted: SubscriptionFilter,
    now: datetime,
    *,
    cities: Sequence[object],
    regions: Sequence[object],
    topics: Sequence[object],
) -> tuple[Subscription, bool]:
    """The subscription of this filter, made if it is new (True) in a savepoint of the
    caller's transaction; `cities`, `regions`, `topics` are the rows the filter's ids name."""
    found = by_key(session, wanted.key)
    if found is not None:
        return found, False
    subscription = Subscription(
        key=wanted.key,
        query=wanted.query,
        urgency_floor=wanted.urgency_floor,
        created_at=now,
        # In the order the relationships load them: by slug.
        cities=sorted(cities, key=_slug),
        regions=sorted(regions, key=_slug),
        topics=sorted(topics, key=_slug),
    )
    try:
        with session.begin_nested():
            session.add(subscription)
    except IntegrityError:
        # Somebody made the same filter a moment ago: theirs is ours.
        found = by_key(session, wanted.key)
        assert found is not None
        return found, False
    return subscription, True


def _slug(entry: object) -> str:
    return str(getattr(entry, "slug", ""))


def subject_keys(subscription: Subscription) -> tuple[str, ...]:
    """The subjects whose counters and purges cover everything the subscription can hold."""
    cities = [city.id for city in subscription.cities]
    topics = [topic.id for topic in subscription.topics]
    regions = [region.id for region in subscription.regions]
    if cities and topics:
        keys = [scope_key(Scope(city_id=city, topic_id=topic)) for city in cities for topic in topics]
    elif cities:
        keys = [scope_key(Scope(city_id=city)) for city in cities]
    elif regions:  # with topics too: no region×topic counter exists, the region's covers it
        keys = [scope_key(Scope(region_id=region)) for region in regions]
    elif topics:
        keys = [scope_key(Scope(topic_id=topic)) for topic in topics]
    else:
        keys = [ALL_KEY]
    return tuple(sorted(keys))


def search_of(subscription: Subscription) -> Search | None:
    """The subscription's search, parsed (it was checked when the subscription was made)."""
    return parse_search(subscription.query or "")


def holds(session: Session, subscription: Subscription) -> ColumnElement[bool]:
    """A condition on `releases`: the release is one the subscription holds (visibility aside)."""
    conditions: list[ColumnElement[bool]] = []
    if subscription.cities:
        conditions.append(Release.city_id.in_([city.id for city in subscription.cities]))
    if subscription.regions:
        conditions.append(
            or_(
                *(
                    region_tree.within(session, Release.region_id, region.id)
                    for region in subscription.regions
                )
            )
        )
    if subscription.topics:
        topic_ids = [topic.id for topic in subscription.topics]
        conditions.append(
            exists().where(ReleaseTopic.release_id == Release.id, ReleaseTopic.topic_id.in_(topic_ids))
        )
    if subscription.urgency_floor is not None:
        conditions.append(Release.urgency <= subscription.urgency_floor)
    search = search_of(subscription)
    if search is not None:
        conditions.append(matching(search, session.get_bind().dialect.name))
    return and_(true(), *conditions)


def matching_release(session: Session, release: Release) -> list[Subscription]:
    """Every subscription that holds `release`: who its webhooks and alerts are for."""
    ancestors = region_tree.ancestor_ids(session, release.region_id)
    topic_ids = [link.topic_id for link in release.topic_links]
    sub = Subscription.id

    def none_or_any(table: object, column: str, values: Sequence[int]) -> ColumnElement[bool]:
        rows = table.c  # type: ignore[attr-defined]
        named = exists().where(rows.subscription_id == sub)
        hit = exists().where(rows.subscription_id == sub, rows[column].in_(values))
        return or_(~named, hit)

    candidates = session.scalars(
        select(Subscription)
        .where(
            none_or_any(subscription_cities, "city_id", [release.city_id]),
            none_or_any(subscription_regions, "region_id", sorted(ancestors)),
            none_or_any(subscription_topics, "topic_id", topic_ids),
            or_(Subscription.urgency_floor.is_(None), Subscription.urgency_floor >= release.urgency),
        )
        .order_by(Subscription.id)
    ).all()
    dialect = session.get_bind().dialect.name
    found: list[Subscription] = []
    for candidate in candidates:
        search = search_of(candidate)
        if search is None or session.scalar(
            select(Release.id).where(Release.id == release.id, matching(search, dialect))
        ):
            found.append(candidate)
    return found


def for_changed_keys(session: Session, changed: Sequence[str]) -> list[Subscription]:
    """The subscriptions whose feeds a change of these subjects may have changed: those
    whose `subject_keys` meet them (for purges and WebSub pings of their feeds)."""
    wanted = set(changed)
    ids: dict[str, set[int]] = {"city": set(), "topic": set(), "region": set()}
    for key in wanted:
        parts = key.split(":")
        for kind, value in zip(parts[::2], parts[1::2], strict=False):
            if kind in ids and value.isdigit():
                ids[kind].add(int(value))
    named: list[ColumnElement[bool]] = [
        exists().where(table.c.subscription_id == Subscription.id, table.c[column].in_(values))
        for table, column, values in (
            (subscription_cities, "city_id", ids["city"]),
            (subscription_topics, "topic_id", ids["topic"]),
            (subscription_regions, "region_id", ids["region"]),
        )
        if values
    ]
    if ALL_KEY in wanted:
        named.append(
            and_(
                *(
                    ~exists().where(table.c.subscription_id == Subscription.id)
                    for table in (subscription_cities, subscription_topics, subscription_regions)
                )
            )
        )
    if not named:
        return []
    found = session.scalars(select(Subscription).where(or_(*named)).order_by(Subscription.id))
    return [each for each in found if wanted.intersection(subject_keys(each))]
