"""Feeds pulled on a schedule (`feed_sources`): adding and removing them, and the claim,
lease and result of each pull (`worker.pulling`).

A worker claims one due source at a time (`claim_due`) in a short transaction of its
own: on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED`, as the outbox's targets are
claimed, so two workers claiming at once take different sources; on SQLite the write
lock serialises the claims. The claim sets a lease instead of holding a lock while the
feed is fetched, which can take seconds: another worker skips the source until the
lease runs out, and the result is recorded only while the lease is still the claimer's
(`record_success`, `record_failure`), so a worker that died, or was too slow, never
overwrites the pull of the one that took over.

The caller begins (`db.begin_writing`) and commits every write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from feedsvc.models import City, FeedSource


@dataclass(frozen=True)
class Claim:
    """A source as a worker claimed it: what a pull needs, read once."""

    id: int
    url: str
    city_slug: str
    publisher_name: str | None
    topic_map: str
    interval_seconds: int
    etag: str
    last_modified: str
    failures: int
    token: str


def add_source(
    session: Session,
    *,
    url: str,
    city: City,
    publisher_name: str | None,
    topic_map: str,
    interval_seconds: int,
    now_us: int,
) -> FeedSource | None:
    """A new source, due at once; None when the city has this feed already."""
    if source_by_url(session, url, city) is not None:
        return None
    source = FeedSource(
        url=url,
        city_id=city.id,
        publisher_name=publisher_name,
        topic_map=topic_map,
        interval_seconds=interval_seconds,
        created_us=now_us,
        next_pull_us=now_us,
    )
    session.add(source)
    session.flush()
    return source


def source_by_url(session: Session, url: str, city: City) -> FeedSource | None:
    return session.scalar(select(FeedSource).where(FeedSource.url == url, FeedSource.city_id == city.id))


def source_by_id(session: Session, source_id: int) -> FeedSource | None:
    return session.get(FeedSource, source_id)


def sources(session: Session) -> Sequence[FeedSource]:
    return session.scalars(select(FeedSource).order_by(FeedSource.id)).all()


def remove_source(session: Session, source_id: int) -> bool:
    """Removes a source; the releases its pulls imported stay."""
    result = session.execute(delete(FeedSource).where(FeedSource.id == source_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim_due(session: Session, now_us: int, lease_until_us: int, token: str) -> Claim | None:
    """The source due longest whose lease is free, now leased to `token` until `lease_until_us`."""
    row = session.execute(
        select(
            FeedSource.id,
            FeedSource.url,
            FeedSource.city_id,
            FeedSource.publisher_name,
            FeedSource.topic_map,
            FeedSource.interval_seconds,
            FeedSource.etag,
            FeedSource.last_modified,
            FeedSource.failures,
        )
        .where(FeedSource.next_pull_us <= now_us, FeedSource.lease_until_us <= now_us)
        .order_by(FeedSource.next_pull_us, FeedSource.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return None
    session.execute(
        update(FeedSource)
        .where(FeedSource.id == row.id)
        .values(lease_until_us=lease_until_us, lease_token=token, last_attempt_us=now_us)
    )
    city_slug = session.scalar(select(City.slug).where(City.id == row.city_id))
    assert city_slug is not None, "a source's city is its foreign key"
    return Claim(
        id=row.id,
        url=row.url,
        city_slug=city_slug,
        publisher_name=row.publisher_name,
        topic_map=row.topic_map,
        interval_seconds=row.interval_seconds,
        etag=row.etag,
        last_modified=row.last_modified,
        failures=row.failures,
        token=token,
    )


def record_success(
    session: Session,
    claim: Claim,
    *,
    result: str,
    etag: str,
    last_modified: str,
    now_us: int,
    next_pull_us: int,
) -> bool:
    """The pull worked: its validators and result kept, the failures forgotten, the lease
    given back. False (nothing written) when the lease is no longer the claimer's."""
    written = session.execute(
        update(FeedSource)
        .where(FeedSource.id == claim.id, FeedSource.lease_token == claim.token)
        .values(
            etag=etag[:1000],
            last_modified=last_modified[:100],
            failures=0,
            last_error="",
            last_success_us=now_us,
            last_result=result,
            next_pull_us=next_pull_us,
            lease_until_us=0,
            lease_token="",
        )
    )
    return bool(written.rowcount)  # type: ignore[attr-defined]


def record_failure(session: Session, claim: Claim, error: str, *, retry_at_us: int) -> bool:
    """The pull failed: one failure more, tried again at `retry_at_us`, the lease given back.
    The validators stay: the next pull may still get a 304 for what was imported."""
    written = session.execute(
        update(FeedSource)
        .where(FeedSource.id == claim.id, FeedSource.lease_token == claim.token)
        .values(
            failures=FeedSource.failures + 1,
            last_error=error[:1000],
            next_pull_us=retry_at_us,
            lease_until_us=0,
            lease_token="",
        )
    )
    return bool(written.rowcount)  # type: ignore[attr-defined]


def next_due_us(session: Session) -> int | None:
    """The earliest instant a source is due (its lease counts: a leased source waits for it)."""
    later = case(
        (FeedSource.lease_until_us > FeedSource.next_pull_us, FeedSource.lease_until_us),
        else_=FeedSource.next_pull_us,
    )
    value: int | None = session.scalar(select(func.min(later)))
    return value


def failing(session: Session) -> Sequence[FeedSource]:
    """The sources whose last pull failed, most failures first: what /healthz reports."""
    return session.scalars(
        select(FeedSource).where(FeedSource.failures > 0).order_by(FeedSource.failures.desc(), FeedSource.id)
    ).all()


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(FeedSource)) or 0
