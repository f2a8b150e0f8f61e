"""Reads for people browsing releases: what else to read, the releases a press
office may manage (its own, embargoed and retracted ones too), and what search
engines are told of (the sitemaps).

Like the rest of the store: the session and `now` come from the caller, nothing
commits here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, case, func, select, tuple_
from sqlalchemy.orm import Session

from feedsvc.models import Release, ReleaseTopic
from feedsvc.store.releases import newer_visible_ids, newest_visible_ids, public_by, releases_by_ids
from feedsvc.store.scope import Cursor, Scope

# How many neighbours each related-release walk takes on either side of the release.
RELATED_NEIGHBOURS = 8


def related_visible(session: Session, release: Release, now: datetime, limit: int = 4) -> list[Release]:
    """Visible releases sharing topics or the city with `release`, most in common first,
    then those nearest to it in time.

    The candidates are the release's neighbours in time, just before and just after
    it, on the indexes the feeds walk: each of its topics (`release_topics(topic_id,
    published_at, release_id)`), each of its topics in its city (`release_topics(city_id,
    topic_id, …)`) and its city (`releases(city_id, published_at, id)`). That is at most
    2 × (2 × topics + 1) walks of `RELATED_NEIGHBOURS` rows, however large the archive,
    and a release from years ago finds its own neighbours across the whole archive, not
    the newest releases of its city. Each candidate is then scored exactly, one point per
    shared topic and one for the same city, in one read of the candidates' topic links.
    """
    here = Cursor(release.published_at, release.id)
    topic_ids = [link.topic_id for link in release.topic_links]
    scopes = [Scope(topic_id=topic_id) for topic_id in topic_ids]
    scopes += [Scope(city_id=release.city_id, topic_id=topic_id) for topic_id in topic_ids]
    scopes.append(Scope(city_id=release.city_id))
    candidates: set[int] = set()
    for scope in scopes:
        candidates.update(newest_visible_ids(session, scope, now, RELATED_NEIGHBOURS, after=here))
        if release.published_at < now:
            candidates.update(newer_visible_ids(session, scope, now, RELATED_NEIGHBOURS, before=here))
    candidates.discard(release.id)
    if not candidates:
        return []
    shared: dict[int, int] = {}
    if topic_ids:
        links = (
            select(ReleaseTopic.release_id, func.count())
            .where(ReleaseTopic.release_id.in_(candidates), ReleaseTopic.topic_id.in_(topic_ids))
            .group_by(ReleaseTopic.release_id)
        )
        shared = {release_id: int(count) for release_id, count in session.execute(links)}
    query = select(Release.id, Release.city_id, Release.published_at).where(Release.id.in_(candidates))
    rows = session.execute(query).all()

    def rank(row: tuple[int, int, datetime]) -> tuple[int, float, int]:
        other_id, city_id, published_at = row
        score = shared.get(other_id, 0) + (city_id == release.city_id)
        distance = abs((published_at - release.published_at).total_seconds())
        return (-score, distance, -other_id)

    ranked = sorted(rows, key=rank)
    return releases_by_ids(session, [other_id for other_id, _, _ in ranked[:limit]])


@dataclass(frozen=True)
class ListedRelease:
    """What a sitemap says of a release page: where it is, and when it last changed."""

    id: int
    slug: str
    title: str
    language: str
    published_at: datetime
    updated_at: datetime

    @property
    def last_modified(self) -> datetime:
        # An embargoed release written before its instant changed, for readers, at the instant.
        return max(self.published_at, self.updated_at)


@dataclass(frozen=True)
class RangeState:
    """What a range of release ids shows now, in three numbers read without reading the
    rows' text: the sitemap of the range changes exactly when one of them does."""

    visible: int
    last_modified: datetime | None


def _listed(query_rows: Sequence[Row[int, str, str, str, datetime, datetime]]) -> list[ListedRelease]:
    return [ListedRelease(*row) for row in query_rows]


_LISTED_COLUMNS = (
    Release.id,
    Release.slug,
    Release.title,
    Release.language,
    Release.published_at,
    Release.updated_at,
)


def listed_query(now: datetime, first_id: int, end_id: int) -> Select[int, str, str, str, datetime, datetime]:
    """The visible releases with ids from `first_id` up to (not including) `end_id`, by id:
    one range of the primary key, whatever the size of the table."""
    return (
        select(*_LISTED_COLUMNS)
        .where(Release.id >= first_id, Release.id < end_id)
        .where(Release.published_at <= now, Release.retracted_at.is_(None))
        .order_by(Release.id)
    )


def listed_releases(session: Session, now: datetime, first_id: int, end_id: int) -> list[ListedRelease]:
    return _listed(session.execute(listed_query(now, first_id, end_id)).all())


def range_state(session: Session, now: datetime, first_id: int, end_id: int) -> RangeState:
    """How many releases of an id range are visible and the newest `last_modified` among them.

    Only what the sitemap shows counts: a release under embargo (or retracted before its
    instant) changes neither number, whatever is written to it, so the sitemap's ETag tells
    nobody of it. A release leaving the range's visible ones lowers the count; one joining
    it (published, lifted, corrected) raises the count or the newest change."""
    visible = (Release.published_at <= now) & Release.retracted_at.is_(None)
    modified = case(
        (Release.published_at > Release.updated_at, Release.published_at), else_=Release.updated_at
    )
    query = select(
        func.count(case((visible, 1), else_=None)),
        func.max(case((visible, modified), else_=None)),
    ).where(Release.id >= first_id, Release.id < end_id)
    count, last_modified = session.execute(query).one()
    return RangeState(int(count or 0), last_modified)


def last_release_id(session: Session, now: datetime) -> int:
    """The highest id of a release that was ever public by `now` (0: none), a walk back from
    the end of the primary key. Releases nobody could see yet do not count: a new sitemap
    part must not appear for them."""
    query = select(Release.id).where(public_by(now)).order_by(Release.id.desc()).limit(1)
    return int(session.scalar(query) or 0)


def newest_listed(session: Session, now: datetime, since: datetime, limit: int) -> list[ListedRelease]:
    """Visible releases published after `since`, newest first, at most `limit`: a walk of
    `releases(published_at, id)` from `now` back to `since`."""
    query = (
        select(*_LISTED_COLUMNS)
        .where(Release.published_at > since, Release.published_at <= now, Release.retracted_at.is_(None))
        .order_by(Release.published_at.desc(), Release.id.desc())
        .limit(limit)
    )
    return _listed(session.execute(query).all())


def releases_in_cities(
    session: Session, city_ids: Sequence[int] | None, limit: int, after: Cursor | None = None
) -> list[Release]:
    """Every release of these cities (None: of all), embargoed and retracted ones too, newest first.

    What a press office sees of its own releases: unlike the public reads, nothing is hidden.
    """
    query = select(Release).order_by(Release.published_at.desc(), Release.id.desc())
    if city_ids is not None:
        query = query.where(Release.city_id.in_(city_ids))
    if after is not None:
        query = query.where(
            tuple_(Release.published_at, Release.id) < tuple_(after.published_at, after.release_id)
        )
    return list(session.scalars(query.limit(limit)))
