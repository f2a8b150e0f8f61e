"""The outbox: every change to deliver, and where each delivery target stands in it.

Writers add an entry in the transaction of their change (`record`, called by
`changes.bump` and `changes.lift_embargo`); retracting a release nobody could see
yet takes back what waited for its instant (`withdraw`). The delivery worker then, cycle by
cycle:

1. gives every entry that is due a place in the delivery order (`stamp_due`): the
   next numbers of one sequence, handed out by one transaction at a time, so that
   a target reading `seq > position` in order can never pass an entry that a
   slower transaction commits later (ids alone could: on PostgreSQL they are taken
   before the commit, and commits may come in another order);
2. per target, takes the entries after its position (`claim`, `entries_after`) and
   moves the position on after delivering them (`delivered`), or counts the
   failure and backs off (`failed`);
3. deletes what every configured target has passed (`prune_delivered`).

`backlog` is what /healthz and /metrics report: per target, how many deliverable
entries it has not taken and how long the oldest of them has been due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from feedsvc.models import DeliveryTarget, OutboxEntry

PURGE_TARGET = "purge"
WEBSUB_PREFIX = "websub:"
# The fan-out of changes to newsrooms' webhook endpoints (`worker.webhooks`): a target once
# the first endpoint was registered (`store.webhooks.add_endpoint`), not by configuration.
WEBHOOKS_TARGET = "webhooks"
RELEASE_KEY_PREFIX = "release:"
# Serialises the transactions that hand out places in the delivery order (PostgreSQL).
_STAMP_LOCK = 0x66656564_6F627878  # "feedobxx"


def websub_target(hub_url: str) -> str:
    return f"{WEBSUB_PREFIX}{hub_url}"


def target_names(cache_urls: Sequence[str], hubs: Sequence[str]) -> list[str]:
    """The targets a configuration has, in delivery order: the caches first, then each hub."""
    return ([PURGE_TARGET] if cache_urls else []) + [websub_target(hub) for hub in hubs]


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: str
    release_id: int | None
    keys: tuple[str, ...]
    due_us: int

    @property
    def purge_keys(self) -> tuple[str, ...]:
        """The cache keys this change invalidates: its subjects, and its release's own pages."""
        if self.release_id is None:
            return self.keys
        return (*self.keys, f"{RELEASE_KEY_PREFIX}{self.release_id}")


@dataclass(frozen=True)
class Position:
    """A target's row as a worker claimed it."""

    name: str
    delivered_seq: int
    attempts: int


@dataclass(frozen=True)
class Backlog:
    name: str
    pending: int  # deliverable entries not taken yet
    oldest_due_us: int | None  # since when the oldest of them has been due
    attempts: int
    next_attempt_us: int
    last_error: str
    delivered_total: int
    failures_total: int
    retries_total: int

    def lag_seconds(self, now_us: int) -> float:
        if self.oldest_due_us is None:
            return 0.0
        return max(0, now_us - self.oldest_due_us) / 1_000_000


# --- writers --------------------------------------------------------------------------------------


def record(
    session: Session,
    kind: str,
    keys: Iterable[str],
    *,
    created_us: int,
    due_us: int,
    release_id: int | None = None,
) -> None:
    """Adds a change to deliver once `due_us` has come. A release still under embargo takes
    its earlier, undelivered entries along to the same instant (its embargo moved)."""
    if release_id is not None and due_us > created_us:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.release_id == release_id, OutboxEntry.seq.is_(None))
            .values(due_us=due_us)
        )
    session.add(
        OutboxEntry(
            kind=kind,
            release_id=release_id,
            subject_keys=" ".join(sorted(set(keys))),
            created_us=created_us,
            due_us=due_us,
            seq=None,
        )
    )


def withdraw(session: Session, release_id: int, now_us: int) -> None:
    """A release nobody could see yet was retracted: the changes of it that wait for its
    embargo instant are dropped, so that instant passes without a purge or a ping (they
    would tell caches' and hubs' observers that something had been scheduled). What was
    due already (a public change not ordered yet) stays."""
    session.execute(
        delete(OutboxEntry).where(
            OutboxEntry.release_id == release_id, OutboxEntry.seq.is_(None), OutboxEntry.due_us > now_us
        )
    )


def prune_older_than(session: Session, horizon_us: int) -> None:
    """Entries due before the horizon go, delivered or not: the log stays bounded without a worker."""
    session.execute(delete(OutboxEntry).where(OutboxEntry.due_us < horizon_us))


# --- the delivery order ------------------------------------------------------------------------------


def has_due(session: Session, now_us: int) -> bool:
    """Whether an entry is due that has no place in the delivery order yet (a cheap read)."""
    query = select(OutboxEntry.id).where(OutboxEntry.seq.is_(None), OutboxEntry.due_us <= now_us)
    return session.scalar(query.limit(1)) is not None


def next_due_us(session: Session, now_us: int) -> int | None:
    """The earliest instant after `now_us` at which an entry becomes due (an embargo)."""
    value: int | None = session.scalar(
        select(func.min(OutboxEntry.due_us)).where(OutboxEntry.seq.is_(None), OutboxEntry.due_us > now_us)
    )
    return value


def latest_seq(session: Session) -> int:
    """The highest place handed out so far. Targets' positions count too: the entries they
    passed may all be pruned, and numbers must never be handed out twice."""
    in_log = session.scalar(select(func.max(OutboxEntry.seq))) or 0
    passed = session.scalar(select(func.max(DeliveryTarget.delivered_seq))) or 0
    return max(in_log, passed)


def stamp_due(session: Session, now_us: int, limit: int = 1000) -> int:
    """Gives the due entries the next places in the delivery order, oldest due first.

    The caller holds a writing transaction (`db.begin_writing`) and commits it. On
    SQLite that is the one write lock; on PostgreSQL a transaction-scoped advisory
    lock makes every other stamping transaction wait until this one committed, so
    places are handed out in commit order and a reader never sees a gap.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STAMP_LOCK})
    due = session.scalars(
        select(OutboxEntry.id)
        .where(OutboxEntry.seq.is_(None), OutboxEntry.due_us <= now_us)
        .order_by(OutboxEntry.due_us, OutboxEntry.id)
        .limit(limit)
    ).all()
    if not due:
        return 0
    base = latest_seq(session)
    session.execute(
        update(OutboxEntry), [{"id": entry_id, "seq": base + n} for n, entry_id in enumerate(due, 1)]
    )
    return len(due)


def entries_after(session: Session, position: int, limit: int, until: int | None = None) -> list[Entry]:
    """The entries after a position, in delivery order; `until` (inclusive) holds a target back."""
    query = select(
        OutboxEntry.seq,
        OutboxEntry.kind,
        OutboxEntry.release_id,
        OutboxEntry.subject_keys,
        OutboxEntry.due_us,
    ).where(OutboxEntry.seq > position)
    if until is not None:
        query = query.where(OutboxEntry.seq <= until)
    rows = session.execute(query.order_by(OutboxEntry.seq).limit(limit)).all()
    return [
        Entry(seq=row.seq, kind=row.kind, release_id=row.release_id, keys=tuple(row.subject_keys.split()),
              due_us=row.due_us)
        for row in rows
    ]  # fmt: skip


# --- targets -----------------------------------------------------------------------------------------


def add_target(session: Session, name: str) -> None:
    """Creates a target at the end of the log: a target added to the configuration hears of
    changes from now on. Several workers may try at once; the first one wins."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(DeliveryTarget)
        .values(name=name, delivered_seq=latest_seq(session))
        .on_conflict_do_nothing(index_elements=[DeliveryTarget.name])
    )


def position_of(session: Session, name: str) -> int | None:
    seq: int | None = session.scalar(select(DeliveryTarget.delivered_seq).where(DeliveryTarget.name == name))
    return seq


def claim(session: Session, name: str, now_us: int) -> Position | None:
    """The target's position, if its backoff has passed and no other worker works it.

    On PostgreSQL the row stays locked (`FOR UPDATE SKIP LOCKED`) until the caller's
    transaction ends, and a worker that finds it locked gets None at once: two workers
    never deliver to one target together. SQLite has no row locks; there the worker
    holds a lock file of the database instead (`worker.delivery`).
    """
    row = session.execute(
        select(DeliveryTarget.name, DeliveryTarget.delivered_seq, DeliveryTarget.attempts)
        .where(DeliveryTarget.name == name, DeliveryTarget.next_attempt_us <= now_us)
        .with_for_update(skip_locked=True)
    ).first()
    return None if row is None else Position(row.name, row.delivered_seq, row.attempts)


def delivered(session: Session, claimed: Position, through: int, count: int, now_us: int) -> bool:
    """Moves the target's position on to `through`; False if it is no longer where it was claimed."""
    result = session.execute(
        update(DeliveryTarget)
        .where(DeliveryTarget.name == claimed.name, DeliveryTarget.delivered_seq == claimed.delivered_seq)
        .values(
            delivered_seq=through,
            attempts=0,
            next_attempt_us=0,
            last_error="",
            last_delivered_us=now_us,
            delivered_total=DeliveryTarget.delivered_total + count,
            retries_total=DeliveryTarget.retries_total + (1 if claimed.attempts else 0),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def failed(session: Session, claimed: Position, error: str, retry_at_us: int) -> None:
    """Counts a failed attempt; the position stays, so the same entries are tried again then."""
    session.execute(
        update(DeliveryTarget)
        .where(DeliveryTarget.name == claimed.name)
        .values(
            attempts=DeliveryTarget.attempts + 1,
            next_attempt_us=retry_at_us,
            last_error=error[:1000],
            failures_total=DeliveryTarget.failures_total + 1,
            retries_total=DeliveryTarget.retries_total + (1 if claimed.attempts else 0),
        )
    )


def next_attempt_us(session: Session, names: Sequence[str], now_us: int) -> int | None:
    """The earliest instant after `now_us` at which a target backing off is due again."""
    value: int | None = session.scalar(
        select(func.min(DeliveryTarget.next_attempt_us)).where(
            DeliveryTarget.name.in_(names), DeliveryTarget.next_attempt_us > now_us
        )
    )
    return value


def prune_delivered(session: Session, names: Sequence[str]) -> int:
    """Deletes the entries every one of these targets has taken; the caller writes and commits.
    Targets that are no longer configured do not hold the log back."""
    if names:
        positions = session.scalars(
            select(DeliveryTarget.delivered_seq).where(DeliveryTarget.name.in_(names))
        ).all()
        if len(positions) < len(set(names)):
            return 0  # a target not created yet starts at the end: nothing to lose, but wait for it
        through = min(positions)
    else:
        through = latest_seq(session)
    result = session.execute(delete(OutboxEntry).where(OutboxEntry.seq <= through))
    return int(result.rowcount)  # type: ignore[attr-defined]


def prunable(session: Session, names: Sequence[str]) -> bool:
    """Whether `prune_delivered` would delete anything (a read, before taking a write lock)."""
    oldest = session.scalar(select(func.min(OutboxEntry.seq)))
    if oldest is None:
        return False
    if not names:
        return True
    positions = session.scalars(
        select(DeliveryTarget.delivered_seq).where(DeliveryTarget.name.in_(names))
    ).all()
    return len(positions) == len(set(names)) and min(positions) >= oldest


# --- what health checks report ------------------------------------------------------------------------


def backlog(session: Session, names: Sequence[str], now_us: int) -> list[Backlog]:
    """Per target, the deliverable entries it has not taken and how long the oldest has been due.

    Entries due but not yet in the delivery order count for every target (a worker that
    is not running never orders them). A target the worker has not created yet starts at
    the end of the log, so only those count for it.
    """
    unordered = session.execute(
        select(func.count(), func.min(OutboxEntry.due_us)).where(
            OutboxEntry.seq.is_(None), OutboxEntry.due_us <= now_us
        )
    ).one()
    rows = {
        row.name: row
        for row in session.scalars(select(DeliveryTarget).where(DeliveryTarget.name.in_(names))).all()
    }
    end = latest_seq(session)
    found: list[Backlog] = []
    for name in names:
        row = rows.get(name)
        position = row.delivered_seq if row is not None else end
        ordered = session.execute(
            select(func.count(), func.min(OutboxEntry.due_us)).where(OutboxEntry.seq > position)
        ).one()
        oldest = [value for value in (unordered[1], ordered[1]) if value is not None]
        found.append(
            Backlog(
                name=name,
                pending=int(unordered[0]) + int(ordered[0]),
                oldest_due_us=min(oldest) if oldest else None,
                attempts=row.attempts if row else 0,
                next_attempt_us=row.next_attempt_us if row else 0,
                last_error=row.last_error if row else "",
                delivered_total=row.delivered_total if row else 0,
                failures_total=row.failures_total if row else 0,
                retries_total=row.retries_total if row else 0,
            )
        )
    return found
