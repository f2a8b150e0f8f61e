"""Rows of a benchmark dataset, exactly as feedsvc's store would write them.

Each release starts as the record a press office would POST (`record`); its rows are then
derived from that record the way `feedsvc.store.releases.create_release` derives them:
content hash of the validated input, summary derived from the body when none is given,
author defaulting to the press office, region and (for topic links) city and date copied.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.textgen import TOPICS, Place, TextSource, unique_places
from feedsvc.paths import release_slug
from feedsvc.publishing.input import ContactIn, ImageIn, ReleaseIn
from feedsvc.text import html_text, slugify_de, summary_from_html

Row = dict[str, Any]
BERLIN = ZoneInfo("Europe/Berlin")
# A fixed window (not "now"): the same size gives the same dataset on every run and machine.
END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
CATALOG_AT = END - SPAN - timedelta(days=30)
TAG_AUTHORITY = "bench.feedsvc.test"
TAG_DATE = "2026-01-01"
ZIPF_EXPONENT = 1.0
RETRACTED_SHARE = 0.001


@dataclass
class Catalog:
    regions: list[Row]
    cities: list[Row]
    topics: list[Row]
    publishers: list[Row]
    publisher_cities: list[Row]
    city_cum_weights: list[float] = field(default_factory=list)


@dataclass
class Batch:
    releases: list[Row] = field(default_factory=list)
    topics: list[Row] = field(default_factory=list)
    images: list[Row] = field(default_factory=list)


@dataclass
class Tally:
    """Visible releases per feed subject, for picking hot and spread feeds later."""

    city: Counter[int] = field(default_factory=Counter)
    topic: Counter[int] = field(default_factory=Counter)
    region: Counter[int] = field(default_factory=Counter)
    city_topic: Counter[tuple[int, int]] = field(default_factory=Counter)
    # Feed subject (city, topic, region ids) → when its content last changed.
    changed: dict[tuple[int | None, int | None, int | None], datetime] = field(default_factory=dict)

    def touch(self, subject: tuple[int | None, int | None, int | None], when: datetime) -> None:
        if subject not in self.changed or self.changed[subject] < when:
            self.changed[subject] = when


# Catalog entries as made: never renamed, retired or merged (migration 0010).
_AS_MADE: Row = {"retired_at": None, "merged_into_id": None}
_SLUGGED_AS_MADE: Row = {**_AS_MADE, "first_slug": None}
_FLAT: Row = {"ags": None, "level": None, "parent_id": None}


def build_catalog(rng: random.Random, cities: int, regions: int) -> Catalog:
    """Regions, cities (rank 1 = most releases: Zipf), topics and one press office per city."""
    region_places = unique_places(rng, regions, prefix="Landkreis ")
    region_rows = [
        # Flat regions without an official key, as a catalog.json makes them (migration 0011).
        {"id": i, "slug": place.slug, "name": place.name, "state": "Bayern", **_FLAT, **_SLUGGED_AS_MADE}
        for i, place in enumerate(region_places, start=1)
    ]
    city_places: list[Place] = unique_places(rng, cities)
    city_rows = [
        {
            "id": i,
            "slug": place.slug,
            "name": place.name,
            "state": "Bayern",
            "ags": None if i % 10 == 0 else f"09{i:06d}",
            # Every region gets cities; the rest are spread at random.
            "region_id": i if i <= regions else rng.randint(1, regions),
            **_SLUGGED_AS_MADE,
        }
        for i, place in enumerate(city_places, start=1)
    ]
    topic_rows = [
        {"id": i, "slug": slugify_de(name), "name": name, **_SLUGGED_AS_MADE}
        for i, name in enumerate(TOPICS, start=1)
    ]
    publishers = [
        {"id": city["id"], "name": f"Pressestelle {city['name']}", "created_at": CATALOG_AT, **_AS_MADE}
        for city in city_rows
    ]
    links = [{"publisher_id": city["id"], "city_id": city["id"]} for city in city_rows]
    weights = [1.0 / rank**ZIPF_EXPONENT for rank in range(1, cities + 1)]
    cum = list(itertools.accumulate(weights))
    return Catalog(region_rows, city_rows, topic_rows, publishers, links, cum)


class ReleaseFactory:
    """Release records and rows for ids 1..total, ids in order of publication."""

    def __init__(self, catalog: Catalog, rng: random.Random, total: int) -> None:
        self.catalog = catalog
        self.rng = rng
        self.total = total
        self.text = TextSource(rng)
        self.tally = Tally()
        self.topic_ids = {str(topic["slug"]): int(topic["id"]) for topic in catalog.topics}

    def pick_city(self) -> Row:
        cum = self.catalog.city_cum_weights
        index = bisect.bisect_left(cum, self.rng.random() * cum[-1])
        return self.catalog.cities[min(index, len(cum) - 1)]

    def record(self, release_id: int, city: Row) -> Row:
        """What the press office POSTs (docs/api.md#a-release), as Python values."""
        rng, text = self.rng, self.text
        step = SPAN.total_seconds() / self.total
        offset = int((release_id - 1 + rng.random()) * step)
        published = (END - SPAN + timedelta(seconds=offset)).astimezone(BERLIN)
        site = f"https://www.{city['slug']}.de"
        topic_count = rng.choices((0, 1, 2, 3), weights=(15, 45, 30, 10))[0]
        topics = rng.sample(self.catalog.topics, topic_count)
        images = [
            {
                "url": f"{site}/presse/bilder/{release_id}-{n}.jpg",
                "caption": text.caption(),
                "credit": f"Foto: Stadt {city['name']}",
                "type": "image/jpeg",
                "length": rng.randint(80_000, 900_000),
            }
            for n in range(rng.choices((0, 1, 2), weights=(50, 35, 15))[0])
        ]
        person = text.person()
        record: Row = {
            "title": text.title(),
            "body": text.body(site),
            "city": city["slug"],
            "topics": [topic["slug"] for topic in topics],
            # A quarter leave the summary to be derived from the body.
            "summary": text.summary() if rng.random() < 0.75 else None,
            "published_at": published,
            "images": images,
            "source_url": f"{site}/aktuelles/pressemitteilungen/{release_id}",
            "author": person if rng.random() < 0.1 else None,
            "contact": None,
            "language": "de",
            "correction_note": None,
            "external_id": f"{city['slug']}-{release_id}",
        }
        if rng.random() < 0.7:
            email = f"presse@{city['slug']}.de"
            record["contact"] = {
                "name": person,
                "email": email,
                "phone": f"+49 80{rng.randint(10, 99)} 123-4",
            }
        return record

    def add(self, batch: Batch, release_id: int) -> Row:
        """Appends release `release_id`'s rows to `batch`; returns its record."""
        rng = self.rng
        city = self.pick_city()
        record = self.record(release_id, city)
        publisher = self.catalog.publishers[city["id"] - 1]
        published_at: datetime = record["published_at"].astimezone(UTC)
        # Most are published on submission; some were scheduled a little ahead (embargo).
        created_at = published_at - timedelta(seconds=rng.randint(0, 3 * 86400) if rng.random() < 0.2 else 0)
        retracted_at = published_at + timedelta(days=1) if rng.random() < RETRACTED_SHARE else None
        contact = record["contact"] or {}
        summary = record["summary"]
        batch.releases.append(
            {
                "id": release_id,
                "guid": f"tag:{TAG_AUTHORITY},{TAG_DATE}:release:{release_id}",
                "publisher_id": publisher["id"],
                "external_id": record["external_id"],
                "city_id": city["id"],
                "region_id": city["region_id"],
                "title": record["title"],
                "slug": release_slug(record["title"]),
                "summary": summary or summary_from_html(record["body"]),
                "summary_derived": not summary,
                "body_html": record["body"],
                "body_text": html_text(record["body"]),
                "author": record["author"] or publisher["name"],
                "source_url": record["source_url"],
                "contact_name": contact.get("name"),
                "contact_email": contact.get("email"),
                "contact_phone": contact.get("phone"),
                "language": record["language"],
                "correction_note": None,
                "content_hash": content_hash(record),
                "published_at": published_at,
                "created_at": created_at,
                "updated_at": retracted_at or created_at,
                "revision": 2 if retracted_at else 1,
                "retracted_at": retracted_at,
                "retraction_reason": "Termin abgesagt" if retracted_at else None,
                # A few warnings among ordinary releases, as press offices send them.
                "urgency": 2 if rng.random() < 0.02 else 5,
            }
        )
        topic_ids = [self.topic_ids[slug] for slug in record["topics"]]
        for topic_id in topic_ids:
            link = {"release_id": release_id, "topic_id": topic_id, "city_id": city["id"]}
            batch.topics.append(link | {"published_at": published_at})
        for position, image in enumerate(record["images"]):
            batch.images.append(
                {
                    "release_id": release_id,
                    "position": position,
                    "url": image["url"],
                    "caption": image["caption"],
                    "credit": image["credit"],
                    "usage_terms": "",
                    "media_type": image["type"],
                    "length": image["length"],
                    # Images on the city's own site: no upload, size unknown to feedsvc.
                    "media_id": None,
                    "width": None,
                    "height": None,
                }
            )
        # The last write to the release's feeds: its retraction, else the moment it became
        # visible (creation, or the end of its embargo).
        changed = retracted_at or published_at
        subjects: list[tuple[int | None, int | None, int | None]] = [
            (None, None, None),
            (city["id"], None, None),
            (None, None, city["region_id"]),
        ]
        subjects += [(None, t, None) for t in topic_ids] + [(city["id"], t, None) for t in topic_ids]
        for subject in subjects:
            self.tally.touch(subject, changed)
        if retracted_at is None:
            self.tally.city[city["id"]] += 1
            self.tally.region[city["region_id"]] += 1
            for topic_id in topic_ids:
                self.tally.topic[topic_id] += 1
                self.tally.city_topic[(city["id"], topic_id)] += 1
        return record


def content_hash(record: Row) -> str:
    """`ReleaseIn.content_hash()` of the record, without re-validating clean input."""
    fields = dict(record)
    fields["images"] = [ImageIn.model_construct(**image) for image in record["images"]]
    fields["contact"] = ContactIn.model_construct(**record["contact"]) if record["contact"] else None
    return ReleaseIn.model_construct(**fields).content_hash()
