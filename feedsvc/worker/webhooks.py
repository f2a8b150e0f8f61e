"""Signed webhooks to newsrooms' editorial systems (docs/api.md#webhooks).

Two steps, each with its own guarantees:

1. **Fan-out** (`fan_out`), a target of the delivery order like the caches and hubs
   (`outbox.WEBHOOKS_TARGET`), run by the delivery cycle. It waits for the caches (a
   receiver that fetches the release at once must not get a copy a cache still holds)
   and, in one transaction per batch of outbox entries, turns each entry of a release into
   messages and per-endpoint deliveries and moves its position on. A delivery is unique
   per endpoint and entry, so a batch done twice adds nothing. Which endpoint hears what
   is decided from the release as it is now and from what each endpoint was sent of it
   before (`store.webhooks.sent_of`):

   - `release.published`: the first event an endpoint gets of a release its subscription
     holds: at its publication, which for a release under embargo is the embargo instant
     (its entry is due then, never before), or when a correction brings it into the filter;
   - `release.corrected`: a major correction (`corrected`; never `corrected_minor`) of a
     release the endpoint was sent, in its filter or moved out of it by this correction;
   - `release.retracted`: a retraction, to every endpoint that was sent the release.

   The body is `{"type", "timestamp", "data"}`, `data` the release's ninjs item exactly as
   `/releases/<id>-<slug>.ninjs.json` serves it (its canceled item once retracted), built by
   `publishing.entries` on FEEDSVC_BASE_URL.

2. **Sending** (`send_due`, in a thread of its own beside delivery: `run`), so a slow
   newsroom holds up neither the caches nor the hubs nor another newsroom. Per endpoint
   the deliveries go out in order, the oldest pending first: a failing one holds back the
   later ones of its endpoint, nobody else's. A worker sends to an endpoint only while it
   holds the endpoint's lease (taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL), so two
   workers never send to one endpoint at once; an attempt is recorded only while the lease
   is still its own. At least once: a worker that dies between the answer and the record
   sends again, with the same `webhook-id`, which receivers dedupe on.

Each attempt is a POST signed per Standard Webhooks (`standardwebhooks`, HMAC-SHA256 over
`{webhook-id}.{webhook-timestamp}.{body}`), with a timeout, no redirect followed and at
most `MAX_ANSWER_BYTES` of the answer read. Failures are retried on `RETRY_SCHEDULE_S`
(then every 10 hours), later when the answer asks so (`Retry-After`). An endpoint that
has failed continuously for FEEDSVC_WEBHOOK_DISABLE_AFTER, or answered `410 Gone`, is
disabled; the admins see it in the desk and, with FEEDSVC_SMTP_* set, get an e-mail.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import secrets
import ssl
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from feedsvc import db, smtp
from feedsvc.formats.model import Tombstone
from feedsvc.formats.ninjs import render_canceled, render_release
from feedsvc.models import Release, WebhookRelease
from feedsvc.publishing.entries import release_entry, tombstone_of
from feedsvc.store import audit, outbox, subscriptions
from feedsvc.store import webhooks as rows
from feedsvc.store.changes import from_micros, micros
from feedsvc.store.releases import was_public
from feedsvc.worker.backoff import keep_going
from feedsvc.worker.fetch import network_failure

log = logging.getLogger(__name__)

PUBLISHED = "release.published"
CORRECTED = "release.corrected"
RETRACTED = "release.retracted"
# Standard Webhooks' example schedule, in seconds after each failed attempt; then its last
# step again until the endpoint succeeds or is disabled.
RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
# Up to a tenth more, so that receivers coming back are not met by every retry at once.
JITTER = 0.1
# The longest wait a `Retry-After` may ask for.
MAX_RETRY_AFTER_S = 24 * 3600
TIMEOUT = 15.0  # seconds per connect or read: Standard Webhooks recommends 15 to 30
MAX_ANSWER_BYTES = 1024  # of the answer's body, kept for the delivery log
USER_AGENT = "feedsvc-webhooks/1"
# How long deliveries and messages are kept (the delivery log's reach).
LOG_RETENTION_US = 30 * 24 * 3600 * 1_000_000
# How often the sending thread deletes what is older than that.
PRUNE_INTERVAL_US = 3600 * 1_000_000
BATCH = 100
MAX_BATCHES = 20
# Deliveries one worker sends to one endpoint before it looks at the others again.
MAX_PER_TURN = 20
# Endpoints sent to at once, each in a thread with its own connection.
CONCURRENCY = 4
LOOK_INTERVAL = 1.0
# The actor the audit log names for a disabling.
WORKER_ACTOR = audit.command_actor("worker")
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    disable_after_s: int = 5 * 24 * 3600
    timeout: float = TIMEOUT
    # Where notices of disabled endpoints go out (None: no FEEDSVC_SMTP_HOST).
    mail: smtp.SmtpSettings | None = None
    concurrency: int = CONCURRENCY

    @property
    def user_agent(self) -> str:
        return f"{USER_AGENT} (+{self.base_url})" if self.base_url else USER_AGENT


# --- fan-out ---------------------------------------------------------------------------------------


@dataclass
class FanOut:
    """What one cycle's fan-out did: outbox entries taken, deliveries made, or its error."""

    entries: int = 0
    deliveries: int = 0
    error: str = ""


def fan_out(session: Session, base_url: str | None, now_us: int, *, behind_purge: bool) -> FanOut:
    """Turns the due outbox entries after the `webhooks` position into deliveries, batch by
    batch, each in one transaction with the position's move. Nothing before the first
    endpoint was registered (the target does not exist yet)."""
    done = FanOut()
    name = outbox.WEBHOOKS_TARGET
    for _ in range(MAX_BATCHES):
        session.rollback()
        until = (outbox.position_of(session, outbox.PURGE_TARGET) or 0) if behind_purge else None
        position = outbox.position_of(session, name)
        if position is None or not outbox.entries_after(session, position, 1, until):
            break
        db.begin_writing(session)  # SQLite: the write lock for the batch; no network I/O in it
        claimed = outbox.claim(session, name, now_us)
        if claimed is None:  # backing off, or another worker has it (PostgreSQL)
            break
        entries = outbox.entries_after(session, claimed.delivered_seq, BATCH, until)
        if not entries:
            break
        try:
            if not base_url:
                raise ValueError("FEEDSVC_BASE_URL is not set: webhooks carry absolute links")
            made = sum(_fan_out_entry(session, entry, base_url, now_us) for entry in entries)
        except ValueError as failure:
            session.rollback()
            db.begin_writing(session)
            claimed = outbox.claim(session, name, now_us) or claimed
            backoff = min(15 * 60, 2 ** min(claimed.attempts, 10)) * 1_000_000
            outbox.failed(session, claimed, str(failure), now_us + backoff)
            session.commit()
            done.error = str(failure)
            log.warning("webhooks: fan-out failed (%s)", failure)
            break
        outbox.delivered(session, claimed, entries[-1].seq, len(entries), now_us)
        session.commit()
        done.entries += len(entries)
        done.deliveries += made
        if len(entries) < BATCH:
            break
    session.rollback()
    return done


@dataclass(frozen=True)
class _Event:
    endpoint_id: int
    event_type: str
    held: bool


def _fan_out_entry(session: Session, entry: outbox.Entry, base_url: str, now_us: int) -> int:
    """The deliveries one outbox entry makes (see the module's docstring for who hears what)."""
    if entry.kind == "embargo_lifted":
        # A release that was public and moved under embargo again becomes visible at a lift
        # with no entry of its own: the releases of this instant are looked at once more.
        instant = from_micros(entry.due_us)
        found = session.scalars(
            select(Release.id).where(
                Release.published_at > instant - timedelta(milliseconds=1),
                Release.published_at <= instant + timedelta(milliseconds=1),
            )
        ).all()
        return sum(_release_deliveries(session, release_id, entry, base_url, now_us) for release_id in found)
    if entry.release_id is None or entry.kind not in ("published", "corrected", "retracted"):
        return 0  # minor corrections, catalog changes: nothing a newsroom is told of
    return _release_deliveries(session, entry.release_id, entry, base_url, now_us)


def _release_deliveries(
    session: Session, release_id: int, entry: outbox.Entry, base_url: str, now_us: int
) -> int:
    release = session.get(Release, release_id)
    if release is None:
        return 0
    now = from_micros(now_us)
    sent = rows.sent_of(session, release.id)
    if release.retracted_at is not None:
        if not was_public(release, now):
            return 0  # retracted before its instant: nobody ever heard of it
        events = [
            _Event(endpoint_id, RETRACTED, record.held)
            for endpoint_id, record in sorted(sent.items())
            if not record.retracted
        ]
        body_data = render_canceled(_tombstone(release)) if events else b""
    elif release.published_at > now:
        return 0  # under embargo (again): never early; its lift looks at it once more
    else:
        holders = {
            endpoint.id
            for endpoint in rows.subscription_endpoints(
                session, [each.id for each in subscriptions.matching_release(session, release)]
            )
        }
        events = [
            event
            for endpoint_id in sorted(holders | set(sent))
            if (event := _change_event(endpoint_id, endpoint_id in holders, sent.get(endpoint_id), release))
        ]
        body_data = render_release(release_entry(release, base_url)) if events else b""
    made = 0
    messages: dict[str, int] = {}
    for event in events:
        if event.event_type not in messages:
            messages[event.event_type] = rows.add_message(
                session,
                event_type=event.event_type,
                release_id=release.id,
                outbox_seq=entry.seq,
                occurred_us=entry.due_us,
                body=envelope(event.event_type, entry.due_us, body_data),
                now_us=now_us,
            )
        made += rows.add_delivery(session, event.endpoint_id, messages[event.event_type], entry.seq, now_us)
        rows.record_sent(
            session,
            event.endpoint_id,
            release.id,
            revision=release.revision,
            held=event.held,
            retracted=event.event_type == RETRACTED,
        )
    return made


def _change_event(
    endpoint_id: int, held: bool, record: WebhookRelease | None, release: Release
) -> _Event | None:
    """What a visible release's publication or major correction tells one endpoint."""
    if held and (record is None or record.retracted):
        return _Event(endpoint_id, PUBLISHED, held=True)
    if record is None or record.retracted:
        return None  # never sent, and not in the filter
    if held and (record.revision != release.revision or not record.held):
        return _Event(endpoint_id, CORRECTED, held=True)
    if not held and record.held:
        return _Event(endpoint_id, CORRECTED, held=False)  # moved out of the filter: its last word
    return None


def _tombstone(release: Release) -> Tombstone:
    tombstone = tombstone_of(release)
    assert tombstone is not None, "a retracted release has one"
    return tombstone


def envelope(event_type: str, occurred_us: int, ninjs_document: bytes) -> str:
    """The body of a message: the event's type, when it happened (UTC), and the ninjs item
    as the service serves it (the same JSON value, written without white space)."""
    occurred = from_micros(occurred_us).isoformat(timespec="seconds").replace("+00:00", "Z")
    data = json.loads(ninjs_document)
    return json.dumps(
        {"type": event_type, "timestamp": occurred, "data": data}, ensure_ascii=False, separators=(",", ":")
    )


# --- sending ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One POST to one endpoint and how it went."""

    endpoint_id: int
    delivery_id: int
    message_id: str
    event_type: str
    ok: bool
    status: int | None = None
    error: str = ""
    retry_in_s: float = 0.0
    disabled: bool = False


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    excerpt: bytes
    retry_after: str
    location: str


class SendFailed(Exception):
    """No answer came (connection, TLS, timeout); the message is one line."""


def signed_headers(secret: str, message_id: str, body: str, at: datetime, user_agent: str) -> dict[str, str]:
    """The request's headers: Standard Webhooks' three, signed with the endpoint's secret."""
    at = at.astimezone(UTC)
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POSTs `body`; never follows a redirect, reads at most `MAX_ANSWER_BYTES` of the answer."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        connection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(MAX_ANSWER_BYTES)
        return Answer(
            status=response.status,
            reason=response.reason or "",
            excerpt=excerpt,
            retry_after=response.getheader("Retry-After", "") or "",
            location=response.getheader("Location", "") or "",
        )
    except (OSError, http.client.HTTPException) as error:
        raise SendFailed(network_failure(error, parts.netloc, timeout)) from None
    finally:
        connection.close()


def retry_delay_s(failures_before: int, retry_after: str, now: datetime) -> float:
    """The wait after a failed attempt: the schedule's step (with jitter), or longer when the
    answer's `Retry-After` asks for it (at most a day)."""
    step = RETRY_SCHEDULE_S[min(failures_before, len(RETRY_SCHEDULE_S) - 1)]
    delay = step * (1 + random.uniform(0, JITTER))
    asked = _retry_after_s(retry_after, now)
    return max(delay, min(asked, MAX_RETRY_AFTER_S)) if asked is not None else delay


def _retry_after_s(value: str, now: datetime) -> float | None:
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def send_due(
    engine: Engine, settings: Settings, clock: Clock, *, stop: threading.Event | None = None
) -> list[Attempt]:
    """Sends what is due to every endpoint, up to `MAX_PER_TURN` each, `concurrency` endpoints
    at once; what each attempt did, in no particular order across endpoints."""
    sessions = db.make_sessionmaker(engine)
    with sessions() as session:
        due = rows.due_endpoints(session, micros(clock()), limit=100)
    if not due:
        return []

    def turn(endpoint_id: int) -> list[Attempt]:
        with sessions() as session:
            return _send_to(session, endpoint_id, settings, clock, stop)

    if len(due) == 1 or settings.concurrency <= 1:
        return [attempt for endpoint_id in due for attempt in turn(endpoint_id)]
    with ThreadPoolExecutor(max_workers=min(settings.concurrency, len(due))) as pool:
        return [attempt for attempts in pool.map(turn, due) for attempt in attempts]


def _send_to(
    session: Session, endpoint_id: int, settings: Settings, clock: Clock, stop: threading.Event | None
) -> list[Attempt]:
    """One endpoint's turn: its due deliveries in order, until one fails or none is due."""
    token = secrets.token_hex(16)
    lease_s = settings.timeout * 3 + 30
    attempts: list[Attempt] = []
    try:
        for _ in range(MAX_PER_TURN):
            if stop is not None and stop.is_set():
                break
            now_us = micros(clock())
            db.begin_writing(session)
            if not rows.claim_endpoint(session, endpoint_id, now_us, now_us + int(lease_s * 1e6), token):
                session.rollback()
                break  # another worker sends to it, or it was disabled meanwhile
            head = rows.head(session, endpoint_id)
            session.commit()
            if head is None or head.next_attempt_us > now_us:
                break
            attempt = _attempt(session, head, token, settings, clock)
            attempts.append(attempt)
            if not attempt.ok:
                break
    finally:
        session.rollback()
        db.begin_writing(session)
        rows.release_lease(session, endpoint_id, token)
        session.commit()
    return attempts


def _attempt(session: Session, head: rows.Head, token: str, settings: Settings, clock: Clock) -> Attempt:
    at = clock()
    headers = signed_headers(head.secret, head.message_id, head.body, at, settings.user_agent)
    status: int | None = None
    gone = False
    retry_after = ""
    try:
        answer = post(head.url, head.body.encode("utf-8"), headers, settings.timeout)
    except SendFailed as failure:
        error = str(failure)
    else:
        status, retry_after = answer.status, answer.retry_after
        if 200 <= answer.status < 300:
            error = ""
        else:
            error = _refusal(answer)
            gone = answer.status == 410
    now = clock()
    now_us = micros(now)
    db.begin_writing(session)
    if not error:
        recorded = rows.record_success(session, head, token, status or 200, now_us)
        session.commit()
        if not recorded:
            log.warning("webhook %d: lease lost, delivery %d sent but not recorded", head.endpoint_id,
                        head.delivery_id)  # fmt: skip
        return Attempt(head.endpoint_id, head.delivery_id, head.message_id, head.event_type, True, status)
    delay = retry_delay_s(head.failures_in_row, retry_after, now)
    rows.record_failure(session, head, token, status, error, now_us, now_us + int(delay * 1_000_000))
    failing_since = head.failing_since_us or now_us
    reason = ""
    if gone:
        reason = "Der Empfänger antwortete 410 Gone: Er will keine Webhooks mehr."
    elif now_us - failing_since >= settings.disable_after_s * 1_000_000:
        days = (now_us - failing_since) / 86_400_000_000
        reason = f"Seit {days:.1f} Tagen schlägt jede Zustellung fehl; zuletzt: {error}"
    disabled = bool(reason) and rows.disable(session, head.endpoint_id, now, reason)
    if disabled:
        audit.record(
            session,
            at=now,
            actor=WORKER_ACTOR,
            action="webhook.disabled",
            subject=audit.Subject("webhook", head.endpoint_id),
            detail={"url": head.url, "reason": reason[:300]},
        )
    admins = rows.admin_addresses(session) if disabled else []
    session.commit()
    log.warning("webhook %d (%s) failed: %s; next try in %.0f s", head.endpoint_id, head.url, error, delay)
    if disabled:
        log.warning("webhook %d (%s) disabled: %s", head.endpoint_id, head.url, reason)
        _tell_admins(settings, admins, head, reason, now)
    return Attempt(
        head.endpoint_id,
        head.delivery_id,
        head.message_id,
        head.event_type,
        False,
        status,
        error,
        delay,
        disabled,
    )


def _refusal(answer: Answer) -> str:
    """One line for an answer that is no success, with the start of its body."""
    text = f"HTTP {answer.status} {answer.reason}".strip()
    if 300 <= answer.status < 400:
        text += (
            f" (redirects are not followed: register {answer.location} instead)" if answer.location else ""
        )
    excerpt = " ".join(answer.excerpt.decode("utf-8", "replace").split())[:200]
    return f"{text}: {excerpt}" if excerpt else text


def _tell_admins(
    settings: Settings, admins: Sequence[str], head: rows.Head, reason: str, now: datetime
) -> None:
    """The e-mail to every admin that an endpoint was disabled (with FEEDSVC_SMTP_* only)."""
    if settings.mail is None or not admins:
        return
    desk = f"{settings.base_url}/publish/webhooks/{head.endpoint_id}" if settings.base_url else ""
    messages = []
    for address in admins:
        message = EmailMessage()
        message["Subject"] = f"Webhook {head.endpoint_id} deaktiviert"
        message["From"] = settings.mail.sender
        message["To"] = address
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain=smtp.site_domain(settings.base_url or ""))
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(
            f"Der Webhook {head.endpoint_id} ({head.url}) wurde deaktiviert und bekommt nichts mehr "
            f"zugestellt, bis ihn jemand wieder aktiviert.\n\nGrund: {reason}\n\n"
            + (f"Zustellprotokoll und Aktivieren: {desk}\n" if desk else "")
            + f"Oder auf dem Server: feedsvc webhooks enable {head.endpoint_id}\n"
        )
        messages.append(message)
    try:
        smtp.send(settings.mail, messages)
    except smtp.MailNotSent as failure:
        log.warning("webhook %d: the notice to the admins was not sent: %s", head.endpoint_id, failure)


# --- the sending thread ----------------------------------------------------------------------------


def run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    *,
    stop: threading.Event,
    look_interval: float = LOOK_INTERVAL,
    on_round: Callable[[list[Attempt]], None] | None = None,
) -> None:
    """Sends due deliveries until `stop` is set: the worker's webhook thread. Outages are
    waited out; any other error is logged and the next round tried, delivery goes on."""
    sessions = db.make_sessionmaker(engine)
    pruned_us = 0

    def one_round() -> int | None:
        nonlocal pruned_us
        attempts = send_due(engine, settings, clock, stop=stop)
        with sessions() as session:
            now_us = micros(clock())
            due_us = rows.next_attempt_us(session, now_us)
            if now_us - pruned_us >= PRUNE_INTERVAL_US:
                _prune(session, now_us)
                pruned_us = now_us
        if on_round is not None and attempts:
            on_round(attempts)
        return due_us

    keep_going(
        "sending webhooks",
        one_round,
        clock,
        dialect=engine.dialect.name,
        stop=stop,
        look_interval=look_interval,
        log=log,
    )


def _prune(session: Session, now_us: int) -> None:
    horizon = now_us - LOG_RETENTION_US
    if rows.prunable(session, horizon):
        db.begin_writing(session)
        rows.prune(session, horizon)
        session.commit()
    session.rollback()
