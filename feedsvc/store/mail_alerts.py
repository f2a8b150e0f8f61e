"""E-mail alerts of subscriptions (docs/pages.md#subscribing-by-e-mail): sign-ups waiting for their
confirmation, confirmed subscribers, and every mail, queued and, once sent, kept as the
record of what went to whom.

- **Double opt-in.** `sign_up` stores a sign-up and queues its confirmation mail, the same
  whether the address has subscribed before or not; nothing else is ever sent to an
  address whose sign-up was not confirmed (`confirm`). Sign-ups expire; they are counted
  per address and per client (`refused_until`), whatever their outcome.
- **Fan-out.** The delivery worker's `mail` target (`worker.mail`) hands each batch of
  outbox entries to `queue_alerts`, in the transaction that moves its position: a new or
  majorly corrected release queues an alert for each immediate subscriber of every
  subscription that holds it, a retraction a notice for each subscriber that was told of
  the release (by an alert or a digest). One mail per subscriber and outbox entry
  (`MailMessage.source`), so a batch worked off twice queues nothing twice. Minor
  corrections, embargo lifts and catalog changes send nothing.
- **Digests** (`queue_digest`): one mail a day per digest subscriber with the releases it
  holds that became visible since its last digest; none when there were none.
- **Sending** (`claim_due`, `sent`, `failed`, `drop`): a sender claims due mails in a short
  transaction, sends them with none open, and records the result in another.
- **Deleting.** Unsubscribing deletes the subscriber, its pending sign-ups and every mail
  sent or queued for it; `delete_address` does that for every subscription of an address.

No Flask here; the caller owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.models import (
    MailMessage,
    MailMessageRelease,
    MailSignUp,
    MailSubscriber,
    Release,
    Subscription,
)
from feedsvc.store import accounts, subscriptions
from feedsvc.store.changes import micros
from feedsvc.store.outbox import Entry
from feedsvc.store.secret_digest import hash_secret

# The delivery target that turns outbox entries into mails (`worker.mail`).
MAIL_TARGET = "mail"
IMMEDIATE = "immediate"
DIGEST = "digest"
MODES = (IMMEDIATE, DIGEST)
CONFIRM = "confirm"
PUBLISHED = "published"
CORRECTED = "corrected"
RETRACTED = "retracted"
# Mails that tell a subscriber of a release: who got one hears of its retraction.
TELLING = (PUBLISHED, CORRECTED, DIGEST)
SIGN_UP_SOURCE = "sign-up"
# A release dated more than this before it reached feedsvc (an import of a press office's
# archive) is no news: it appears in feeds, but no alert or digest announces it.
NEWS_AGE = timedelta(days=1)
# The most releases one digest lists; its link to the subscription's page shows them all.
DIGEST_MAX_RELEASES = 50
# Longer than any secret handed out here (43 characters); anything longer is none.
MAX_SECRET_LENGTH = 100


@dataclass(frozen=True)
class SignUpLimits:
    """How many sign-ups an address may get, and a client make, within `window`."""

    per_address: int
    per_client: int
    window: timedelta


def normalise_address(address: str) -> str:
    return accounts.normalise_email(address)


def is_address(normalised: str) -> bool:
    """Whether a normalised address is one mails may be sent to: the desk's rule for the
    addresses of sign-in links (ASCII, one @, nothing a To: header could read as two)."""
    return accounts.is_sendable_address(normalised)


def client_hash(client_address: str) -> str:
    """What the per-client limit counts: a digest, never the client's address itself."""
    return hash_secret(f"mail-sign-up:client:{client_address}")


# --- signing up -----------------------------------------------------------------------------------


def refused_until(
    session: Session, address: str, client: str, now: datetime, limits: SignUpLimits
) -> datetime | None:
    """When another sign-up for `address` (from the client `client`, a `client_hash`) may be
    made, or None when it may be made now. Every sign-up counts, confirmed or not: each sent
    a mail."""
    until: datetime | None = None
    for column, value, limit in (
        (MailSignUp.address, address, limits.per_address),
        (MailSignUp.client_hash, client, limits.per_client),
    ):
        # The limit-th newest sign-up in the window: once it is older than the window,
        # fewer than `limit` remain in it.
        counted = session.scalar(
            select(MailSignUp.created_at)
            .where(column == value, MailSignUp.created_at > now - limits.window)
            .order_by(MailSignUp.created_at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if counted is not None:
            ends = counted + limits.window
            until = ends if until is None else max(until, ends)
    return until


def sign_up(
    session: Session,
    subscription: Subscription,
    address: str,
    mode: str,
    client: str,
    now: datetime,
    lifetime: timedelta,
) -> None:
    """Stores a sign-up and queues its confirmation mail, in the caller's transaction: the
    same work whether the address is subscribed already or not, so nothing tells them apart."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    secret = secrets.token_urlsafe(32)
    row = MailSignUp(
        subscription_id=subscription.id,
        address=address,
        mode=mode,
        secret_hash=hash_secret(secret),
        client_hash=client,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    session.add(_queued(now, kind=CONFIRM, source=SIGN_UP_SOURCE, sign_up_id=row.id, secret=secret))
    session.flush()


def pending_sign_up(session: Session, secret: str, now: datetime) -> MailSignUp | None:
    """The sign-up a confirmation link names, while it can still be confirmed."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    return session.scalars(
        select(MailSignUp).where(
            MailSignUp.secret_hash == hash_secret(secret),
            MailSignUp.used_at.is_(None),
            MailSignUp.expires_at > now,
        )
    ).one_or_none()


def confirm(session: Session, secret: str, now: datetime) -> MailSubscriber | None:
    """Confirms the sign-up of a link, once: its address becomes a subscriber (or, already
    one, takes the mode it asked for). None when the link is unknown, used or expired."""
    found = pending_sign_up(session, secret, now)
    if found is None:
        return None
    used = session.execute(
        update(MailSignUp).where(MailSignUp.id == found.id, MailSignUp.used_at.is_(None)).values(used_at=now)
    )
    if not used.rowcount:  # type: ignore[attr-defined]
        return None  # confirmed by another request a moment ago
    # The link's secret is needed nowhere any more.
    session.execute(update(MailMessage).where(MailMessage.sign_up_id == found.id).values(secret=None))
    subscriber = _subscriber_of(session, found)
    if subscriber is None:
        subscriber = MailSubscriber(
            subscription_id=found.subscription_id,
            address=found.address,
            mode=found.mode,
            token=secrets.token_urlsafe(32),
            confirmed_at=now,
            digest_through=now,
        )
        try:
            with session.begin_nested():
                session.add(subscriber)
        except IntegrityError:
            # Another sign-up of the address confirmed a moment ago: that subscriber is ours.
            subscriber = _subscriber_of(session, found)
            assert subscriber is not None
            set_mode(subscriber, found.mode, now)
    else:
        set_mode(subscriber, found.mode, now)
    session.flush()
    return subscriber


def _subscriber_of(session: Session, sign_up: MailSignUp) -> MailSubscriber | None:
    return session.scalars(
        select(MailSubscriber).where(
            MailSubscriber.subscription_id == sign_up.subscription_id,
            MailSubscriber.address == sign_up.address,
        )
    ).one_or_none()


# --- subscribers ------------------------------------------------------------------------------------


def subscriber_by_token(session: Session, token: str) -> MailSubscriber | None:
    if not token or len(token) > MAX_SECRET_LENGTH:
        return None
    return session.scalars(select(MailSubscriber).where(MailSubscriber.token == token)).one_or_none()


def set_mode(subscriber: MailSubscriber, mode: str, now: datetime) -> None:
    """Alerts at once, or a digest a day. A first digest covers what came after the switch:
    what the alerts told of before is not told again."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if mode == DIGEST and subscriber.mode != DIGEST:
        subscriber.digest_through = now
    subscriber.mode = mode


def unsubscribe(session: Session, subscriber: MailSubscriber) -> None:
    """Deletes the subscriber, its sign-ups for this subscription and every mail sent or
    queued for it (CASCADE): nothing of the address stays for this subscription."""
    session.execute(
        delete(MailSignUp).where(
            MailSignUp.subscription_id == subscriber.subscription_id, MailSignUp.address == subscriber.address
        )
    )
    session.execute(delete(MailSubscriber).where(MailSubscriber.id == subscriber.id))
    session.expunge(subscriber)


@dataclass(frozen=True)
class Deleted:
    subscribers: int
    sign_ups: int
    mails: int


def delete_address(session: Session, address: str) -> Deleted:
    """Deletes everything stored of an address: its subscribers, sign-ups and mails."""
    subscriber_ids = select(MailSubscriber.id).where(MailSubscriber.address == address)
    sign_up_ids = select(MailSignUp.id).where(MailSignUp.address == address)
    mails = session.scalar(
        select(func.count())
        .select_from(MailMessage)
        .where(or_(MailMessage.subscriber_id.in_(subscriber_ids), MailMessage.sign_up_id.in_(sign_up_ids)))
    )
    subscribers = session.execute(delete(MailSubscriber).where(MailSubscriber.address == address))
    sign_ups = session.execute(delete(MailSignUp).where(MailSignUp.address == address))
    return Deleted(
        subscribers=int(subscribers.rowcount),  # type: ignore[attr-defined]
        sign_ups=int(sign_ups.rowcount),  # type: ignore[attr-defined]
        mails=int(mails or 0),
    )


def subscribers(session: Session, address: str | None = None) -> list[MailSubscriber]:
    """Every subscriber (of one address), by address and subscription."""
    query = select(MailSubscriber).order_by(MailSubscriber.address, MailSubscriber.id)
    if address is not None:
        query = query.where(MailSubscriber.address == address)
    return list(session.scalars(query))


def sign_ups_of(session: Session, address: str) -> list[MailSignUp]:
    return list(
        session.scalars(select(MailSignUp).where(MailSignUp.address == address).order_by(MailSignUp.id))
    )


def mails_of(session: Session, subscriber: MailSubscriber) -> list[tuple[MailMessage, list[int]]]:
    """The mails sent or queued for a subscriber, oldest first, each with its releases' ids."""
    messages = list(
        session.scalars(
            select(MailMessage).where(MailMessage.subscriber_id == subscriber.id).order_by(MailMessage.id)
        )
    )
    return [(message, release_ids_of(session, message.id)) for message in messages]


def release_ids_of(session: Session, message_id: int) -> list[int]:
    return list(
        session.scalars(
            select(MailMessageRelease.release_id)
            .where(MailMessageRelease.message_id == message_id)
            .order_by(MailMessageRelease.position)
        )
    )


def pending_count(session: Session) -> int:
    """Sign-ups waiting for their confirmation."""
    return int(
        session.scalar(select(func.count()).select_from(MailSignUp).where(MailSignUp.used_at.is_(None))) or 0
    )


# --- fan-out: outbox entries to mails ---------------------------------------------------------------


def queue_alerts(session: Session, entries: Sequence[Entry], now: datetime) -> int:
    """Queues the mails a batch of outbox entries makes (see the module), in the caller's
    transaction; the number queued."""
    queued = 0
    for entry in entries:
        if entry.release_id is None or entry.kind not in (PUBLISHED, CORRECTED, RETRACTED):
            continue
        release = session.get(Release, entry.release_id)
        if release is None:
            continue
        source = f"outbox:{entry.seq}"
        if entry.kind == RETRACTED:
            queued += _queue_retraction(session, release, source, now)
        elif _is_news(release, now) and (entry.kind == PUBLISHED or _seen_before(entry, release)):
            note = release.correction_note if entry.kind == CORRECTED else None
            queued += _queue_alert(session, release, entry.kind, source, note, now)
    return queued


def _is_news(release: Release, now: datetime) -> bool:
    """Visible now, and not an old release brought in late."""
    return (
        release.retracted_at is None
        and release.published_at <= now
        and release.published_at >= release.created_at - NEWS_AGE
    )


def _seen_before(entry: Entry, release: Release) -> bool:
    """Whether a correction came after the release became visible. One made under embargo
    is due at the embargo instant with the release itself, whose alert shows it already."""
    return entry.due_us > micros(release.published_at)


def _queue_alert(
    session: Session, release: Release, kind: str, source: str, note: str | None, now: datetime
) -> int:
    holding = [subscription.id for subscription in subscriptions.matching_release(session, release)]
    if not holding:
        return 0
    query = select(MailSubscriber.id).where(
        MailSubscriber.subscription_id.in_(holding), MailSubscriber.mode == IMMEDIATE
    )
    queued = 0
    for subscriber_id in session.scalars(query.order_by(MailSubscriber.id)).all():
        queued += _add(session, subscriber_id, kind, source, [release.id], now, note=note)
    return queued


def _told_of(release_id: int, kinds: Sequence[str], now: datetime) -> ColumnElement[bool]:
    """A condition on `mail_subscribers`: a mail of these kinds naming the release went to
    the subscriber, or is being sent to it now."""
    return (
        select(MailMessage.id)
        .join(MailMessageRelease, MailMessageRelease.message_id == MailMessage.id)
        .where(
            MailMessage.subscriber_id == MailSubscriber.id,
            MailMessage.kind.in_(kinds),
            MailMessageRelease.release_id == release_id,
            or_(MailMessage.sent_at.is_not(None), MailMessage.claimed_until > now),
        )
        .exists()
    )


def _queue_retraction(session: Session, release: Release, source: str, now: datetime) -> int:
    """A notice to everyone who was told of the release; alerts of it still waiting go."""
    waiting = (
        select(MailMessageRelease.message_id)
        .join(MailMessage, MailMessage.id == MailMessageRelease.message_id)
        .where(
            MailMessageRelease.release_id == release.id,
            MailMessage.kind.in_((PUBLISHED, CORRECTED)),
            MailMessage.sent_at.is_(None),
            or_(MailMessage.claimed_until.is_(None), MailMessage.claimed_until <= now),
        )
    )
    session.execute(delete(MailMessage).where(MailMessage.id.in_(waiting)))
    told = session.scalars(
        select(MailSubscriber.id).where(_told_of(release.id, TELLING, now)).order_by(MailSubscriber.id)
    ).all()
    return sum(_add(session, subscriber_id, RETRACTED, source, [release.id], now) for subscriber_id in told)


def _queued(now: datetime, **values: object) -> MailMessage:
    return MailMessage(
        created_at=now, next_attempt_at=now, attempts=0, last_error="", claim_token="", **values
    )


def _add(
    session: Session,
    subscriber_id: int,
    kind: str,
    source: str,
    release_ids: Sequence[int],
    now: datetime,
    note: str | None = None,
) -> int:
    """Queues one mail with its releases; nothing (0) if the subscriber has one of `source`."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    message_id = session.scalar(
        insert(MailMessage)
        .values(
            subscriber_id=subscriber_id,
            kind=kind,
            source=source,
            note=note,
            created_at=now,
            next_attempt_at=now,
            attempts=0,
            last_error="",
            claim_token="",
        )
        .on_conflict_do_nothing(index_elements=[MailMessage.subscriber_id, MailMessage.source])
        .returning(MailMessage.id)
    )
    if message_id is None:
        return 0
    session.add_all(
        MailMessageRelease(message_id=message_id, release_id=release_id, position=position)
        for position, release_id in enumerate(release_ids)
    )
    session.flush()
    return 1


# --- digests -------------------------------------------------------------------------------------------


def digests_due(session: Session, instant: datetime, limit: int) -> list[MailSubscriber]:
    """Digest subscribers whose last digest covered less than up to `instant`."""
    return list(
        session.scalars(
            select(MailSubscriber)
            .where(MailSubscriber.mode == DIGEST, MailSubscriber.digest_through < instant)
            .order_by(MailSubscriber.id)
            .limit(limit)
        )
    )


def digest_releases(
    session: Session, subscription: Subscription, since: datetime, until: datetime
) -> list[int]:
    """The releases the subscription holds that became visible after `since` and by `until`
    (when they were published, or reached feedsvc if that was later), newest first."""
    became_visible = and_(
        Release.published_at <= until,
        Release.created_at <= until,
        or_(Release.published_at > since, Release.created_at > since),
    )
    rows = session.execute(
        select(Release.id, Release.published_at, Release.created_at)
        .where(subscriptions.holds(session, subscription), Release.retracted_at.is_(None), became_visible)
        .order_by(Release.published_at.desc(), Release.id.desc())
        .limit(DIGEST_MAX_RELEASES * 4)  # room for old releases brought in late, dropped below
    ).all()
    return [row.id for row in rows if row.published_at >= row.created_at - NEWS_AGE][:DIGEST_MAX_RELEASES]


def queue_digest(session: Session, subscriber: MailSubscriber, instant: datetime, now: datetime) -> bool:
    """Moves the subscriber's digest on to `instant` and queues its digest, if it holds any
    release; False when another worker moved it on meanwhile."""
    since = subscriber.digest_through
    moved = session.execute(
        update(MailSubscriber)
        .where(MailSubscriber.id == subscriber.id, MailSubscriber.digest_through == since)
        .values(digest_through=instant)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    found = digest_releases(session, subscriber.subscription, since, instant)
    if found:
        _add(session, subscriber.id, DIGEST, f"digest:{micros(instant)}", found, now)
    return True


# --- sending -------------------------------------------------------------------------------------------


def sent_since(session: Session, since: datetime) -> int:
    """Mails sent after `since`, by every sender: what the rate limit counts."""
    return int(
        session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.sent_at > since)) or 0
    )


def claim_due(session: Session, now: datetime, limit: int, until: datetime, token: str) -> list[MailMessage]:
    """Up to `limit` due mails no other sender holds, now held by `token` until `until`:
    confirmations first (somebody waits for them), then in the order they were queued."""
    due = session.scalars(
        select(MailMessage.id)
        .where(
            MailMessage.sent_at.is_(None),
            MailMessage.next_attempt_at <= now,
            or_(MailMessage.claimed_until.is_(None), MailMessage.claimed_until <= now),
        )
        .order_by((MailMessage.kind != CONFIRM), MailMessage.next_attempt_at, MailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not due:
        return []
    session.execute(
        update(MailMessage).where(MailMessage.id.in_(due)).values(claimed_until=until, claim_token=token)
    )
    return list(session.scalars(select(MailMessage).where(MailMessage.id.in_(due)).order_by(MailMessage.id)))


def sent(session: Session, ids: Sequence[int], token: str, now: datetime) -> None:
    """Records mails as sent (those still held by `token`); a confirmation's secret goes."""
    session.execute(
        update(MailMessage)
        .where(MailMessage.id.in_(ids), MailMessage.claim_token == token)
        .values(sent_at=now, claimed_until=None, claim_token="", secret=None, last_error="")
    )


def failed(session: Session, ids: Sequence[int], token: str, error: str, retry_at: datetime) -> None:
    """Counts a failed attempt of each mail; they are due again at `retry_at`."""
    session.execute(
        update(MailMessage)
        .where(MailMessage.id.in_(ids), MailMessage.claim_token == token)
        .values(
            attempts=MailMessage.attempts + 1,
            next_attempt_at=retry_at,
            last_error=error[:1000],
            claimed_until=None,
            claim_token="",
        )
    )


def drop(session: Session, ids: Sequence[int]) -> None:
    """Deletes mails that will never go (refused for good, or nothing left to tell)."""
    if ids:
        session.execute(delete(MailMessage).where(MailMessage.id.in_(ids)))


def next_due(session: Session, now: datetime) -> datetime | None:
    """When the next mail not due yet (one backing off) becomes due."""
    value: datetime | None = session.scalar(
        select(func.min(MailMessage.next_attempt_at)).where(
            MailMessage.sent_at.is_(None), MailMessage.next_attempt_at > now
        )
    )
    return value


# --- keeping the tables small -----------------------------------------------------------------------------


def prune(session: Session, now: datetime, window: timedelta, keep_sent: timedelta) -> None:
    """Deletes sign-ups that neither count nor can be confirmed any more (with their
    confirmation mails), and the record of mails sent longer ago than `keep_sent`."""
    session.execute(
        delete(MailSignUp).where(
            MailSignUp.created_at <= now - window,
            or_(MailSignUp.used_at.is_not(None), MailSignUp.expires_at <= now),
        )
    )
    session.execute(
        delete(MailMessage).where(MailMessage.sent_at.is_not(None), MailMessage.sent_at <= now - keep_sent)
    )
