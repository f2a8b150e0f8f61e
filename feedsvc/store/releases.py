"""Reads and writes of releases: the newest visible releases of a feed, and
creating, changing and retracting one.

"Visible" means published (`published_at <= now`) and not retracted. Every read
takes `now` from the caller, so embargoes follow one controllable clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, select, tuple_
from sqlalchemy.orm import Session

from feedsvc.models import City, Publisher, Release, ReleaseImage, ReleaseTopic, Topic
from feedsvc.schemas import FieldError, ImageIn, ReleaseIn, ReleasePatch
from feedsvc.store import feed_versions
from feedsvc.store.catalog import city_by_slug, topics_by_slugs
from feedsvc.store.scope import Cursor, Scope
from feedsvc.store.search import Search, matching
from feedsvc.text import plain_text, summary_from_html


@dataclass(frozen=True)
class References:
    city: City
    topics: list[Topic]


def release_by_id(session: Session, release_id: int) -> Release | None:
    return session.get(Release, release_id)


def release_by_external_id(session: Session, publisher_id: int, external_id: str) -> Release | None:
    query = select(Release).where(Release.publisher_id == publisher_id, Release.external_id == external_id)
    return session.scalars(query).one_or_none()


@dataclass(frozen=True)
class PriorRelease:
    """The release an earlier POST with the same external_id made for a press office.

    A retried POST (the API's, a form sent twice) must not publish twice: the same
    content, still published, is a retry, answered as the first POST was; anything
    else (changed content, a release retracted since) conflicts with it.
    """

    release: Release
    is_retry: bool


def prior_release(session: Session, publisher: Publisher, data: ReleaseIn) -> PriorRelease | None:
    """The release `data`'s external_id already made for `publisher`, or None (also without one)."""
    if data.external_id is None or publisher.id is None:
        return None
    existing = release_by_external_id(session, publisher.id, data.external_id)
    if existing is None:
        return None
    return PriorRelease(
        existing, existing.retracted_at is None and existing.content_hash == data.content_hash()
    )


@dataclass(frozen=True)
class _Walk:
    """The visible releases of a scope as ids, with the (date, id) columns of the
    index to walk: `release_topics` for topic scopes, `releases` otherwise."""

    query: Select[int]
    published_at: ColumnElement[datetime]
    release_id: ColumnElement[int]

    def position(self) -> ColumnElement[tuple[datetime, int]]:
        return tuple_(self.published_at, self.release_id)


def _visible(session: Session, scope: Scope, now: datetime, search: Search | None) -> _Walk:
    walk: _Walk
    if scope.topic_id is not None:
        link = ReleaseTopic
        query = (
            select(link.release_id)
            .join(Release, Release.id == link.release_id)
            .where(link.topic_id == scope.topic_id, link.published_at <= now, Release.retracted_at.is_(None))
        )
        if scope.city_id is not None:
            query = query.where(link.city_id == scope.city_id)
        walk = _Walk(query, link.published_at.expression, link.release_id.expression)
    else:
        query = select(Release.id).where(Release.published_at <= now, Release.retracted_at.is_(None))
        if scope.city_id is not None:
            query = query.where(Release.city_id == scope.city_id)
        walk = _Walk(query, Release.published_at.expression, Release.id.expression)
    if scope.region_id is not None:  # with a topic (an API filter) joined, not indexed
        walk = replace(walk, query=walk.query.where(Release.region_id == scope.region_id))
    if search is not None:
        walk = replace(walk, query=walk.query.where(matching(search, session.get_bind().dialect.name)))
    return walk


def newest_visible_ids(
    session: Session,
    scope: Scope,
    now: datetime,
    limit: int,
    after: Cursor | None = None,
    updated_since: datetime | None = None,
    search: Search | None = None,
) -> list[int]:
    """Ids of the newest visible releases of a scope, newest first, ties by id.

    Each scope walks one index backwards and stops after `limit` rows: the cost
    grows with the page, not with the table. `updated_since` keeps only releases
    changed at or after that instant (for clients that synchronise); `search`
    only those matching a full-text search (through its own index).
    """
    walk = _visible(session, scope, now, search)
    query = walk.query.order_by(walk.published_at.desc(), walk.release_id.desc())
    if after is not None:
        query = query.where(walk.position() < tuple_(after.published_at, after.release_id))
    if updated_since is not None:
        query = query.where(Release.updated_at >= updated_since)
    return list(session.scalars(query.limit(limit)))


def newer_visible_ids(
    session: Session, scope: Scope, now: datetime, limit: int, before: Cursor, search: Search | None = None
) -> list[int]:
    """Ids of the visible releases just newer than `before`, newest first (an
    RFC 5005 `previous` page): the same index walked forwards from the cursor."""
    walk = _visible(session, scope, now, search)
    query = walk.query.where(walk.position() > tuple_(before.published_at, before.release_id))
    query = query.order_by(walk.published_at, walk.release_id)
    return list(reversed(session.scalars(query.limit(limit)).all()))


def releases_by_ids(session: Session, ids: Sequence[int]) -> list[Release]:
    """The releases with these ids, in the order given."""
    if not ids:
        return []
    found = {release.id: release for release in session.scalars(select(Release).where(Release.id.in_(ids)))}
    return [found[release_id] for release_id in ids if release_id in found]


def newest_visible(
    session: Session,
    scope: Scope,
    now: datetime,
    limit: int,
    after: Cursor | None = None,
    search: Search | None = None,
) -> list[Release]:
    return releases_by_ids(session, newest_visible_ids(session, scope, now, limit, after, search=search))


def count_visible(session: Session, scope: Scope, now: datetime, search: Search | None = None) -> int:
    walk = _visible(session, scope, now, search)
    return int(session.scalar(select(func.count()).select_from(walk.query.subquery())) or 0)


def is_visible(release: Release, now: datetime) -> bool:
    return release.retracted_at is None and release.published_at <= now


def resolve_references(
    session: Session, city_slug: str, topic_slugs: Sequence[str]
) -> References | list[FieldError]:
    """The city and topics that a release names, or an error per unknown slug."""
    errors: list[FieldError] = []
    city = city_by_slug(session, city_slug)
    if city is None:
        errors.append(FieldError(field="city", message=f"unknown city '{city_slug}'"))
    known = topics_by_slugs(session, topic_slugs)
    for index, slug in enumerate(topic_slugs):
        if slug not in known:
            errors.append(FieldError(field=f"topics.{index}", message=f"unknown topic '{slug}'"))
    if errors or city is None:
        return errors
    return References(city=city, topics=[known[slug] for slug in topic_slugs])


def create_release(
    session: Session,
    *,
    publisher: Publisher,
    data: ReleaseIn,
    refs: References,
    now: datetime,
    tag_authority: str,
) -> Release:
    """Adds a release; its guid is a tag URI (RFC 4151) fixed forever at creation."""
    published_at = data.published_at or now
    release = Release(
        publisher=publisher,
        publisher_id=publisher.id,
        external_id=data.external_id,
        content_hash=data.content_hash(),
        created_at=now,
        updated_at=now,
        revision=1,
        published_at=published_at,
        title=data.title,
        body_html=data.body,
        body_text=plain_text(data.body),
        summary=data.summary or summary_from_html(data.body),
        summary_derived=not data.summary,
        author=data.author or publisher.name,
        language=data.language,
        correction_note=data.correction_note,
        # Unique placeholder until the id is known; replaced before commit.
        guid=f"pending:{publisher.id}:{data.content_hash()}:{now.timestamp()}",
    )
    _apply_contact_and_links(release, data)
    _set_city_and_topics(release, refs)
    _set_images(release, data.images)
    session.add(release)
    session.flush()
    release.guid = f"tag:{tag_authority},{now:%Y-%m-%d}:release:{release.id}"
    keys = feed_versions.release_keys(release)
    feed_versions.bump(session, keys, now, embargo_until=release.published_at, counted=dict.fromkeys(keys, 1))
    session.flush()
    return release


def update_release(
    session: Session, release: Release, patch: ReleasePatch, refs: References, now: datetime
) -> Release:
    """Applies the fields given in `patch`; bumps `updated_at` and `revision`."""
    keys_before = feed_versions.release_keys(release)
    given = patch.model_fields_set
    if "title" in given and patch.title is not None:
        release.title = patch.title
    if "body" in given and patch.body is not None:
        release.body_html = patch.body
        release.body_text = plain_text(patch.body)
        if "summary" not in given and release.summary_derived:
            release.summary = summary_from_html(patch.body)
    if "summary" in given:
        release.summary = patch.summary or summary_from_html(release.body_html)
        release.summary_derived = not patch.summary
    if "published_at" in given and patch.published_at is not None:
        release.published_at = patch.published_at
    if "author" in given:
        release.author = patch.author or release.publisher.name
    if "language" in given and patch.language is not None:
        release.language = patch.language
    if "correction_note" in given:
        release.correction_note = patch.correction_note
    if "images" in given:
        _set_images(release, patch.images or [])
    _apply_contact_and_links(release, patch)
    _set_city_and_topics(release, refs)
    release.updated_at = max(now, release.updated_at)
    release.revision += 1
    keys_after = feed_versions.release_keys(release)
    # A release moved to another city or topics leaves the old subjects' counts.
    counted = dict.fromkeys(keys_before - keys_after, -1) | dict.fromkeys(keys_after - keys_before, 1)
    if release.retracted_at is not None:
        counted = {}  # a retracted release is counted nowhere
    feed_versions.bump(
        session, keys_before | keys_after, now, embargo_until=release.published_at, counted=counted
    )
    session.flush()
    return release


def retract_release(session: Session, release: Release, now: datetime) -> Release:
    """Marks a release retracted. The row stays, for the record and for tombstones."""
    held = release.retracted_at is None
    release.retracted_at = now
    release.updated_at = max(now, release.updated_at)
    release.revision += 1
    keys = feed_versions.release_keys(release)
    feed_versions.bump(session, keys, now, counted=dict.fromkeys(keys, -1 if held else 0))
    session.flush()
    return release


def recently_retracted(session: Session, scope: Scope, since: datetime) -> list[Release]:
    """Releases of a scope retracted after `since` that had been public (for RFC 6721)."""
    query = select(Release).where(
        Release.retracted_at.is_not(None),
        Release.retracted_at > since,
        Release.published_at <= Release.retracted_at,
    )
    if scope.topic_id is not None:
        topic_filter = [ReleaseTopic.release_id == Release.id, ReleaseTopic.topic_id == scope.topic_id]
        query = query.where(select(ReleaseTopic).where(and_(*topic_filter)).exists())
    if scope.city_id is not None:
        query = query.where(Release.city_id == scope.city_id)
    if scope.region_id is not None:
        query = query.where(Release.region_id == scope.region_id)
    return list(session.scalars(query.order_by(Release.retracted_at.desc(), Release.id.desc()).limit(200)))


def _apply_contact_and_links(release: Release, data: ReleaseIn | ReleasePatch) -> None:
    given = data.model_fields_set
    if "source_url" in given:
        release.source_url = data.source_url
    if "contact" in given:
        contact = data.contact
        release.contact_name = contact.name if contact else None
        release.contact_email = contact.email if contact else None
        release.contact_phone = contact.phone if contact else None


def _set_city_and_topics(release: Release, refs: References) -> None:
    release.city = refs.city
    release.city_id = refs.city.id
    release.region_id = refs.city.region_id
    wanted = {topic.id: topic for topic in refs.topics}
    release.topic_links = [link for link in release.topic_links if link.topic_id in wanted]
    present = {link.topic_id for link in release.topic_links}
    for topic_id, topic in wanted.items():
        if topic_id not in present:
            release.topic_links.append(ReleaseTopic(topic=topic, topic_id=topic_id))
    for link in release.topic_links:
        link.city_id = release.city_id
        link.published_at = release.published_at


def _set_images(release: Release, images: Sequence[ImageIn]) -> None:
    release.images = [
        ReleaseImage(
            position=position,
            url=image.url,
            caption=image.caption,
            credit=image.credit,
            media_type=image.type,
            length=image.length,
        )
        for position, image in enumerate(images)
    ]
