"""Making a subscription from what people name: slugs of cities, regions and topics, a
search and an urgency floor (docs/feeds.md#subscriptions). Used by the API, the pages'
"build your own feed" form and the commands that register webhooks and alerts, so each
refuses the same input with the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from feedsvc.models import City, Region, Subscription, Topic
from feedsvc.publishing.input import FieldError, PlainText, Slug, is_slug
from feedsvc.store import catalog_history
from feedsvc.store.search import SearchError, parse_search
from feedsvc.store.subscriptions import MAX_PER_KIND, SubscriptionFilter, find_or_create

MAX_QUERY_CHARS = 500


class SubscriptionIn(BaseModel):
    """A filter as people name it: every kind optional, the empty filter holds everything."""

    model_config = ConfigDict(extra="forbid")

    cities: Annotated[list[Slug], Field(max_length=MAX_PER_KIND)] = []
    regions: Annotated[list[Slug], Field(max_length=MAX_PER_KIND)] = []
    topics: Annotated[list[Slug], Field(max_length=MAX_PER_KIND)] = []
    q: Annotated[PlainText, Field(max_length=MAX_QUERY_CHARS)] | None = None
    urgency: Annotated[int, Field(ge=1, le=9, strict=True)] | None = None

    @model_validator(mode="after")
    def _check_search(self) -> SubscriptionIn:
        if self.q is not None:
            self.q = " ".join(self.q.split()) or None
        if self.q is not None:
            try:
                parse_search(self.q)
            except SearchError as error:
                raise ValueError(f"q: {error}") from None
        return self


@dataclass(frozen=True)
class Subscribed:
    subscription: Subscription
    created: bool


@dataclass(frozen=True)
class NotSubscribed:
    """Names that match no current entry (or only retired ones), each with its field."""

    errors: tuple[FieldError, ...]


def subscribe(session: Session, data: SubscriptionIn, now: datetime) -> Subscribed | NotSubscribed:
    """The subscription of this filter, made in the caller's transaction if it is new.
    Old slugs of renamed or merged entries name the entry they went to."""
    errors: list[FieldError] = []
    cities = _named(session, "city", "cities", data.cities, errors)
    regions = _named(session, "region", "regions", data.regions, errors)
    topics = _named(session, "topic", "topics", data.topics, errors)
    if errors:
        return NotSubscribed(tuple(errors))
    wanted = SubscriptionFilter(
        city_ids=frozenset(city.id for city in cities),
        region_ids=frozenset(region.id for region in regions),
        topic_ids=frozenset(topic.id for topic in topics),
        query=data.q,
        urgency_floor=data.urgency,
    )
    subscription, created = find_or_create(
        session, wanted, now, cities=cities, regions=regions, topics=topics
    )
    return Subscribed(subscription, created)


def name_errors(session: Session, raw: object) -> tuple[FieldError, ...]:
    """The unknown and retired names of raw input that is not valid as a whole, so that a
    refusal names these too, all errors at once. Only lists of slugs are looked up."""
    if not isinstance(raw, dict):
        return ()
    errors: list[FieldError] = []
    for kind, field in (("city", "cities"), ("region", "regions"), ("topic", "topics")):
        slugs = raw.get(field)
        if isinstance(slugs, list) and len(slugs) <= MAX_PER_KIND and all(is_slug(slug) for slug in slugs):
            _named(session, kind, field, slugs, errors)
    return tuple(errors)


def filter_title(subscription: Subscription) -> str:
    """What a subscription holds, in German: "Rosenheim, Bad Aibling · Verkehr · Suche „Brücke“":
    the title of its page and feeds, and the name its e-mail alerts go by."""
    parts = [
        ", ".join(entry.name for entry in entries)
        for entries in (subscription.cities, subscription.regions, subscription.topics)
        if entries
    ]
    if subscription.query:
        parts.append(f"Suche „{subscription.query}“")
    if subscription.urgency_floor is not None:
        parts.append(f"Dringlichkeit bis {subscription.urgency_floor}")
    return " · ".join(parts) or "alle Städte"


def _named(
    session: Session, kind: str, field: str, slugs: list[str], errors: list[FieldError]
) -> list[City | Region | Topic]:
    found: dict[int, City | Region | Topic] = {}
    for index, slug in enumerate(slugs):
        entry = catalog_history.resolve(session, kind, slug)
        if not isinstance(entry, City | Region | Topic):
            errors.append(FieldError(field=f"{field}.{index}", message=f"unknown {kind} '{slug}'"))
        elif entry.is_retired:
            errors.append(FieldError(field=f"{field}.{index}", message=f"the {kind} '{slug}' is retired"))
        else:
            found[entry.id] = entry
    return list(found.values())
