"""Reading releases and the catalog from files: `feedsvc import` and `load-sample`.

A file is a JSON array or JSON Lines of release records (CONTRACT §2 plus an
optional `publisher`). Every record is validated before anything is written; a
bad record is reported by line and field, and the caller rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from feedsvc.models import City, Publisher
from feedsvc.schemas import ImportRecord, ReleasePatch, Slug, field_errors
from feedsvc.store import catalog
from feedsvc.store.releases import (
    References,
    create_release,
    release_by_external_id,
    resolve_references,
    update_release,
)


class ImportFailed(Exception):
    """A file that cannot be imported; `problems` lists every bad record."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[int] = field(default_factory=list)


def read_records(text: str) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) of each record of a JSON array or JSON Lines text."""
    decoder = json.JSONDecoder()
    stripped = text.lstrip()
    if stripped.startswith("["):
        position = len(text) - len(stripped) + 1
        while True:
            position = _skip(text, position, " \t\r\n")
            if position < len(text) and text[position] == "]":
                if text[position + 1 :].strip():
                    raise ImportFailed([f"line {_line(text, position + 1)}: unexpected text after the array"])
                return
            value, end = _decode(decoder, text, position)
            yield _line(text, position), value
            position = _skip(text, end, " \t\r\n")
            if position < len(text) and text[position] == ",":
                position += 1
            elif position >= len(text) or text[position] != "]":
                raise ImportFailed([f"line {_line(text, position)}: expected ',' or ']' between records"])
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            value, end = _decode(decoder, line, 0, offset_line=number)
            if line[end:].strip():
                raise ImportFailed([f"line {number}: one JSON object per line expected"])
            yield number, value


def _skip(text: str, position: int, chars: str) -> int:
    while position < len(text) and text[position] in chars:
        position += 1
    return position


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _decode(decoder: json.JSONDecoder, text: str, position: int, offset_line: int = 0) -> tuple[Any, int]:
    try:
        return decoder.raw_decode(text, position)
    except json.JSONDecodeError as error:
        line = offset_line or error.lineno
        raise ImportFailed([f"line {line}: malformed JSON: {error.msg}"]) from None


def validate_records(text: str, rewrite: dict[str, str] | None = None) -> list[tuple[int, ImportRecord]]:
    """Every record validated, or ImportFailed naming each bad record's line and field."""
    valid: list[tuple[int, ImportRecord]] = []
    problems: list[str] = []
    for line, value in read_records(text):
        if not isinstance(value, dict):
            problems.append(f"line {line}: a record must be a JSON object")
            continue
        if rewrite:
            value = _rewrite_image_urls(value, rewrite)
        try:
            valid.append((line, ImportRecord.model_validate(value)))
        except ValidationError as error:
            problems.extend(f"line {line}: {e.field}: {e.message}" for e in field_errors(error))
    if problems:
        raise ImportFailed(problems)
    return valid


def _rewrite_image_urls(value: dict[str, Any], prefixes: dict[str, str]) -> dict[str, Any]:
    images = value.get("images")
    if not isinstance(images, list):
        return value
    rewritten = []
    for image in images:
        if isinstance(image, dict) and isinstance(image.get("url"), str):
            url: str = image["url"]
            for prefix, replacement in prefixes.items():
                if url.startswith(prefix):
                    image = {**image, "url": replacement + url[len(prefix) :]}
        rewritten.append(image)
    return {**value, "images": rewritten}


def import_records(
    session: Session,
    records: list[tuple[int, ImportRecord]],
    *,
    now: datetime,
    tag_authority: str,
    default_publisher: str | None = None,
) -> ImportReport:
    """Writes validated records. A record whose publisher already holds its
    `external_id` updates that release when its content changed, else is skipped."""
    report = ImportReport()
    problems: list[str] = []
    for line, record in records:
        refs = resolve_references(session, record.city, record.topics)
        if not isinstance(refs, References):
            problems.extend(f"line {line}: {e.field}: {e.message}" for e in refs)
            continue
        publisher = _publisher_for(session, record.publisher or default_publisher, refs.city, now)
        existing = None
        if record.external_id is not None and publisher.id is not None:
            existing = release_by_external_id(session, publisher.id, record.external_id)
        if existing is None:
            release = create_release(
                session, publisher=publisher, data=record, refs=refs, now=now, tag_authority=tag_authority
            )
            report.created += 1
        elif existing.content_hash == record.content_hash():
            release = existing
            report.unchanged += 1
        else:
            patch = ReleasePatch.model_validate(record.model_dump(exclude={"publisher", "external_id"}))
            release = update_release(session, existing, patch, refs, now)
            release.content_hash = record.content_hash()
            report.updated += 1
        report.ids.append(release.id)
    if problems:
        raise ImportFailed(problems)
    return report


def _publisher_for(session: Session, name: str | None, city: City, now: datetime) -> Publisher:
    if name is not None:
        found = catalog.publisher_by_name(session, name)
        return found or catalog.upsert_publisher(session, name, [city], now)
    return catalog.office_of_city(session, city, now)


class RegionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    state: str = Field(min_length=1, max_length=100)


class CityRecord(RegionRecord):
    region: Slug
    ags: str | None = Field(default=None, pattern=r"^\d{8}$")


class TopicRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Slug
    name: str = Field(min_length=1, max_length=200)


class PublisherRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    cities: list[Slug]


class CatalogFile(BaseModel):
    """`data/catalog.json`: regions, cities, topics and press offices."""

    model_config = ConfigDict(extra="forbid")
    regions: list[RegionRecord]
    cities: list[CityRecord]
    topics: list[TopicRecord]
    publishers: list[PublisherRecord] = []


def load_catalog(session: Session, path: Path, now: datetime) -> CatalogFile:
    try:
        data = CatalogFile.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise ImportFailed([f"{path.name}: {e.field}: {e.message}" for e in field_errors(error)]) from None
    regions = {r.slug: catalog.upsert_region(session, r.slug, r.name, r.state) for r in data.regions}
    session.flush()
    cities: dict[str, City] = {}
    problems: list[str] = []
    for record in data.cities:
        if record.region not in regions:
            problems.append(f"{path.name}: city {record.slug}: unknown region '{record.region}'")
            continue
        region = regions[record.region]
        cities[record.slug] = catalog.upsert_city(
            session, record.slug, record.name, record.state, region, record.ags
        )
    for topic in data.topics:
        catalog.upsert_topic(session, topic.slug, topic.name)
    for publisher in data.publishers:
        unknown = [slug for slug in publisher.cities if slug not in cities]
        if unknown:
            problems.append(f"{path.name}: publisher {publisher.name}: unknown cities {unknown}")
            continue
        catalog.upsert_publisher(session, publisher.name, [cities[slug] for slug in publisher.cities], now)
    if problems:
        raise ImportFailed(problems)
    session.flush()
    return data
