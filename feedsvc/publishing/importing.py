"""Reading releases and the catalog from files: `feedsvc import` and `load-sample`.

A file is a JSON array or JSON Lines of release records (docs/api.md#a-release
plus an optional `publisher`). Every record is validated before anything is
written, then published through `feedsvc.publishing.service`, in the caller's
transaction; a bad record is reported by line and field, and the caller rolls
back, so nothing is imported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from feedsvc.models import City
from feedsvc.publishing.input import ImportRecord, Slug, field_errors
from feedsvc.publishing.service import Effect, Publishing, Refused
from feedsvc.publishing.writers import ImportWriter, office_name_problem
from feedsvc.store import catalog, catalog_history


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
    # JSON Lines: a malformed line is reported, and the lines after it are still read.
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                value, end = _decode(decoder, line, 0, offset_line=number)
            except ImportFailed as failure:
                yield number, Malformed(failure.problems[0])
                continue
            if line[end:].strip():
                yield number, Malformed(f"line {number}: one JSON object per line expected")
                continue
            yield number, value


@dataclass(frozen=True)
class Malformed:
    """A JSON Lines line that is no JSON value: its problem."""

    problem: str


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
    valid, problems = check_records(text, rewrite)
    if problems:
        raise ImportFailed(problems)
    return valid


def check_records(
    text: str, rewrite: dict[str, str] | None = None
) -> tuple[list[tuple[int, ImportRecord]], list[str]]:
    """The valid records, and a problem line for each field of each bad one (JSON Lines:
    malformed lines too; a JSON array ends at its first syntax error, ImportFailed)."""
    valid: list[tuple[int, ImportRecord]] = []
    problems: list[str] = []
    for line, value in read_records(text):
        if isinstance(value, Malformed):
            problems.append(value.problem)
            continue
        if not isinstance(value, dict):
            problems.append(f"line {line}: a record must be a JSON object")
            continue
        if rewrite:
            value = _rewrite_image_urls(value, rewrite)
        try:
            valid.append((line, ImportRecord.model_validate(value)))
        except ValidationError as error:
            problems.extend(f"line {line}: {e.field}: {e.message}" for e in field_errors(error))
    return valid, problems


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
    progress: Callable[[], None] = lambda: None,
) -> ImportReport:
    """Writes validated records in the caller's transaction (which has begun with
    `db.begin_writing`), for the press office a record names, else `default_publisher`,
    else the city's own. A record whose office already holds its `external_id` replaces
    that release's content when it changed, else leaves it as it is."""
    if default_publisher is not None and (problem := office_name_problem(session, default_publisher)):
        # Said once, not once for every record that names no office.
        raise ImportFailed([f"publisher: {problem}"])
    publishing = Publishing(session, now=now, tag_authority=tag_authority, within_callers_transaction=True)
    report = ImportReport()
    problems: list[str] = []
    for line, given in records:
        record = with_external_id(given)
        writer = ImportWriter(record.publisher or default_publisher)
        progress()
        outcome = publishing.publish_or_replace(writer, record)
        if isinstance(outcome, Refused):
            problems.extend(_problem_lines(line, outcome))
            continue
        if outcome.effect is Effect.CREATED:
            report.created += 1
        elif outcome.effect is Effect.REPLACED:
            report.updated += 1
        else:
            report.unchanged += 1
        report.ids.append(outcome.release.id)
    if problems:
        raise ImportFailed(problems)
    return report


def with_external_id(record: ImportRecord) -> ImportRecord:
    """A record without `external_id` gets one derived from its city, title and publication
    instant, so that importing the same file again recognises it instead of adding it twice
    (a record whose title changed is then a new release)."""
    if record.external_id is not None:
        return record
    published = record.published_at.isoformat() if record.published_at else ""
    key = "\x1f".join((record.city, " ".join(record.title.split()), published))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return record.model_copy(update={"external_id": f"import:{digest}"})


def _problem_lines(line: int, refused: Refused) -> list[str]:
    if not refused.errors:  # a refusal of the record as a whole
        return [f"line {line}: {refused.message}"]
    return [f"line {line}: {error.field}: {error.message}" for error in refused.errors]


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


def _former_name_problem(session: Session, kind: str, name: str) -> str | None:
    """What is wrong with naming an entry `name` in a catalog file: the entry that had the
    name is called otherwise now, or was merged; or (a press office) the name only looks
    like another office's."""
    holder = catalog_history.holder(session, kind, name)
    if holder is not None and holder.merged_into_id is not None:
        into = catalog_history.entry_by_id(session, kind, holder.merged_into_id)
        went = f"'{catalog_history.name_of(into)}'" if into is not None else "another"
        return f"was merged into {went} (feedsvc catalog): write that one instead"
    if holder is not None and catalog_history.name_of(holder) != name:
        return f"is called '{catalog_history.name_of(holder)}' now (feedsvc catalog): write that instead"
    if kind == "publisher" and holder is None:
        lookalike = catalog_history.lookalike(session, kind, name)
        if lookalike is not None:
            return (
                f"there is a press office '{catalog_history.name_of(lookalike)}' already: names that "
                "differ only in case or spaces name one office"
            )
    return None


def load_catalog(session: Session, path: Path, now: datetime) -> CatalogFile:
    try:
        data = CatalogFile.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise ImportFailed([f"{path.name}: {e.field}: {e.message}" for e in field_errors(error)]) from None
    # A slug (name) the catalog keeps for an entry renamed or merged since would make a
    # second entry of it: the file must say what the entry is called now.
    problems = [
        f"{path.name}: {noun} {name}: {problem}"
        for noun, names in (
            ("region", [r.slug for r in data.regions]),
            ("city", [c.slug for c in data.cities]),
            ("topic", [t.slug for t in data.topics]),
            ("publisher", [p.name for p in data.publishers]),
        )
        for name in names
        if (problem := _former_name_problem(session, noun, name))
    ]
    if problems:
        raise ImportFailed(problems)
    regions = {r.slug: catalog.upsert_region(session, r.slug, r.name, r.state) for r in data.regions}
    session.flush()
    cities: dict[str, City] = {}
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
