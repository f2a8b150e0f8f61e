"""Publishing, correcting and retracting a release: the one write use case behind
the API, the publish form and `feedsvc import`.

Every write resolves the city and topics its input names, checks that the
writer may write that city (docs/api.md#tokens-and-scope) and, for a new
release, chooses the press office it is published for (`writers`) and
recognises a repeated publish by its external_id (docs/api.md#retries). The
answer is a typed outcome, which each surface words in its own way: the API as
problem+json (docs/api.md#errors), the form in German next to its fields, the
import as "line N: field: message" lines. Input comes validated and cleaned
(`feedsvc.publishing.input`); no request is read here: the caller passes the
session, `now` and the tag authority.

Transactions: the service commits, since retrying a write means rolling back
its attempt. By default each write is a transaction of its own: it starts with
`feedsvc.db.begin_writing`, before the checks (on SQLite that takes the write
lock, so what the checks find still holds when the write commits); the service
commits it when something was written and rolls it back when not (a refusal, a
conflict, a retry), so the releases of such outcomes are expired and reload on
first use. With `within_callers_transaction` (the import: all records or none)
each write is a savepoint instead, released or rolled back here; the caller has
begun its transaction with `begin_writing` and commits or rolls back the whole.
An unexpected error ends nothing: it propagates to whoever closes the session.

A write whose insert loses a unique constraint to a concurrent writer (the same
external_id, an admin's new press office) is rolled back and tried again from
its checks, which then find what the winner wrote (docs/api.md#retries).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from feedsvc.db import begin_writing
from feedsvc.models import Publisher, Release
from feedsvc.publishing.input import FieldError, ReleaseIn, ReleasePatch, is_slug
from feedsvc.publishing.values import new_release_fields, update_from_patch, update_replacing_with
from feedsvc.publishing.writers import NoOffice, Writer
from feedsvc.store import audit
from feedsvc.store.catalog import city_named, topics_named
from feedsvc.store.releases import (
    References,
    UnknownReferences,
    create_release,
    prior_release,
    release_by_id,
    resolve_references,
    retract_release,
    update_release,
    was_public,
)

# releases.id is an INTEGER column, 32 bits on PostgreSQL: a larger id cannot exist, and the
# databases refuse to even compare with it.
MAX_RELEASE_ID = 2**31 - 1
# After losing a unique constraint, the next attempt finds the winner's row; three leave room
# for a second race (an admin's new press office first, then the external_id).
WRITE_ATTEMPTS = 3


class Effect(enum.Enum):
    CREATED = "created"
    # The release an earlier publish of the same content made, left as it is (a retry).
    REPEATED = "repeated"
    # `publish_or_replace` only: the release an earlier publish made, now with the new content.
    REPLACED = "replaced"


@dataclass(frozen=True)
class Published:
    release: Release
    effect: Effect

    @property
    def created(self) -> bool:
        return self.effect is Effect.CREATED


class ConflictReason(enum.Enum):
    OTHER_CONTENT = "other content"
    RETRACTED = "retracted"


@dataclass(frozen=True)
class Conflict:
    """The input's external_id already made `existing`, which this publish cannot stand for:
    its content differs, or it was retracted (publishing it again would resurrect it, a new
    release would break "one release per external_id"). Nothing was written."""

    existing: Release
    reason: ConflictReason


class RefusalKind(enum.Enum):
    UNKNOWN_REFERENCES = "unknown references"  # a city or topic the input names does not exist
    CITY_OUT_OF_SCOPE = "city out of scope"  # the writer may not write the city the input names
    RELEASE_OUT_OF_SCOPE = "release out of scope"  # ... nor the city of the release to change
    NO_SUCH_RELEASE = "no such release"
    RETRACTED = "retracted"
    # A city, topic or press office the write names is retired: it takes no new releases.
    RETIRED = "retired"
    # No press office to publish for: the name given is one that only looks like another's.
    NO_PRESS_OFFICE = "no press office"
    # A correction would move a published release's publication time into the future,
    # which would take it from every feed and page without a trace: retract it instead.
    WOULD_UNPUBLISH = "would unpublish"


@dataclass(frozen=True)
class Refused:
    """Nothing was written. `message` is the API's wording; `errors` name the fields at fault."""

    kind: RefusalKind
    message: str
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class Corrected:
    release: Release


@dataclass(frozen=True)
class Retracted:
    release: Release


Outcome = TypeVar("Outcome")


def live_release(
    session: Session, release_id: int, hidden: Callable[[Release], bool] | None = None
) -> Release | Refused:
    """The release with this id, refused when there is none or it was retracted.

    `hidden` says of a release whether the caller must not learn that it exists (one nobody
    could see yet, asked for by somebody who may not see it early): it is then refused
    exactly as an id that never existed, whether it is retracted or not."""
    release = release_by_id(session, release_id) if release_id <= MAX_RELEASE_ID else None
    if release is None or (hidden is not None and hidden(release)):
        return Refused(RefusalKind.NO_SUCH_RELEASE, f"no release with id {release_id}")
    if release.retracted_at is not None:
        return Refused(RefusalKind.RETRACTED, f"release {release_id} was retracted")
    return release


@dataclass(frozen=True)
class Publishing:
    """The writes of releases on `session`, at `now`; new guids are tag URIs of `tag_authority`.
    Each write leaves one entry in the audit log, naming the writer's actor and `address`
    (where the request came from; "" for a command)."""

    session: Session
    now: datetime
    tag_authority: str
    within_callers_transaction: bool = False
    address: str = ""

    def publish(self, writer: Writer, data: ReleaseIn) -> Published | Conflict | Refused:
        """A new release, or the one a publish of the same content with the same external_id made."""
        content_hash = data.content_hash()
        return self._in_attempts(lambda: self._publish(writer, data, content_hash, replace=False))

    def publish_or_replace(self, writer: Writer, data: ReleaseIn) -> Published | Refused:
        """As `publish`, but a release the external_id made before takes changed content instead
        of conflicting, and is left as it is with the same content, retracted or not: an import
        file is the newest word on its records."""
        content_hash = data.content_hash()
        outcome = self._in_attempts(lambda: self._publish(writer, data, content_hash, replace=True))
        assert not isinstance(outcome, Conflict), "a publish that replaces never conflicts"
        return outcome

    def correct(self, writer: Writer, release_id: int, patch: ReleasePatch) -> Corrected | Refused:
        """The release with the fields `patch` gives changed, as a new revision."""
        if not patch.changed_fields:
            # Nothing to change is no change: no new revision, no new `updated` in the feeds.
            release = self.writable_release(writer, release_id)
            return release if isinstance(release, Refused) else Corrected(release)
        return self._in_attempts(lambda: self._correct(writer, release_id, patch))

    def retract(self, writer: Writer, release_id: int, reason: str | None = None) -> Retracted | Refused:
        """The release retracted, for `reason` (shown on its 410 page and in its tombstones)."""
        return self._in_attempts(lambda: self._retract(writer, release_id, reason))

    def writable_release(self, writer: Writer, release_id: int) -> Release | Refused:
        """The release `writer` may change: it exists, is not retracted, and is of their cities.
        A release of other cities that nobody could see yet does not exist for this writer."""

        def hidden(release: Release) -> bool:
            return not writer.may_write(release.city) and not was_public(release, self.now)

        release = live_release(self.session, release_id, hidden)
        if isinstance(release, Refused):
            return release
        if not writer.may_write(release.city):
            message = f"this token may not change releases of '{release.city.slug}'"
            return Refused(RefusalKind.RELEASE_OUT_OF_SCOPE, message)
        return release

    # --- one attempt of each write ------------------------------------------------------------------

    def _publish(
        self, writer: Writer, data: ReleaseIn, content_hash: str, *, replace: bool
    ) -> Published | Conflict | Refused:
        refs = self._writable_references(writer, data.city, data.topics)
        if isinstance(refs, Refused):
            return refs
        office = writer.press_office(self.session, refs.city, self.now)
        if isinstance(office, NoOffice):
            error = FieldError(field="publisher", message=office.message)
            return Refused(RefusalKind.NO_PRESS_OFFICE, office.message, (error,))
        if office.is_retired:
            message = f"the press office '{office.name}' is retired: it takes no new releases"
            return Refused(RefusalKind.RETIRED, message, (FieldError(field="publisher", message=message),))
        prior = prior_release(self.session, office, data.external_id, content_hash)
        if prior is None:
            return self._create(writer, office, data, refs, content_hash)
        # An import file is the newest word on its records, retracted or not; any other
        # publish is a retry only while the release it made stands.
        if prior.same_content if replace else prior.is_retry:
            return Published(prior.release, Effect.REPEATED)
        if replace:
            unpublishing = self._unpublishing(prior.release, data.published_at)
            if unpublishing is not None:
                return unpublishing
            update = update_replacing_with(data, content_hash)
            major = getattr(data, "change", "major") == "major"
            self._audit_change(writer, prior.release, sorted(data.model_fields_set), major=major)
            return Published(
                update_release(self.session, prior.release, update, refs, self.now, major=major),
                Effect.REPLACED,
            )
        retracted = prior.release.retracted_at is not None
        return Conflict(
            prior.release, ConflictReason.RETRACTED if retracted else ConflictReason.OTHER_CONTENT
        )

    def _correct(self, writer: Writer, release_id: int, patch: ReleasePatch) -> Corrected | Refused:
        release = self.writable_release(writer, release_id)  # again: it may have changed meanwhile
        if isinstance(release, Refused):
            return release
        topics = patch.topics if patch.topics is not None else [topic.slug for topic in release.topics]
        refs = self._writable_references(writer, patch.city or release.city.slug, topics, keeping=release)
        if isinstance(refs, Refused):
            return refs
        if "published_at" in patch.changed_fields:
            unpublishing = self._unpublishing(release, patch.published_at)
            if unpublishing is not None:
                return unpublishing
        major = patch.change == "major"
        self._audit_change(
            writer, release, sorted(patch.changed_fields), major=major, moved_to=patch.published_at
        )
        update = update_from_patch(patch)
        return Corrected(update_release(self.session, release, update, refs, self.now, major=major))

    def _retract(self, writer: Writer, release_id: int, reason: str | None) -> Retracted | Refused:
        release = self.writable_release(writer, release_id)  # again: it may have changed meanwhile
        if isinstance(release, Refused):
            return release
        detail = {"title": release.title, "reason": reason, "was_public": was_public(release, self.now)}
        self._audit(writer, "release.retracted", release.id, detail)
        return Retracted(retract_release(self.session, release, self.now, reason))

    def _create(
        self, writer: Writer, office: Publisher, data: ReleaseIn, refs: References, content_hash: str
    ) -> Published:
        release = create_release(
            self.session,
            publisher=office,
            fields=new_release_fields(data, content_hash),
            refs=refs,
            now=self.now,
            tag_authority=self.tag_authority,
        )
        detail = {
            "title": release.title,
            "city": release.city.slug,
            "published_at": release.published_at.isoformat(),
            "external_id": release.external_id,
        }
        self._audit(writer, "release.published", release.id, detail)
        return Published(release, Effect.CREATED)

    def _unpublishing(self, release: Release, published_at: datetime | None) -> Refused | None:
        """The refusal of moving a release anybody could see into the future: it would leave
        every feed and page without a tombstone. Withdrawing it is a retraction."""
        if published_at is None or published_at <= self.now or not was_public(release, self.now):
            return None
        message = (
            f"release {release.id} is published: its publication time cannot move into the future; "
            "to withdraw it, retract it"
        )
        return Refused(
            RefusalKind.WOULD_UNPUBLISH, message, (FieldError(field="published_at", message=message),)
        )

    # --- the audit log ------------------------------------------------------------------------------

    def _audit_change(
        self,
        writer: Writer,
        release: Release,
        fields: list[str],
        *,
        major: bool,
        moved_to: datetime | None = None,
    ) -> None:
        """The entry of a correction, made before it is applied: it names the time it moved from.
        A new publication time for a release nobody could see yet is an embargo change."""
        rescheduled = (
            moved_to is not None and moved_to != release.published_at and not was_public(release, self.now)
        )
        detail: dict[str, str | int | bool | list[str] | None] = {
            "fields": fields,
            "change": "major" if major else "minor",
            "revision": release.revision + 1,
        }
        if moved_to is not None and moved_to != release.published_at:
            detail |= {
                "published_at": moved_to.isoformat(),
                "was_published_at": release.published_at.isoformat(),
            }
        self._audit(writer, "release.rescheduled" if rescheduled else "release.corrected", release.id, detail)

    def _audit(self, writer: Writer, action: str, release_id: int, detail: audit.Detail) -> None:
        audit.record(
            self.session,
            at=self.now,
            actor=writer.actor,
            action=action,
            subject=audit.Subject("release", release_id),
            detail=detail,
            address=self.address,
        )

    def _writable_references(
        self, writer: Writer, city: str, topics: list[str], keeping: Release | None = None
    ) -> References | Refused:
        """The city and topics a write names, if the writer may write them. Retired ones take
        no new releases; a correction may keep the retired city and topics its release has."""
        refs = resolve_references(self.session, city, topics)
        if isinstance(refs, UnknownReferences):
            errors = _unknown_reference_errors(refs)
            return Refused(
                RefusalKind.UNKNOWN_REFERENCES, "some fields name unknown cities or topics", errors
            )
        if not writer.may_write(refs.city):
            message = f"this token may not publish for the city '{refs.city.slug}'"
            return Refused(RefusalKind.CITY_OUT_OF_SCOPE, message)
        retired = _retired_reference_errors(self.session, refs, topics, keeping)
        if retired:
            return Refused(RefusalKind.RETIRED, "some fields name retired cities or topics", retired)
        return refs

    # --- transactions -------------------------------------------------------------------------------

    def _in_attempts(self, attempt: Callable[[], Outcome]) -> Outcome:
        """`attempt` in a transaction (or savepoint) of its own, kept when it wrote, tried
        again when it lost a unique constraint."""
        for number in range(1, WRITE_ATTEMPTS + 1):
            savepoint = self._begin()
            try:
                outcome = attempt()
                if _wrote(outcome):
                    self._end(savepoint, keep=True)
            except IntegrityError:
                # Another writer inserted between our checks and our insert; the next
                # attempt's checks find its row (the same external_id: a retry).
                self._end(savepoint, keep=False)
                if number == WRITE_ATTEMPTS:
                    raise
                continue
            if not _wrote(outcome):
                # Nothing is written: ends the transaction (on SQLite: frees the write lock).
                self._end(savepoint, keep=False)
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def _begin(self) -> SessionTransaction | None:
        if self.within_callers_transaction:
            return self.session.begin_nested()
        begin_writing(self.session)
        return None

    def _end(self, savepoint: SessionTransaction | None, *, keep: bool) -> None:
        ending = savepoint if savepoint is not None else self.session
        if keep:
            ending.commit()
        else:
            ending.rollback()


def _wrote(outcome: object) -> bool:
    if isinstance(outcome, Published):
        return outcome.effect is not Effect.REPEATED
    return isinstance(outcome, Corrected | Retracted)


def unknown_names(session: Session, raw: Mapping[str, Any]) -> tuple[FieldError, ...]:
    """The unknown city and topics that raw release input names, before it is valid as a
    whole: so that an answer refusing invalid input names these too, all errors at once
    (docs/api.md#errors). Values that are not slugs at all are the schema's to refuse."""
    # Only what could be a slug is looked up: the rest (a NUL byte, say, which PostgreSQL
    # refuses to even compare) is the schema's to refuse.
    city, topics = raw.get("city"), raw.get("topics")
    city_slug = city if is_slug(city) else None
    topic_slugs = [slug for slug in topics if is_slug(slug)] if isinstance(topics, list) else []
    known = topics_named(session, topic_slugs)
    unknown_topics = tuple(
        (index, slug)
        for index, slug in enumerate(topics if isinstance(topics, list) else [])
        if is_slug(slug) and slug not in known
    )
    unknown_city = city_slug if city_slug is not None and city_named(session, city_slug) is None else None
    return _unknown_reference_errors(UnknownReferences(city=unknown_city, topics=unknown_topics))


def _retired_reference_errors(
    session: Session, refs: References, topic_slugs: list[str], keeping: Release | None
) -> tuple[FieldError, ...]:
    kept_city = keeping.city_id if keeping is not None else None
    kept_topics = {topic.id for topic in keeping.topics} if keeping is not None else set()
    errors: list[FieldError] = []
    if refs.city.is_retired and refs.city.id != kept_city:
        errors.append(
            FieldError(
                field="city", message=f"the city '{refs.city.slug}' is retired: it takes no new releases"
            )
        )
    if any(topic.is_retired and topic.id not in kept_topics for topic in refs.topics):
        named = topics_named(session, topic_slugs)
        errors += [
            FieldError(
                field=f"topics.{index}", message=f"the topic '{slug}' is retired: it takes no new releases"
            )
            for index, slug in enumerate(topic_slugs)
            if named[slug].is_retired and named[slug].id not in kept_topics
        ]
    return tuple(errors)


def _unknown_reference_errors(unknown: UnknownReferences) -> tuple[FieldError, ...]:
    city = (
        () if unknown.city is None else (FieldError(field="city", message=f"unknown city '{unknown.city}'"),)
    )
    topics = tuple(
        FieldError(field=f"topics.{index}", message=f"unknown topic '{slug}'")
        for index, slug in unknown.topics
    )
    return city + topics
