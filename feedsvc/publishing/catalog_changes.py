"""Changing the catalog: adding, renaming, changing, merging and retiring regions, cities,
topics and press offices. The one way behind `feedsvc catalog`, the admin API and the
desk's catalog page (docs/operations.md#catalog, docs/api.md#the-catalog,
docs/pages.md#the-catalog).

What a change does to subscribers is `store.catalog_history`'s: old slugs keep
redirecting, feed ids stay, merged releases keep their entry ids, and every feed the
change touches is bumped through the outbox in the same transaction.

Input comes as the pydantic models below, which are also the OpenAPI schemas. Each
change is one transaction of its own (`db.begin_writing` before the checks, so on
SQLite what they find still holds at the commit); a refusal rolls it back, so nothing
is half-written. Outcomes are typed: `Changed`, or `CatalogRefused` with a problem the
surfaces word in their own way (the API as problem+json, the CLI as one line, the
desk in German).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.db import begin_writing
from feedsvc.models import City, Publisher, Region, Topic
from feedsvc.publishing.input import FieldError, PlainText, Slug, is_slug
from feedsvc.store import audit, catalog, catalog_history
from feedsvc.store.audit import Acting
from feedsvc.store.catalog_history import KINDS, Entry, name_of

# How each kind is called in messages.
NOUNS = {"region": "region", "city": "city", "topic": "topic", "publisher": "press office"}
# At most this many names in one message ("still has cities a, b, c, …").
_NAMED_IN_A_MESSAGE = 5


def _bounded(max_chars: int) -> AfterValidator:
    def check(value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters")
        return value

    return AfterValidator(check)


Name = Annotated[PlainText, _bounded(200)]
State = Annotated[PlainText, _bounded(100)]
# Amtlicher Gemeindeschlüssel: 8 ASCII digits.
Ags = Annotated[str, Field(pattern=r"^[0-9]{8}$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Change(_Input):
    """Only the fields given change; `null` removes an optional field (a city's `ags`)."""

    @model_validator(mode="after")
    def _refuse_nulls_for_required(self) -> _Change:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in _REMOVABLE:
                raise ValueError(f"{name}: may be changed but not removed")
        return self


_REMOVABLE = {"ags"}


class RegionIn(_Input):
    """A new region."""

    slug: Slug
    name: Name
    state: State


class RegionChange(_Change):
    """A change to a region; a new `slug` renames it (the old one redirects)."""

    slug: Slug | None = None
    name: Name | None = None
    state: State | None = None


class CityIn(_Input):
    """A new city, in a region that exists; `state` defaults to the region's."""

    slug: Slug
    name: Name
    region: Slug
    state: State | None = None
    ags: Ags | None = None


class CityChange(_Change):
    """A change to a city; a new `slug` renames it, a new `region` moves it and its releases."""

    slug: Slug | None = None
    name: Name | None = None
    region: Slug | None = None
    state: State | None = None
    ags: Ags | None = None


class TopicIn(_Input):
    """A new topic."""

    slug: Slug
    name: Name


class TopicChange(_Change):
    """A change to a topic; a new `slug` renames it (the old one redirects)."""

    slug: Slug | None = None
    name: Name | None = None


class PublisherIn(_Input):
    """A new press office, and the cities it publishes for by default."""

    name: Name
    cities: Annotated[list[Slug], Field(max_length=1000)] = []


class PublisherChange(_Change):
    """A change to a press office: a new `name` (the old one still names it in imports) or
    other `cities`."""

    name: Name | None = None
    cities: Annotated[list[Slug], Field(max_length=1000)] | None = None


class MergeInto(_Input):
    """Where a region, city or topic goes: the slug of another one of its kind."""

    into: Slug


class PublisherMergeInto(_Input):
    """Where a press office goes: the id of another one."""

    into: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]


ENTRY_INPUT: dict[str, type[_Input]] = {
    "region": RegionIn,
    "city": CityIn,
    "topic": TopicIn,
    "publisher": PublisherIn,
}
CHANGE_INPUT: dict[str, type[_Change]] = {
    "region": RegionChange,
    "city": CityChange,
    "topic": TopicChange,
    "publisher": PublisherChange,
}


# --- outcomes ------------------------------------------------------------------------------------


class Problem(enum.Enum):
    UNKNOWN = "unknown"  # the entry to change does not exist (or no longer under that name)
    TAKEN = "taken"  # the slug or name is another entry's, now or before
    CONFLICT = "conflict"  # the entry's state forbids it: retired already, still has cities, …
    INVALID = "invalid"  # the input names something it cannot: a missing region, itself, …


@dataclass(frozen=True)
class CatalogRefused:
    """Nothing was written. `message` says why; `errors` name the fields at fault."""

    problem: Problem
    message: str
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class Changed:
    """What the entry is now (a merge: the entry the other went into)."""

    entry: Entry
    created: bool = False


Outcome = Changed | CatalogRefused
Key = str | int


@dataclass(frozen=True)
class CatalogLookup:
    """Finding catalog entries on `session` by what people call them."""

    session: Session

    def find(self, kind: str, key: Key) -> Entry | CatalogRefused:
        """The current entry `key` (a slug; a press office's name or id) names, else why not:
        where an old slug went, or the closest slug there is."""
        noun = NOUNS[kind]
        entry: Entry | None = None
        if kind == "publisher" and (isinstance(key, int) or (key.isascii() and key.isdigit())):
            entry = self.session.get(Publisher, int(key)) if int(key) <= 2**31 - 1 else None
            if entry is not None and entry.merged_into_id is not None:
                into = catalog_history.entry_by_id(self.session, kind, entry.merged_into_id)
                went = f"'{name_of(into)}' (id {into.id})" if into is not None else "another"
                return CatalogRefused(Problem.UNKNOWN, f"press office {key} was merged into {went}")
        elif isinstance(key, str) and (kind == "publisher" or is_slug(key)):
            entry = catalog_history.current(self.session, kind, key)
            if entry is None and (target := catalog_history.resolve(self.session, kind, key)) is not None:
                return CatalogRefused(
                    Problem.UNKNOWN, f"there is no {noun} '{key}' any more: it is now '{name_of(target)}'"
                )
        if entry is None:
            return CatalogRefused(Problem.UNKNOWN, f"no {noun} '{key}'{self._closest(kind, str(key))}")
        return entry

    def _closest(self, kind: str, name: str) -> str:
        """A hint at the current name closest to one that names nothing: "; did you mean 'x'?"."""
        model = KINDS[kind]
        rows = self.session.scalars(select(model).where(model.retired_at.is_(None)))
        names = [name_of(cast(Entry, each)) for each in rows]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True)
class CatalogChanges(CatalogLookup):
    """The changes of the catalog on `session`, at `now`, by `by`, each in a transaction of
    its own and with one entry in the audit log."""

    now: datetime
    by: Acting

    def add(self, kind: str, data: _Input) -> Outcome:
        return self._in_transaction("add", kind, lambda: self._add(kind, data))

    def change(self, kind: str, key: Key, data: _Change) -> Outcome:
        return self._in_transaction("edit", kind, lambda: self._change(kind, key, data), key)

    def merge(self, kind: str, key: Key, into: Key) -> Outcome:
        return self._in_transaction("merge", kind, lambda: self._merge(kind, key, into), key)

    def retire(self, kind: str, key: Key) -> Outcome:
        return self._in_transaction("retire", kind, lambda: self._retire(kind, key), key)

    # --- one attempt of each change ------------------------------------------------------------

    def _add(self, kind: str, data: _Input) -> Outcome:
        errors: list[FieldError] = []
        entry: Entry
        if isinstance(data, PublisherIn):
            if (taken := self._name_taken(kind, data.name, None)) is not None:
                return taken
            cities = self._cities(data.cities, errors)
            if errors:
                return _invalid(errors)
            entry = Publisher(name=data.name, created_at=self.now, cities=cities)
        else:
            slug = getattr(data, "slug", "")
            if (taken := self._name_taken(kind, slug, None)) is not None:
                return taken
            if isinstance(data, CityIn):
                region = self._region(data.region, errors)
                if (taken := self._ags_taken(data.ags, None)) is not None:
                    return taken
                if errors or region is None:
                    return _invalid(errors)
                entry = City(
                    slug=data.slug,
                    name=data.name,
                    state=data.state or region.state,
                    region=region,
                    ags=data.ags,
                )
            elif isinstance(data, RegionIn):
                entry = Region(slug=data.slug, name=data.name, state=data.state)
            else:
                assert isinstance(data, TopicIn)
                entry = Topic(slug=data.slug, name=data.name)
        self.session.add(entry)
        self.session.flush()
        catalog_history.tell_feeds(self.session, (), self.now)
        return Changed(entry, created=True)

    def _change(self, kind: str, key: Key, data: _Change) -> Outcome:
        entry = self.find(kind, key)
        if isinstance(entry, CatalogRefused):
            return entry
        given = {name: getattr(data, name) for name in data.model_fields_set}
        new_name = given.pop("name" if kind == "publisher" else "slug", None)
        renamed = new_name is not None and new_name != name_of(entry)
        if renamed and (taken := self._name_taken(kind, new_name, entry)) is not None:
            return taken
        errors: list[FieldError] = []
        if "region" in given:
            given["region"] = self._region(given["region"], errors)
        if "cities" in given:
            given["cities"] = self._cities(given["cities"], errors)
        if "ags" in given and (taken := self._ags_taken(given["ags"], entry)) is not None:
            return taken
        if errors:
            return _invalid(errors)
        if new_name is not None:
            catalog_history.rename(self.session, entry, new_name, self.now)
        catalog_history.changed(self.session, entry, given, self.now)
        return Changed(entry)

    def _merge(self, kind: str, key: Key, into: Key) -> Outcome:
        source = self.find(kind, key)
        if isinstance(source, CatalogRefused):
            return source
        noun = NOUNS[kind]
        target = self.find(kind, into)
        if isinstance(target, CatalogRefused):
            message = self._other_kind(kind, into) or target.message
            return _invalid([FieldError(field="into", message=message)])
        if target.id == source.id:
            return _invalid([FieldError(field="into", message=f"a {noun} cannot be merged into itself")])
        if target.is_retired:
            message = f"the {noun} '{name_of(target)}' is retired: merge into a current one"
            return _invalid([FieldError(field="into", message=message)])
        if catalog_history.has_entries_below(self.session, source):
            return CatalogRefused(
                Problem.CONFLICT, f"the {noun} '{name_of(source)}' has regions below it: it cannot be merged"
            )
        if isinstance(source, Publisher) and isinstance(target, Publisher):
            doubled = catalog_history.conflicting_external_ids(self.session, source, target)
            if doubled:
                return CatalogRefused(
                    Problem.CONFLICT,
                    f"both press offices hold releases with the external_id {_listing(doubled)}: "
                    "a press office holds each external_id once",
                )
        catalog_history.merge(self.session, source, target, self.now)
        return Changed(target)

    def _retire(self, kind: str, key: Key) -> Outcome:
        entry = self.find(kind, key)
        if isinstance(entry, CatalogRefused):
            return entry
        noun = NOUNS[kind]
        if entry.retired_at is not None:
            since = entry.retired_at.date().isoformat()
            return CatalogRefused(
                Problem.CONFLICT, f"the {noun} '{name_of(entry)}' was retired already, on {since}"
            )
        if isinstance(entry, Region):
            current = [city.slug for city in entry.cities]
            if current:
                return CatalogRefused(
                    Problem.CONFLICT,
                    f"the region '{entry.slug}' still has the cities {_listing(current)}: "
                    "move them to another region or retire them first",
                )
            if catalog_history.has_entries_below(self.session, entry):
                return CatalogRefused(
                    Problem.CONFLICT, f"the region '{entry.slug}' has regions below it: it cannot be retired"
                )
        catalog_history.retire(self.session, entry, self.now)
        return Changed(entry)

    # --- checks -----------------------------------------------------------------------------------

    def _name_taken(self, kind: str, name: str, entry: Entry | None) -> CatalogRefused | None:
        """Why `entry` (None: a new one) may not be called `name`, if it may not. A slug or
        name stays with the entry that had it, for good: no feed id is ever made twice."""
        noun = NOUNS[kind]
        what = "name" if kind == "publisher" else "slug"
        holder = catalog_history.holder(self.session, kind, name)
        if holder is not None and (entry is None or holder.id != entry.id):
            if holder.merged_into_id is not None:
                into = catalog_history.entry_by_id(self.session, kind, holder.merged_into_id)
                went = f"'{name_of(into)}'" if into is not None else "another"
                return CatalogRefused(
                    Problem.TAKEN,
                    f"the {what} '{name}' belonged to a {noun} merged into {went}: "
                    f"it stays reserved, its old URLs redirect there",
                )
            if name_of(holder) != name:
                return CatalogRefused(
                    Problem.TAKEN,
                    f"the {what} '{name}' belonged to the {noun} now called '{name_of(holder)}': "
                    "it stays reserved, its old URLs redirect there",
                )
            return CatalogRefused(Problem.TAKEN, f"there is a {noun} '{name}' already")
        if kind == "publisher":
            lookalike = catalog_history.lookalike(self.session, kind, name)
            if lookalike is not None and (entry is None or lookalike.id != entry.id):
                return CatalogRefused(
                    Problem.TAKEN,
                    f"there is a press office '{name_of(lookalike)}' already: names that differ only in "
                    "case or spaces name one office",
                )
        return None

    def _ags_taken(self, ags: str | None, entry: Entry | None) -> CatalogRefused | None:
        if ags is None:
            return None
        query = select(City).where(City.ags == ags, City.merged_into_id.is_(None))
        other = self.session.scalars(query).first()
        if other is not None and (entry is None or other.id != entry.id):
            return CatalogRefused(Problem.TAKEN, f"the AGS {ags} is the city '{other.slug}'s already")
        return None

    def _region(self, slug: str, errors: list[FieldError]) -> Region | None:
        region = catalog.region_by_slug(self.session, slug)
        if region is None:
            errors.append(
                FieldError(field="region", message=f"unknown region '{slug}'{self._closest('region', slug)}")
            )
        elif region.is_retired:
            errors.append(FieldError(field="region", message=f"the region '{slug}' is retired"))
        return region

    def _cities(self, slugs: Sequence[str], errors: list[FieldError]) -> list[City]:
        found: list[City] = []
        for index, slug in enumerate(dict.fromkeys(slugs)):
            city = catalog.city_by_slug(self.session, slug)
            if city is None:
                message = f"unknown city '{slug}'{self._closest('city', slug)}"
                errors.append(FieldError(field=f"cities.{index}", message=message))
            elif city.is_retired:
                errors.append(FieldError(field=f"cities.{index}", message=f"the city '{slug}' is retired"))
            else:
                found.append(city)
        return found

    def _other_kind(self, kind: str, name: Key) -> str | None:
        """Why a merge named no entry: "'x' is a topic, not a city", if it is one."""
        if not isinstance(name, str) or not is_slug(name):
            return None
        for other in ("region", "city", "topic"):
            if other != kind and catalog_history.resolve(self.session, other, name) is not None:
                return (
                    f"'{name}' is a {NOUNS[other]}, not a {NOUNS[kind]}: "
                    "entries merge only with entries of their own kind"
                )
        return None

    # --- transactions -----------------------------------------------------------------------------

    def _in_transaction(
        self, operation: str, kind: str, change: Callable[[], Outcome], key: Key | None = None
    ) -> Outcome:
        begin_writing(self.session)
        try:
            outcome = change()
            if isinstance(outcome, Changed):
                detail = {"operation": operation, "kind": kind, "name": name_of(outcome.entry)}
                if key is not None:
                    detail["key"] = str(key)
                subject = audit.Subject(kind, outcome.entry.id)
                audit.record_by(self.session, self.by, self.now, "catalog.changed", subject, detail)
                self.session.commit()
                return outcome
        except IntegrityError:
            # Another change of the catalog took the slug or name between our checks and our
            # write (PostgreSQL; SQLite's write lock keeps that from happening).
            self.session.rollback()
            return CatalogRefused(Problem.TAKEN, "another change of the catalog came first: try again")
        except BaseException:
            self.session.rollback()
            raise
        self.session.rollback()
        return outcome


def _invalid(errors: Sequence[FieldError]) -> CatalogRefused:
    message = errors[0].message if len(errors) == 1 else "some fields are invalid"
    return CatalogRefused(Problem.INVALID, message, tuple(errors))


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:_NAMED_IN_A_MESSAGE])
    return shown + (", …" if len(names) > _NAMED_IN_A_MESSAGE else "")
