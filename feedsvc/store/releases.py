"""Reads and writes of releases: the newest visible releases of a feed, and
creating, changing and retracting one.

"Visible" means published (`published_at <= now`) and not retracted. Every read
takes `now` from the caller, so embargoes follow one controllable clock. Writes
take plain values (`feedsvc.store.release_fields`), checked by their caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from feedsvc.models import (
    City,
    Media,
    Publisher,
    Release,
    ReleaseAttachment,
    ReleaseImage,
    ReleaseTopic,
    Subscription,
    Topic,
)
from feedsvc.paths import parse_media_path, release_slug
from feedsvc.store import changes, keys, outbox, region_tree, revisions, subscriptions
from feedsvc.store.catalog import city_named, topics_named
from feedsvc.store.media import media_by_key
from feedsvc.store.release_fields import (
    UNCHANGED,
    AttachmentFields,
    ContactFields,
    ImageFields,
    ReleaseFields,
    ReleaseUpdate,
)
from feedsvc.store.scope import Cursor, Scope
from feedsvc.store.search import Search, matching
from feedsvc.text import html_text, summary_from_html

# What a feed holds: a subject (all, a city, topic, region, city×topic) or a subscription.
Holding = Scope | Subscription


@dataclass(frozen=True)
class References:
    city: City
    topics: list[Topic]


@dataclass(frozen=True)
class UnknownReferences:
    """The slugs a release names that match no city or topic."""

    city: str | None  # None: the city is known
    topics: tuple[tuple[int, str], ...]  # (position in the list named, slug)


def release_by_id(session: Session, release_id: int) -> Release | None:
    return session.get(Release, release_id)


def release_by_external_id(session: Session, publisher_id: int, external_id: str) -> Release | None:
    query = select(Release).where(Release.publisher_id == publisher_id, Release.external_id == external_id)
    return session.scalars(query).one_or_none()


@dataclass(frozen=True)
class PriorRelease:
    """The release an earlier publish with the same external_id made for a press office.

    A retried publish (the API's, a form sent twice) must not publish twice: the same
    content, still published, is a retry (`is_retry`), answered as the first publish
    was; anything else (changed content, a release retracted since) conflicts with it,
    or, for an import, is replaced by it.
    """

    release: Release
    same_content: bool

    @property
    def is_retry(self) -> bool:
        return self.same_content and self.release.retracted_at is None


def prior_release(
    session: Session, publisher: Publisher, external_id: str | None, content_hash: str
) -> PriorRelease | None:
    """The release `external_id` already made for `publisher`, or None (also without one)."""
    if external_id is None or publisher.id is None:
        return None
    existing = release_by_external_id(session, publisher.id, external_id)
    if existing is None:
        return None
    return PriorRelease(existing, same_content=existing.content_hash == content_hash)


@dataclass(frozen=True)
class _Walk:
    """The visible releases of a scope as ids, with the (date, id) columns of the
    index to walk: `release_topics` for topic scopes, `releases` otherwise."""

    query: Select[int]
    published_at: ColumnElement[datetime]
    release_id: ColumnElement[int]

    def position(self) -> ColumnElement[tuple[datetime, int]]:
        return tuple_(self.published_at, self.release_id)


def _visible(session: Session, scope: Holding, now: datetime, search: Search | None) -> _Walk:
    walk: _Walk
    if isinstance(scope, Subscription):
        # Unions of cities, regions and topics: the newest-first index of all releases,
        # filtered (a subscription's feed is read by few; the subject feeds stay index walks).
        query = select(Release.id).where(
            Release.published_at <= now, Release.retracted_at.is_(None), subscriptions.holds(session, scope)
        )
        walk = _Walk(query, Release.published_at.expression, Release.id.expression)
    elif scope.topic_id is not None:
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
    if not isinstance(scope, Subscription) and scope.region_id is not None:  # with a topic: not indexed
        in_region = region_tree.within(session, Release.region_id, scope.region_id)
        walk = replace(walk, query=walk.query.where(in_region))
    if search is not None:
        walk = replace(walk, query=walk.query.where(matching(search, session.get_bind().dialect.name)))
    return walk


def newest_visible_ids(
    session: Session,
    scope: Holding,
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


def newer_visible_positions(
    session: Session, scope: Holding, now: datetime, limit: int, before: Cursor, search: Search | None = None
) -> list[Cursor]:
    """The positions of the `limit` visible releases just newer than `before`, nearest
    first: the same index walked forwards from the cursor."""
    walk = _visible(session, scope, now, search)
    query = (
        walk.query.with_only_columns(walk.release_id, walk.published_at)
        .where(walk.position() > tuple_(before.published_at, before.release_id))
        .order_by(walk.published_at, walk.release_id)
    )
    return [
        Cursor(published_at, release_id) for release_id, published_at in session.execute(query.limit(limit))
    ]


def newer_visible_ids(
    session: Session, scope: Holding, now: datetime, limit: int, before: Cursor, search: Search | None = None
) -> list[int]:
    """Ids of the `limit` visible releases just newer than `before`, newest first (an
    RFC 5005 `previous` page: the releases next to the cursor, however many are newer)."""
    positions = newer_visible_positions(session, scope, now, limit, before, search)
    return [position.release_id for position in reversed(positions)]


def releases_by_ids(session: Session, ids: Sequence[int]) -> list[Release]:
    """The releases with these ids, in the order given."""
    if not ids:
        return []
    found = {release.id: release for release in session.scalars(select(Release).where(Release.id.in_(ids)))}
    return [found[release_id] for release_id in ids if release_id in found]


def newest_visible(
    session: Session,
    scope: Holding,
    now: datetime,
    limit: int,
    after: Cursor | None = None,
    search: Search | None = None,
) -> list[Release]:
    return releases_by_ids(session, newest_visible_ids(session, scope, now, limit, after, search=search))


def count_visible(session: Session, scope: Holding, now: datetime, search: Search | None = None) -> int:
    walk = _visible(session, scope, now, search)
    return int(session.scalar(select(func.count()).select_from(walk.query.subquery())) or 0)


def is_visible(release: Release, now: datetime) -> bool:
    return release.retracted_at is None and release.published_at <= now


def was_public(release: Release, now: datetime) -> bool:
    """Whether anybody but journalists could have seen the release by `now`: it is visible,
    or it was until it was retracted (its tombstone and its 410 are public). A release still
    under embargo, or retracted before its embargo instant, never was: everything public
    answers for it exactly as for an id that never existed."""
    if release.retracted_at is not None:
        return release.published_at <= release.retracted_at
    return release.published_at <= now


def public_by(now: datetime) -> ColumnElement[bool]:
    """`was_public` in SQL: the releases anybody but journalists could have seen by `now`."""
    return and_(
        Release.published_at <= now,
        or_(Release.retracted_at.is_(None), Release.published_at <= Release.retracted_at),
    )


def resolve_references(
    session: Session, city_slug: str, topic_slugs: Sequence[str]
) -> References | UnknownReferences:
    """The city and topics that a release names, or the slugs of those that are unknown.
    Old slugs of renamed or merged entries name the entry they went to (two slugs of one
    topic name it once)."""
    city = city_named(session, city_slug)
    known = topics_named(session, topic_slugs)
    unknown_topics = tuple((index, slug) for index, slug in enumerate(topic_slugs) if slug not in known)
    if city is None or unknown_topics:
        return UnknownReferences(city=None if city is not None else city_slug, topics=unknown_topics)
    topics = {known[slug].id: known[slug] for slug in topic_slugs}
    return References(city=city, topics=list(topics.values()))


def create_release(
    session: Session,
    *,
    publisher: Publisher,
    fields: ReleaseFields,
    refs: References,
    now: datetime,
    tag_authority: str,
) -> Release:
    """Adds a release; its guid is a tag URI (RFC 4151) fixed forever at creation."""
    published_at = fields.published_at or now
    release = Release(
        publisher=publisher,
        publisher_id=publisher.id,
        external_id=fields.external_id,
        content_hash=fields.content_hash,
        created_at=now,
        updated_at=now,
        revision=1,
        published_at=published_at,
        title=fields.title,
        # Fixed here for good: a corrected title keeps the release's link.
        slug=release_slug(fields.title),
        body_html=fields.body_html,
        body_text=html_text(fields.body_html),
        summary=fields.summary or summary_from_html(fields.body_html),
        summary_derived=not fields.summary,
        author=fields.author or publisher.name,
        language=fields.language,
        correction_note=fields.correction_note,
        urgency=fields.urgency,
        source_url=fields.source_url,
        # Unique placeholder until the id is known; replaced before commit.
        guid=f"pending:{publisher.id}:{fields.content_hash}:{now.timestamp()}",
    )
    _set_contact(release, fields.contact)
    _set_city_and_topics(release, refs)
    _set_images(session, release, fields.images)
    _set_attachments(session, release, fields.attachments)
    session.add(release)
    session.flush()
    release.guid = f"tag:{tag_authority},{now:%Y-%m-%d}:release:{release.id}"
    touched = keys.release_keys(release)
    changes.bump(
        session,
        touched,
        now,
        embargo_until=release.published_at,
        counted=dict.fromkeys(touched, 1),
        event="published",
        release_id=release.id,
        deliver_at=release.published_at,  # nobody hears of an embargoed release before its instant
        hidden=not was_public(release, now),
    )
    session.flush()
    return release


def update_release(
    session: Session,
    release: Release,
    update: ReleaseUpdate,
    refs: References,
    now: datetime,
    *,
    major: bool = True,
) -> Release:
    """Applies the fields of `update` that are not UNCHANGED as a new revision, keeping the
    version it replaces (`revisions`). A major change moves `updated_at` (readers and
    subscribers are told); a minor one (a typo) does not: pages and feeds quietly carry the
    fix, and its outbox entry says so, so that no alert goes out for it."""
    revisions.keep(
        session,
        release,
        now,
        major=major,
        change_note=update.correction_note if isinstance(update.correction_note, str) else None,
    )
    keys_before = keys.release_keys(release)
    was_visible = is_visible(release, now)
    public_before = was_public(release, now)
    if update.title is not UNCHANGED:
        release.title = update.title
    if update.body_html is not UNCHANGED:
        release.body_html = update.body_html
        release.body_text = html_text(update.body_html)
        if update.summary is UNCHANGED and release.summary_derived:
            release.summary = summary_from_html(update.body_html)
    if update.summary is not UNCHANGED:
        release.summary = update.summary or summary_from_html(release.body_html)
        release.summary_derived = not update.summary
    if update.published_at is not UNCHANGED:
        release.published_at = update.published_at
    if update.author is not UNCHANGED:
        release.author = update.author or release.publisher.name
    if update.language is not UNCHANGED:
        release.language = update.language
    if update.correction_note is not UNCHANGED:
        release.correction_note = update.correction_note
    if update.urgency is not UNCHANGED:
        release.urgency = update.urgency
    if update.images is not UNCHANGED:
        _set_images(session, release, update.images)
    if update.attachments is not UNCHANGED:
        _set_attachments(session, release, update.attachments)
    if update.source_url is not UNCHANGED:
        release.source_url = update.source_url
    if update.contact is not UNCHANGED:
        _set_contact(release, update.contact)
    if update.content_hash is not UNCHANGED:
        release.content_hash = update.content_hash
    _set_city_and_topics(release, refs)
    if major:
        release.updated_at = max(now, release.updated_at)
    release.revision += 1
    keys_after = keys.release_keys(release)
    # A release moved to another city or topics leaves the old subjects' counts.
    counted = dict.fromkeys(keys_before - keys_after, -1) | dict.fromkeys(keys_after - keys_before, 1)
    if release.retracted_at is not None:
        counted = {}  # a retracted release is counted nowhere
    changes.bump(
        session,
        keys_before | keys_after,
        now,
        embargo_until=release.published_at,
        counted=counted,
        event="corrected" if major else "corrected_minor",
        release_id=release.id,
        # What readers saw changes now; a release nobody saw yet is delivered at its instant.
        deliver_at=now if was_visible else release.published_at,
        hidden=not (public_before or was_public(release, now)),
    )
    session.flush()
    return release


def retract_release(session: Session, release: Release, now: datetime, reason: str | None = None) -> Release:
    """Marks a release retracted, for `reason` if one is given. The row stays, for the record
    and for tombstones."""
    held = release.retracted_at is None
    was_visible = is_visible(release, now)
    hidden = not was_public(release, now)
    release.retracted_at = now
    release.retraction_reason = reason
    release.updated_at = max(now, release.updated_at)
    release.revision += 1
    touched = keys.release_keys(release)
    if hidden:
        # Nobody but journalists knew of it, and nobody is to: what waited for its instant goes.
        outbox.withdraw(session, release.id, changes.micros(now))
    changes.bump(
        session,
        touched,
        now,
        counted=dict.fromkeys(touched, -1 if held else 0),
        event=None if hidden else "retracted",
        release_id=release.id,
        deliver_at=now if was_visible else release.published_at,
        hidden=hidden,
    )
    session.flush()
    return release


def recently_retracted(session: Session, scope: Holding, since: datetime) -> list[Release]:
    """Releases of a scope retracted after `since` that had been public (for RFC 6721)."""
    query = select(Release).where(
        Release.retracted_at.is_not(None),
        Release.retracted_at > since,
        Release.published_at <= Release.retracted_at,
    )
    if isinstance(scope, Subscription):
        query = query.where(subscriptions.holds(session, scope))
        return list(
            session.scalars(query.order_by(Release.retracted_at.desc(), Release.id.desc()).limit(200))
        )
    if scope.topic_id is not None:
        topic_filter = [ReleaseTopic.release_id == Release.id, ReleaseTopic.topic_id == scope.topic_id]
        query = query.where(select(ReleaseTopic).where(and_(*topic_filter)).exists())
    if scope.city_id is not None:
        query = query.where(Release.city_id == scope.city_id)
    if scope.region_id is not None:
        query = query.where(region_tree.within(session, Release.region_id, scope.region_id))
    return list(session.scalars(query.order_by(Release.retracted_at.desc(), Release.id.desc()).limit(200)))


def _set_contact(release: Release, contact: ContactFields | None) -> None:
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


def _uploaded(session: Session, url: str) -> Media | None:
    """The upload a site path of feedsvc's media names (its caller checked that it exists)."""
    found = parse_media_path(url)
    return media_by_key(session, found.key) if found is not None else None


def _set_images(session: Session, release: Release, images: Sequence[ImageFields]) -> None:
    release.images = [
        ReleaseImage(
            position=position,
            url=image.url,
            caption=image.caption,
            credit=image.credit,
            usage_terms=image.usage_terms,
            media_type=image.media_type,
            length=image.length,
            width=image.width,
            height=image.height,
            media=_uploaded(session, image.url),
        )
        for position, image in enumerate(images)
    ]


def _set_attachments(session: Session, release: Release, attachments: Sequence[AttachmentFields]) -> None:
    release.attachments = [
        ReleaseAttachment(
            position=position,
            url=attachment.url,
            title=attachment.title,
            media_type=attachment.media_type,
            length=attachment.length,
            media=_uploaded(session, attachment.url),
        )
        for position, attachment in enumerate(attachments)
    ]
