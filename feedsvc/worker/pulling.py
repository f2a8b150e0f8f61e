"""Pulling feed sources on their schedule (`feedsvc feed-sources add`), beside delivery.

The delivery worker (`feedsvc worker`) runs `run` in a thread of its own, so a slow or
failing site never holds up the outbox: delivery keeps its own loop, sessions and
connections. Each round (`pull_due`) takes the due sources one at a time:

1. claim one (`store.feed_sources.claim_due`: a lease, taken with `FOR UPDATE SKIP
   LOCKED` on PostgreSQL), in a short transaction, so several workers pull different
   sources and never one together;
2. fetch it (`worker.fetch`) with no transaction open, conditionally: an unchanged feed
   answers 304, and that is all it costs;
3. read it (`publishing.feed_reading`) and import it (`publishing.feed_import`, the code
   `feedsvc import URL` runs) in one transaction with the source's new state; items that
   cannot be imported are recorded in the source's result and the others are kept, and
   the validators are kept only when every item was imported, so the next pull tries the
   failed ones again;
4. on a failure (the site, the network, no feed, broken XML), record the error and back
   off: after n failures in a row the next pull waits 2^n intervals, at most
   `MAX_BACKOFF_S` (or one interval, when that is longer).

A worker that dies mid-pull holds its source for one lease (`LEASE_S`); the result of
a pull whose lease ran out is not recorded (and its import rolled back): the worker that
took over records its own. Database outages are waited out as delivery waits them out.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.publishing.feed_import import FeedReport, TopicMapping, import_feed
from feedsvc.publishing.feed_reading import NotAFeed, read_feed
from feedsvc.publishing.importing import ImportFailed
from feedsvc.store import feed_sources
from feedsvc.store.changes import micros
from feedsvc.store.feed_sources import Claim
from feedsvc.worker import fetch as fetching
from feedsvc.worker.backoff import keep_going
from feedsvc.worker.delivery import Clock

log = logging.getLogger(__name__)

LEASE_S = 600
MAX_BACKOFF_S = 6 * 3600
# Seconds between looks for due sources when none is due sooner (a source just added).
LOOK_INTERVAL = 10.0
# Problem lines of failed items kept in a source's result.
MAX_PROBLEMS_KEPT = 20
Fetch = Callable[..., fetching.Fetched | fetching.NotModified]


@dataclass(frozen=True)
class Settings:
    tag_authority: str
    timeout: float = fetching.TIMEOUT
    max_bytes: int = fetching.MAX_BYTES


@dataclass(frozen=True)
class Pulled:
    """What one pull of one source did."""

    source_id: int
    url: str
    # "not modified", "imported" or "failed"
    outcome: str
    detail: str  # the import's summary, or the error
    retry_in_s: int = 0  # failed: when it is tried again


def retry_after_s(interval_s: int, failures: int) -> int:
    """The wait before the next pull after `failures` failed pulls in a row."""
    return int(min(interval_s * 2 ** min(failures, 20), max(interval_s, MAX_BACKOFF_S)))


def pull_due(
    session: Session,
    settings: Settings,
    clock: Clock,
    *,
    fetch: Fetch = fetching.fetch,
    stop: threading.Event | None = None,
) -> list[Pulled]:
    """Pulls every source that is due now, one after the other, until none is or `stop` is set."""
    pulled: list[Pulled] = []
    token = secrets.token_hex(16)
    while stop is None or not stop.is_set():
        now_us = micros(clock())
        db.begin_writing(session)
        claim = feed_sources.claim_due(session, now_us, now_us + LEASE_S * 1_000_000, token)
        session.commit()
        if claim is None:
            break
        try:
            pulled.append(_pull(session, claim, settings, clock, fetch))
        except Exception as error:
            session.rollback()
            if isinstance(error, SQLAlchemyError) and db.is_outage(error, session.get_bind().dialect.name):
                raise  # waited out by `run`; the lease lets a worker try again later
            # A bug, met on this source: it is recorded there (and logged), the others go on.
            log.exception("pulling feed source %d (%s) failed", claim.id, claim.url)
            error_text = f"internal error ({type(error).__name__}), see the worker's log"
            pulled.append(_failed(session, claim, clock, error_text))
    session.rollback()
    return pulled


def _pull(session: Session, claim: Claim, settings: Settings, clock: Clock, fetch: Fetch) -> Pulled:
    try:
        answer = fetch(
            claim.url,
            etag=claim.etag,
            last_modified=claim.last_modified,
            timeout=settings.timeout,
            max_bytes=settings.max_bytes,
        )
        if isinstance(answer, fetching.NotModified):
            return _succeeded(session, claim, clock, "not modified", claim.etag, claim.last_modified)
        feed = read_feed(answer.body, url=answer.url, content_type=answer.content_type)
        mapping = TopicMapping.from_json(claim.topic_map, "the source's topic mapping")
    except (fetching.FetchFailed, NotAFeed) as failure:
        return _failed(session, claim, clock, str(failure))
    except ImportFailed as failure:
        return _failed(session, claim, clock, "; ".join(failure.problems))
    now = clock()
    db.begin_writing(session)
    try:
        report = import_feed(
            session,
            feed,
            city=claim.city_slug,
            mapping=mapping,
            publisher=claim.publisher_name,
            now=now,
            tag_authority=settings.tag_authority,
            source=f"feed source {claim.id}",
        )
    except ImportFailed as failure:
        session.rollback()
        return _failed(session, claim, clock, "; ".join(failure.problems))
    result = _result_text(feed.format, report)
    # With items that failed, no validators: the next pull gets the whole feed and tries them again.
    etag, last_modified = ("", "") if report.failed else (answer.etag, answer.last_modified)
    return _succeeded(session, claim, clock, result, etag, last_modified, in_transaction=True)


def _result_text(format_name: str, report: FeedReport) -> str:
    lines = [f"{format_name}, {report.items} items: {report.summary()}"]
    if unmapped := report.unmapped_summary():
        lines.append(unmapped)
    lines.extend(report.problems[:MAX_PROBLEMS_KEPT])
    if len(report.problems) > MAX_PROBLEMS_KEPT:
        lines.append(f"… and {len(report.problems) - MAX_PROBLEMS_KEPT} more problems")
    return "\n".join(lines)


def _succeeded(
    session: Session,
    claim: Claim,
    clock: Clock,
    result: str,
    etag: str,
    last_modified: str,
    *,
    in_transaction: bool = False,
) -> Pulled:
    now_us = micros(clock())
    if not in_transaction:
        db.begin_writing(session)
    recorded = feed_sources.record_success(
        session,
        claim,
        result=result,
        etag=etag,
        last_modified=last_modified,
        now_us=now_us,
        next_pull_us=now_us + claim.interval_seconds * 1_000_000,
    )
    if not recorded:
        # The lease ran out and another worker took the source (or it was removed): its
        # pull counts, this one's import is undone.
        session.rollback()
        log.warning("feed source %d (%s): lease lost, result not recorded", claim.id, claim.url)
        return Pulled(claim.id, claim.url, "failed", "lease lost; another worker pulls it")
    session.commit()
    summary = result.splitlines()[0]
    log.info("feed source %d (%s): %s", claim.id, claim.url, summary)
    return Pulled(claim.id, claim.url, "not modified" if result == "not modified" else "imported", result)


def _failed(session: Session, claim: Claim, clock: Clock, error: str) -> Pulled:
    wait_s = retry_after_s(claim.interval_seconds, claim.failures + 1)
    now_us = micros(clock())
    db.begin_writing(session)
    feed_sources.record_failure(session, claim, error, retry_at_us=now_us + wait_s * 1_000_000)
    session.commit()
    log.warning("feed source %d (%s) failed (%s); next try in %d s", claim.id, claim.url, error, wait_s)
    return Pulled(claim.id, claim.url, "failed", error, retry_in_s=wait_s)


def run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    *,
    stop: threading.Event,
    look_interval: float = LOOK_INTERVAL,
    fetch: Fetch = fetching.fetch,
    on_round: Callable[[list[Pulled]], None] | None = None,
) -> None:
    """Pulls due sources until `stop` is set: the worker's pulling thread.

    Outages (`db.is_outage`) are waited out with backoff. Any other error is logged and
    the next round tried after `look_interval`: pulling stops nothing, least of all
    delivery, which runs beside it.
    """
    sessions = db.make_sessionmaker(engine)

    def one_round() -> int | None:
        session = sessions()
        try:
            pulled = pull_due(session, settings, clock, fetch=fetch, stop=stop)
            due_us = feed_sources.next_due_us(session)
            session.rollback()
        finally:
            _close(session)
        if on_round is not None and pulled:
            on_round(pulled)
        return due_us

    keep_going(
        "pulling feeds",
        one_round,
        clock,
        dialect=engine.dialect.name,
        stop=stop,
        look_interval=look_interval,
        log=log,
    )


def _close(session: Session) -> None:
    try:
        session.close()
    except SQLAlchemyError as error:  # a connection the outage took: the pool replaces it
        log.debug("closing the session failed: %s", error)
