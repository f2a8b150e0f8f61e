"""The delivery worker: works the outbox off, in order, target by target.

Every change is in the outbox (`store.outbox`), written in the transaction of the
change itself. Its targets, in the order a change reaches them:

1. `purge`: the caches in front (`FEEDSVC_CACHE_PURGE_URLS`, `worker.purge`), told
   the changed subject keys and, for a release's change, `release:<id>`; one request
   per cache for a whole batch of changes (a cache that purges by path, nginx, is
   then told every feed path of the changed subjects);
2. `websub:<hub>`: each WebSub hub (`FEEDSVC_HUB_URLS`, `worker.websub`), told every
   feed URL of the changed subjects. A hub never passes the purge position, so a hub
   that fetches a feed at once never gets the copy a cache still held;
3. `webhooks`, once a newsroom registered an endpoint: the fan-out of each release's
   change into signed deliveries per endpoint (`worker.webhooks`), behind the purge too;
   a thread of their own sends those;
4. `mail`, with FEEDSVC_SMTP_* set: the fan-out of each release's change into queued
   e-mail alerts per subscriber (`worker.mail`), behind the purge too; the worker's mail
   thread sends them.

One cycle (`run_cycle`): lift the embargoes that ran out, give the entries that are
due their place in the delivery order, then per target: claim it, take a batch after
its position, deliver it and record the new position, or record the failure and back
off (1 s, 2 s, 4 s, … up to 15 minutes). `run` repeats cycles until told to stop and
sleeps in between until the next embargo lift, the next retry or the next look at the
outbox, whichever comes first.

What it promises:

- **In order, per target**: a target's position moves only forward, over batches
  delivered whole; a failed batch is tried again whole, and nothing after it first.
- **One worker per target at a time**: on PostgreSQL a worker claims a target's row
  with `SELECT … FOR UPDATE SKIP LOCKED` and holds it until it has recorded the new
  position; another worker skips that target meanwhile and takes the others. On
  SQLite (one machine) a worker holds the database's lock file (`<database>-delivery.lock`)
  for its cycle; a second worker waits for the next one. Both locks go with the
  process: a killed worker blocks nobody.
- **Exactly once while targets and database answer; at least once otherwise.** A batch
  that failed halfway, or whose new position could not be recorded (a crash, or the
  database gone between delivering and committing), is delivered again. Purges and
  WebSub pings are idempotent: a repeat costs a request, nothing else.
- **Never early**: an entry is ordered only once due, and the change to a release
  under embargo is due at its embargo instant (`store.changes.bump`).
- **Outages end nothing**: SQLite lock contention and an unreachable database are
  waited out with backoff and the worker picks up where its positions say.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.store import changes, outbox
from feedsvc.store.changes import from_micros, micros
from feedsvc.store.webhooks import target_names as webhook_targets
from feedsvc.worker import mail as mailing
from feedsvc.worker import purge as purging
from feedsvc.worker import webhooks, websub
from feedsvc.worker.backoff import outage_wait

log = logging.getLogger(__name__)

BATCH = 100
# Batches per target and cycle, so that a long backlog does not hold lifts and other targets up.
MAX_BATCHES = 20
MAX_BACKOFF_US = 15 * 60 * 1_000_000
# (cache URLs, subject keys, feed paths of those subjects): `worker.purge.purge`.
Purge = Callable[[Sequence[str], Sequence[str], Sequence[str]], None]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    hubs: tuple[str, ...] = ()
    cache_urls: tuple[str, ...] = ()
    batch: int = BATCH
    # E-mail alerts (FEEDSVC_SMTP_* set): the `mail` target queues their mails (`worker.mail`).
    mail: bool = False

    @property
    def targets(self) -> list[str]:
        return outbox.target_names(self.cache_urls, self.hubs)

    @property
    def mail_targets(self) -> list[str]:
        return [mailing.TARGET] if self.mail else []


@dataclass(frozen=True)
class Channels:
    """How targets are reached; tests hand in their own."""

    purge: Purge = purging.purge
    post: websub.Post = websub.post_form


@dataclass
class CycleReport:
    lifted: list[str] = field(default_factory=list)
    ordered: int = 0
    # Per target: how many outbox entries it took, and what it was told (keys or feed URLs).
    delivered: dict[str, int] = field(default_factory=dict)
    sent: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # Another worker held the database's delivery lock (SQLite): this cycle did nothing.
    busy: bool = False
    # What the fan-out to webhook endpoints did (`worker.webhooks.fan_out`).
    webhooks: webhooks.FanOut = field(default_factory=webhooks.FanOut)
    # Outbox entries the fan-out of e-mail alerts took (`worker.mail.fan_out`).
    mailed: int = 0


def run_cycle(
    session: Session, settings: Settings, now_us: int, channels: Channels | None = None
) -> CycleReport:
    """One pass: lift embargoes that ran out, order what is due, deliver to every due target."""
    channels = channels or Channels()
    report = CycleReport()
    with _exclusive(session) as ours:
        if not ours:
            report.busy = True
            return report
        # A new target starts at the end of the delivery order: before what is ordered next.
        _add_targets(session, settings.targets + settings.mail_targets)
        report.lifted = _lift(session, now_us)
        report.ordered = _order(session, now_us)
        for name in settings.targets:
            _deliver(session, name, settings, channels, now_us, report)
        report.webhooks = webhooks.fan_out(
            session, settings.base_url, now_us, behind_purge=bool(settings.cache_urls)
        )
        if settings.mail:
            report.mailed = mailing.fan_out(
                session, now_us, behind_purge=bool(settings.cache_urls), batch=settings.batch
            )
        _prune(session, settings.targets + settings.mail_targets + webhook_targets(session))
    return report


def next_wake_us(session: Session, settings: Settings, now_us: int) -> int | None:
    """The next instant something becomes due: an embargo lift, an entry, a target's retry."""
    names = settings.targets + webhook_targets(session)
    candidates = [
        changes.next_lift_us(session),
        outbox.next_due_us(session, now_us),
        outbox.next_attempt_us(session, names, now_us) if names else None,
    ]
    found = [value for value in candidates if value is not None]
    return max(now_us, min(found)) if found else None


def run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    *,
    interval: float,
    stop: threading.Event,
    on_cycle: Callable[[CycleReport], None] | None = None,
    channels: Channels | None = None,
) -> None:
    """Runs cycles until `stop` is set. Database errors that mean "not now" (`db.is_outage`:
    an unreachable server, SQLite's lock) are waited out and retried; anything else is a
    bug and ends the worker, which `feedsvc serve` then starts again."""
    sessions = db.make_sessionmaker(engine)
    dialect = engine.dialect.name
    outages = 0
    while not stop.is_set():
        wait = interval
        session = sessions()
        try:
            now_us = micros(clock())
            report = run_cycle(session, settings, now_us, channels)
            wake_us = next_wake_us(session, settings, now_us)
            session.rollback()
        except SQLAlchemyError as error:
            if not db.is_outage(error, dialect):
                raise
            outages += 1
            wait = outage_wait(outages)
            log.warning("database unavailable (%s); trying again in %.2f s", _summary(error), wait)
        else:
            if outages:
                log.warning("database available again after %d failed attempts", outages)
                outages = 0
            if on_cycle is not None:
                on_cycle(report)
            if wake_us is not None:
                # A hair after the instant: never before it.
                wait = min(wait, max(0.0, (wake_us - micros(clock())) / 1_000_000) + 0.001)
        finally:
            _close(session)
        stop.wait(wait)


# --- one cycle's steps -----------------------------------------------------------------------------


def _add_targets(session: Session, names: Sequence[str]) -> None:
    missing = [name for name in names if outbox.position_of(session, name) is None]
    session.rollback()
    if missing:
        db.begin_writing(session)
        for name in missing:
            outbox.add_target(session, name)
        session.commit()


def _lift(session: Session, now_us: int) -> list[str]:
    upcoming = changes.next_lift_us(session)
    session.rollback()
    if upcoming is None or upcoming > now_us:
        return []
    db.begin_writing(session)
    lifted = changes.lift_due_embargoes(session, from_micros(now_us))
    session.commit()
    return lifted


def _order(session: Session, now_us: int) -> int:
    ordered = 0
    while outbox.has_due(session, now_us):
        db.begin_writing(session)
        added = outbox.stamp_due(session, now_us)
        session.commit()
        ordered += added
        if not added:
            break
    session.rollback()
    return ordered


def _deliver(
    session: Session, name: str, settings: Settings, channels: Channels, now_us: int, report: CycleReport
) -> None:
    """Delivers batch after batch to one target until it is caught up, fails or is busy."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    # Hubs wait for the caches: a ping must not send a hub to a copy that is still cached.
    held_back = name != outbox.PURGE_TARGET and bool(settings.cache_urls)
    for _ in range(MAX_BATCHES):
        session.rollback()  # a transaction of its own: on PostgreSQL it holds the claim
        until = (outbox.position_of(session, outbox.PURGE_TARGET) or 0) if held_back else None
        position = outbox.position_of(session, name)
        if position is None or not outbox.entries_after(session, position, 1, until):
            break  # caught up: no claim (on PostgreSQL a row lock) for nothing
        claimed = outbox.claim(session, name, now_us)
        if claimed is None:  # backing off, or another worker has it
            break
        entries = outbox.entries_after(session, claimed.delivered_seq, settings.batch, until)
        if not entries:
            break
        error: Exception | None = None
        try:
            told, send = _prepare(session, name, entries, settings, channels)
            if sqlite:
                session.rollback()  # no snapshot kept open while the network is slow
            send()
        except (OSError, ValueError) as failure:
            error = failure
        if sqlite:
            db.begin_writing(session)
        if error is not None:
            backoff = min(MAX_BACKOFF_US, 1_000_000 * 2 ** min(claimed.attempts, 20))
            outbox.failed(session, claimed, str(error), now_us + backoff)
            session.commit()
            report.failed[name] = str(error)
            log.warning("%s failed (%s); next try in %d s", name, error, backoff // 1_000_000)
            break
        if not outbox.delivered(session, claimed, entries[-1].seq, len(entries), now_us):
            log.warning("%s was moved on by another worker meanwhile", name)
        session.commit()
        report.delivered[name] = report.delivered.get(name, 0) + len(entries)
        report.sent.setdefault(name, []).extend(told)
        if len(entries) < settings.batch:
            break
    session.rollback()


def _prepare(
    session: Session, name: str, entries: list[outbox.Entry], settings: Settings, channels: Channels
) -> tuple[list[str], Callable[[], None]]:
    """What a target is told of these entries, and how: read before any network I/O."""
    if name == outbox.PURGE_TARGET:
        keys = list(dict.fromkeys(key for entry in entries for key in entry.purge_keys))
        paths = feed_paths(session, [key for entry in entries for key in entry.keys])
        return keys, lambda: channels.purge(settings.cache_urls, keys, paths)
    hub = name.removeprefix(outbox.WEBSUB_PREFIX)
    if not settings.base_url:
        raise ValueError("FEEDSVC_BASE_URL is not set: hubs must be told absolute feed URLs")
    urls = websub.feed_urls(session, [key for entry in entries for key in entry.keys], settings.base_url)
    return urls, lambda: websub.ping(hub, urls, channels.post)


def feed_paths(session: Session, subject_keys: Sequence[str]) -> list[str]:
    """The feeds of these subjects as paths, for the caches that purge by path (nginx):
    exactly the feeds a hub hears of."""
    return websub.feed_urls(session, subject_keys, "")


def _prune(session: Session, names: Sequence[str]) -> None:
    if outbox.prunable(session, names):
        db.begin_writing(session)
        outbox.prune_delivered(session, names)
        session.commit()
    session.rollback()


@contextmanager
def _exclusive(session: Session) -> Iterator[bool]:
    """SQLite: the database's delivery lock file, held for the cycle (False: another worker has
    it). An OS file lock goes with its process, so a killed worker never blocks the next."""
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield True
        return
    with open(f"{url.database}-delivery.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _close(session: Session) -> None:
    try:
        session.close()
    except SQLAlchemyError as error:  # a connection the outage took: the pool replaces it
        log.debug("closing the session failed: %s", error)


def _summary(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(error).__name__
