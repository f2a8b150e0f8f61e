"""E-mail alerts of subscriptions, in two steps (docs/architecture.md#e-mail-alerts).

1. **Fan-out** (`fan_out`), a delivery target of the outbox like the caches and hubs: the
   delivery cycle (`worker.delivery`) hands it the entries after its position, held back
   behind the purge position as the hubs are, and it queues the mails they make
   (`store.mail_alerts.queue_alerts`) in the same transaction that moves its position.
   The outbox orders an embargoed release's entries only at its instant, so no alert is
   ever queued before it. Queuing is a database write only: a batch is all or nothing,
   and one worked off twice queues nothing twice.
2. **Sending** (`send_round`), in a thread of its own beside delivery (`feedsvc worker`),
   so a slow mail server holds up no purge, ping or embargo lift: queue the digests that
   are due, claim due mails (confirmations first) in a short transaction, build them, and
   send them over one SMTP connection with no transaction open; then record them as sent,
   or count the failure and back off (30 s doubling, at most 6 hours; given up after
   `MAX_ATTEMPTS`). At most FEEDSVC_MAIL_PER_MINUTE mails go out per minute, counted over
   every sender. A mail refused for good (a 5xx for its recipient) is dropped; a
   connection that fails midway sends the batch again: at least once.

Digests go out at FEEDSVC_MAIL_DIGEST_HOUR, Europe/Berlin, and hold what became visible
since the subscriber's last digest; a subscriber whose subscription holds nothing new gets
none. Addresses never go into the log: failures are logged with counts and mail ids.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from feedsvc import db, paths, smtp
from feedsvc.formats.common import BERLIN
from feedsvc.models import MailMessage, MailSignUp, MailSubscriber, Release
from feedsvc.publishing.entries import release_entry
from feedsvc.publishing.subscriptions import filter_title
from feedsvc.store import mail_alerts, outbox
from feedsvc.store.changes import from_micros
from feedsvc.store.mail_alerts import MAIL_TARGET
from feedsvc.worker import mail_text
from feedsvc.worker.backoff import outage_wait

log = logging.getLogger(__name__)

TARGET = MAIL_TARGET
# Outbox batches per delivery cycle, as for the other targets.
MAX_BATCHES = 20
# Mails claimed and sent over one SMTP connection.
SEND_BATCH = 50
# How long a sender holds the mails it claimed: longer than sending a batch can take.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
# Failed attempts after which a mail is given up: about two days of retries.
MAX_ATTEMPTS = 16
# Digest subscribers moved on per round; the next round takes the rest.
DIGEST_BATCH = 200
# Seconds between the sender's looks at the queue when nothing is due sooner.
LOOK_INTERVAL = 2.0
RATE_WINDOW = timedelta(minutes=1)
Send = Callable[[smtp.SmtpSettings, Sequence[EmailMessage]], list[smtp.Refused]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Settings:
    smtp: smtp.SmtpSettings
    base_url: str
    site_name: str
    per_minute: int = 60
    digest_hour: int = 7
    sign_up_window: timedelta = timedelta(hours=24)
    keep_sent: timedelta = timedelta(days=365)

    @property
    def site(self) -> mail_text.Site:
        return mail_text.Site(name=self.site_name, base_url=self.base_url, sender=self.smtp.sender)


@dataclass
class SendReport:
    digests: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    error: str = ""
    # More mails were due than this round sent (the rate limit or the batch size).
    more: bool = False
    # When the rate limit lets the next mail go (None: now, or nothing waits).
    rate_free_at: datetime | None = None
    sent_ids: list[int] = field(default_factory=list)


# --- 1. fan-out ------------------------------------------------------------------------------------------


def fan_out(session: Session, now_us: int, *, behind_purge: bool, batch: int) -> int:
    """Queues the mails of the outbox entries after the mail target's position (with
    `behind_purge`, up to the purge position); the number of entries it took."""
    taken = 0
    now = from_micros(now_us)
    for _ in range(MAX_BATCHES):
        session.rollback()
        until = (outbox.position_of(session, outbox.PURGE_TARGET) or 0) if behind_purge else None
        position = outbox.position_of(session, TARGET)
        if position is None or not outbox.entries_after(session, position, 1, until):
            break  # caught up: no claim (on PostgreSQL a row lock) for nothing
        db.begin_writing(session)  # queuing writes: on SQLite the write lock from the start
        claimed = outbox.claim(session, TARGET, now_us)
        if claimed is None:  # another worker has it
            break
        entries = outbox.entries_after(session, claimed.delivered_seq, batch, until)
        if not entries:
            break
        mail_alerts.queue_alerts(session, entries, now)
        if not outbox.delivered(session, claimed, entries[-1].seq, len(entries), now_us):
            session.rollback()  # moved on by another worker meanwhile: its mails count
            log.warning("%s was moved on by another worker meanwhile", TARGET)
            break
        session.commit()
        taken += len(entries)
        if len(entries) < batch:
            break
    session.rollback()
    return taken


# --- 2. sending --------------------------------------------------------------------------------------------


def digest_instant(now: datetime, hour: int) -> datetime:
    """The latest digest instant at or before `now`: `hour` o'clock in Europe/Berlin, today
    or yesterday (whatever daylight saving time does to the day's length)."""
    today = now.astimezone(BERLIN).date()
    for day in (today, today - timedelta(days=1)):
        instant = _at(day, hour)
        if instant <= now:
            return instant
    raise AssertionError("yesterday's instant is always in the past")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BERLIN).astimezone(UTC)


def queue_digests(session: Session, settings: Settings, now: datetime) -> int:
    """Queues the digests that are due (subscribers whose last digest is older than the
    latest digest instant); the number of subscribers moved on."""
    instant = digest_instant(now, settings.digest_hour)
    moved = 0
    while True:
        session.rollback()
        due = [subscriber.id for subscriber in mail_alerts.digests_due(session, instant, DIGEST_BATCH)]
        if not due:
            break
        db.begin_writing(session)
        for subscriber_id in due:
            subscriber = session.get(MailSubscriber, subscriber_id)
            if subscriber is not None and subscriber.digest_through < instant:
                moved += mail_alerts.queue_digest(session, subscriber, instant, now)
        session.commit()
        if len(due) < DIGEST_BATCH:
            break
    session.rollback()
    return moved


def send_round(
    session: Session, settings: Settings, now: datetime, *, send: Send = smtp.send, prune: bool = True
) -> SendReport:
    """One round of the sender: prune, queue due digests, send one batch of due mails."""
    report = SendReport()
    if prune:
        db.begin_writing(session)
        mail_alerts.prune(session, now, settings.sign_up_window, settings.keep_sent)
        session.commit()
    report.digests = queue_digests(session, settings, now)
    sent_recently = mail_alerts.sent_since(session, now - RATE_WINDOW)
    allowed = min(SEND_BATCH, settings.per_minute - sent_recently)
    if allowed <= 0:
        report.more = True
        report.rate_free_at = now + RATE_WINDOW / settings.per_minute
        session.rollback()
        return report
    db.begin_writing(session)
    token = secrets.token_hex(16)
    claimed = mail_alerts.claim_due(session, now, allowed, now + LEASE, token)
    session.commit()
    if not claimed:
        session.rollback()
        return report
    # As many as it may send: more may be waiting (the next round looks at once).
    report.more = len(claimed) == allowed
    if allowed < SEND_BATCH:
        report.rate_free_at = now + RATE_WINDOW / settings.per_minute
    built = [(message.id, _build(session, settings, message, now)) for message in claimed]
    session.rollback()  # no transaction open while the mail server is slow
    to_send = [(message_id, message) for message_id, message in built if message is not None]
    nothing_to_tell = [message_id for message_id, message in built if message is None]
    error: smtp.MailNotSent | None = None
    refused: list[smtp.Refused] = []
    if to_send:
        try:
            refused = send(settings.smtp, [message for _, message in to_send])
        except smtp.MailNotSent as failure:
            error = failure
    db.begin_writing(session)
    mail_alerts.drop(session, nothing_to_tell)
    report.dropped = len(nothing_to_tell)
    if error is not None:
        _back_off(session, claimed, [message_id for message_id, _ in to_send], token, str(error), now, report)
    else:
        refused_ids = [to_send[item.index][0] for item in refused]
        mail_alerts.drop(session, refused_ids)
        delivered = [message_id for message_id, _ in to_send if message_id not in refused_ids]
        mail_alerts.sent(session, delivered, token, now)
        report.sent, report.sent_ids = len(delivered), delivered
        report.dropped += len(refused_ids)
        for item in refused:
            log.warning("mail %d refused for good and dropped: %s", to_send[item.index][0], item.reason)
    session.commit()
    return report


def _back_off(
    session: Session,
    claimed: Sequence[MailMessage],
    ids: Sequence[int],
    token: str,
    error: str,
    now: datetime,
    report: SendReport,
) -> None:
    attempts = {message.id: message.attempts for message in claimed}
    given_up = [message_id for message_id in ids if attempts[message_id] + 1 >= MAX_ATTEMPTS]
    retried = [message_id for message_id in ids if message_id not in given_up]
    mail_alerts.drop(session, given_up)
    for message_id in retried:
        wait = min(MAX_RETRY, FIRST_RETRY * 2 ** min(attempts[message_id], 20))
        mail_alerts.failed(session, [message_id], token, error, now + wait)
    report.failed, report.error = len(retried), error
    report.dropped += len(given_up)
    log.warning("%d mails not sent, will retry (%d given up): %s", len(retried), len(given_up), error)


# --- building a mail ---------------------------------------------------------------------------------------


def _build(session: Session, settings: Settings, message: MailMessage, now: datetime) -> EmailMessage | None:
    """The mail a queued row stands for, or None when there is nothing (left) to tell: a
    sign-up confirmed or expired meanwhile, a release retracted before its alert went."""
    site = settings.site
    if message.sign_up_id is not None:
        sign_up = session.get(MailSignUp, message.sign_up_id)
        if sign_up is None or sign_up.used_at is not None or sign_up.expires_at <= now or not message.secret:
            return None
        subscription = sign_up.subscription
        return mail_text.confirmation(
            site,
            sign_up.address,
            subscription_title=filter_title(subscription),
            subscription_url=_url(settings, paths.subscription_path(subscription.key)),
            confirm_url=_url(settings, f"/email/confirm/{message.secret}"),
            digest=sign_up.mode == mail_alerts.DIGEST,
            valid_until=sign_up.expires_at,
            now=now,
        )
    subscriber = session.get(MailSubscriber, message.subscriber_id) if message.subscriber_id else None
    if subscriber is None:
        return None
    recipient = recipient_of(settings, subscriber)
    releases = [
        found
        for release_id in mail_alerts.release_ids_of(session, message.id)
        if (found := session.get(Release, release_id)) is not None
    ]
    if message.kind == mail_alerts.RETRACTED:
        if not releases:
            return None
        entry = release_entry(releases[0], settings.base_url)
        return mail_text.retraction(site, recipient, entry, reason=releases[0].retraction_reason, now=now)
    shown = [release for release in releases if release.retracted_at is None and release.published_at <= now]
    if not shown:
        return None
    entries = [release_entry(release, settings.base_url) for release in shown]
    if message.kind == mail_alerts.DIGEST:
        return mail_text.digest(site, recipient, entries, now=now)
    corrected = message.kind == mail_alerts.CORRECTED
    return mail_text.alert(site, recipient, entries[0], corrected=corrected, note=message.note, now=now)


def recipient_of(settings: Settings, subscriber: MailSubscriber) -> mail_text.Recipient:
    subscription = subscriber.subscription
    return mail_text.Recipient(
        address=subscriber.address,
        subscription_key=subscription.key,
        subscription_title=filter_title(subscription),
        subscription_url=_url(settings, paths.subscription_path(subscription.key)),
        unsubscribe_url=_url(settings, f"/email/unsubscribe/{subscriber.token}"),
        manage_url=_url(settings, f"/email/manage/{subscriber.token}"),
    )


def _url(settings: Settings, path: str) -> str:
    return f"{settings.base_url}{path}"


# --- the sender's thread ----------------------------------------------------------------------------------


def run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    *,
    stop: threading.Event,
    look_interval: float = LOOK_INTERVAL,
    send: Send = smtp.send,
    on_round: Callable[[SendReport], None] | None = None,
) -> None:
    """Sends due mails until `stop` is set: the worker's mail thread. Outages are waited out
    with backoff; any other error is logged and the next round tried after `look_interval`:
    sending mail stops nothing, least of all delivery."""
    sessions = db.make_sessionmaker(engine)
    dialect = engine.dialect.name
    outages = 0
    pruned_at: datetime | None = None
    while not stop.is_set():
        wait = look_interval
        session = sessions()
        try:
            now = clock()
            prune = pruned_at is None or now - pruned_at >= timedelta(minutes=10)
            report = send_round(session, settings, now, send=send, prune=prune)
            if prune:
                pruned_at = now
            retry_at = mail_alerts.next_due(session, now)
            session.rollback()
        except SQLAlchemyError as error:
            # The driver's own message only: SQLAlchemy's would list the statement's
            # parameters, addresses among them, and addresses go into no log.
            reason = _summary(error)
            if db.is_outage(error, dialect):
                outages += 1
                wait = outage_wait(outages)
                log.warning("database unavailable while sending mail (%s); again in %.2f s", reason, wait)
            else:
                log.error(
                    "sending mail failed (%s: %s); trying again in %.0f s", type(error).__name__, reason, wait
                )
        except Exception:
            log.exception("sending mail failed; trying again in %.0f s", wait)
        else:
            outages = 0
            if on_round is not None and (report.sent or report.failed or report.dropped or report.digests):
                on_round(report)
            if report.more and not report.error:
                free_at = report.rate_free_at or now
                wait = min(wait, max(0.0, (free_at - clock()).total_seconds()))
            elif retry_at is not None:
                wait = min(wait, max(0.0, (retry_at - clock()).total_seconds()) + 0.001)
        finally:
            try:
                session.close()
            except SQLAlchemyError as error:  # a connection the outage took: the pool replaces it
                log.debug("closing the session failed: %s", error)
        stop.wait(wait)


def _summary(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    return smtp.without_addresses(text.splitlines()[0]) if text else type(error).__name__
