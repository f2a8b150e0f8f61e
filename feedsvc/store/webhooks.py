"""Webhook endpoints of newsrooms, their messages and delivery log (docs/api.md#webhooks).

An endpoint belongs to a subscription and has a secret of its own in Standard Webhooks form
(`new_secret`). The delivery worker (`worker.webhooks`) fans the outbox out into messages
(`add_message`: the signed body, one per outbox entry and event type) and deliveries (one per
endpoint and entry, `add_delivery`), and records what it sent of each release to each
endpoint (`sent_of`, `record_sent`). Sending takes an endpoint's lease (`claim_endpoint`),
its oldest pending delivery (`head`), and records each attempt (`record_success`,
`record_failure`) only while the lease is its own.

The session is passed in and never committed here.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from feedsvc.models import (
    DeliveryTarget,
    Subscription,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    WebhookRelease,
)
from feedsvc.store import outbox

SECRET_PREFIX = "whsec_"
# Standard Webhooks asks for 24 to 64 random bytes; 32 is what HMAC-SHA256 takes as a whole.
SECRET_BYTES = 32
PENDING = "pending"
DELIVERED = "delivered"
EVENT_TYPES = ("release.published", "release.corrected", "release.retracted")


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A `webhook-id`: `msg_` and 128 random bits in hex (no `.`, which the signed text delimits by)."""
    return f"msg_{secrets.token_hex(16)}"


# --- endpoints -------------------------------------------------------------------------------------


def add_endpoint(
    session: Session,
    *,
    subscription: Subscription,
    url: str,
    description: str,
    created_by: str,
    now: datetime,
) -> WebhookEndpoint:
    """Registers an endpoint; it hears of the changes delivered from now on. The first one
    makes the outbox's `webhooks` target, at the end of the log (`outbox.add_target`)."""
    endpoint = WebhookEndpoint(
        subscription=subscription,
        url=url,
        secret=new_secret(),
        description=description,
        created_by=created_by,
        created_at=now,
        enabled=True,
        disabled_at=None,
        disabled_reason="",
        failing_since_us=0,
        lease_until_us=0,
        lease_token="",
        delivered_total=0,
        failures_total=0,
    )
    session.add(endpoint)
    outbox.add_target(session, outbox.WEBHOOKS_TARGET)
    session.flush()
    return endpoint


def endpoint_by_id(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    return session.get(WebhookEndpoint, endpoint_id)


def endpoints(session: Session) -> Sequence[WebhookEndpoint]:
    return session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def disabled_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(WebhookEndpoint.enabled.is_(False))) or 0)


def remove_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Deletes the endpoint with its delivery log; messages nobody else is sent go at the next prune."""
    session.execute(delete(WebhookRelease).where(WebhookRelease.endpoint_id == endpoint.id))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)


def enable(session: Session, endpoint: WebhookEndpoint, now_us: int) -> None:
    """Enables it again: its waiting deliveries are due now, their retry schedules start anew."""
    endpoint.enabled = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failing_since_us = 0
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == PENDING)
        .values(next_attempt_us=now_us, failures_in_row=0)
    )


def disable(session: Session, endpoint_id: int, now: datetime, reason: str) -> bool:
    """Disables an enabled endpoint; False if it was disabled (or removed) already."""
    result = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_at=now, disabled_reason=reason[:1000])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def subscription_endpoints(session: Session, subscription_ids: Sequence[int]) -> list[WebhookEndpoint]:
    if not subscription_ids:
        return []
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.subscription_id.in_(subscription_ids))
            .order_by(WebhookEndpoint.id)
        )
    )


def admin_addresses(session: Session) -> list[str]:
    """Where notices to the admins go: every active admin user's address."""
    return list(
        session.scalars(
            select(User.email).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id)
        )
    )


# --- what the fan-out writes --------------------------------------------------------------------------


def sent_of(session: Session, release_id: int) -> dict[int, WebhookRelease]:
    """What each endpoint was sent of a release, by endpoint id."""
    rows = session.scalars(select(WebhookRelease).where(WebhookRelease.release_id == release_id))
    return {row.endpoint_id: row for row in rows}


def record_sent(
    session: Session, endpoint_id: int, release_id: int, *, revision: int, held: bool, retracted: bool
) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(WebhookRelease).values(
        endpoint_id=endpoint_id, release_id=release_id, revision=revision, held=held, retracted=retracted
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[WebhookRelease.endpoint_id, WebhookRelease.release_id],
            set_={"revision": revision, "held": held, "retracted": retracted},
        )
    )


def add_message(
    session: Session,
    *,
    event_type: str,
    release_id: int,
    outbox_seq: int,
    occurred_us: int,
    body: str,
    now_us: int,
) -> int:
    """The message of this outbox entry and event type, made if it is new; its row id."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(WebhookMessage)
        .values(
            message_id=new_message_id(),
            event_type=event_type,
            release_id=release_id,
            outbox_seq=outbox_seq,
            occurred_us=occurred_us,
            body=body,
            created_us=now_us,
        )
        .on_conflict_do_nothing(index_elements=[WebhookMessage.outbox_seq, WebhookMessage.event_type])
    )
    found = session.scalar(
        select(WebhookMessage.id).where(
            WebhookMessage.outbox_seq == outbox_seq, WebhookMessage.event_type == event_type
        )
    )
    assert found is not None, "inserted or there before"
    return found


def add_delivery(session: Session, endpoint_id: int, message_row: int, outbox_seq: int, now_us: int) -> bool:
    """One delivery of a message to an endpoint, due now; False if that entry has one already."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = session.execute(
        insert(WebhookDelivery)
        .values(
            endpoint_id=endpoint_id,
            message_id=message_row,
            outbox_seq=outbox_seq,
            status=PENDING,
            attempts=0,
            failures_in_row=0,
            next_attempt_us=now_us,
            last_attempt_us=0,
            delivered_us=0,
            last_status=None,
            last_error="",
            created_us=now_us,
        )
        .on_conflict_do_nothing(index_elements=[WebhookDelivery.endpoint_id, WebhookDelivery.outbox_seq])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- sending -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The oldest pending delivery of an endpoint, with what sending it needs."""

    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    message_id: str
    body: str
    event_type: str
    failures_in_row: int
    next_attempt_us: int
    failing_since_us: int


def _is_head() -> object:
    """A condition on `WebhookDelivery`: it is the oldest pending one of its endpoint."""
    older = aliased(WebhookDelivery)
    return ~exists().where(
        older.endpoint_id == WebhookDelivery.endpoint_id,
        older.status == PENDING,
        older.id < WebhookDelivery.id,
    )


def due_endpoints(session: Session, now_us: int, limit: int) -> list[int]:
    """Enabled endpoints not leased whose oldest pending delivery is due, longest due first."""
    rows = session.execute(
        select(WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_us <= now_us,
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.lease_until_us <= now_us,
            _is_head(),  # type: ignore[arg-type]
        )
        .order_by(WebhookDelivery.next_attempt_us, WebhookDelivery.id)
        .limit(limit)
    ).all()
    return [row.endpoint_id for row in rows]


def next_attempt_us(session: Session, now_us: int) -> int | None:
    """The earliest instant after `now_us` at which an enabled endpoint's head is due again."""
    value: int | None = session.scalar(
        select(func.min(WebhookDelivery.next_attempt_us))
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_us > now_us,
            WebhookEndpoint.enabled.is_(True),
            _is_head(),  # type: ignore[arg-type]
        )
    )
    return value


def claim_endpoint(session: Session, endpoint_id: int, now_us: int, lease_until_us: int, token: str) -> bool:
    """Leases an enabled endpoint to `token` (or renews `token`'s lease) if its lease is free.
    PostgreSQL skips a row another worker is claiming (`FOR UPDATE SKIP LOCKED`); SQLite's
    write lock orders claims."""
    found = session.scalar(
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.lease_until_us <= now_us, WebhookEndpoint.lease_token == token),
        )
        .with_for_update(skip_locked=True)
    )
    if found is None:
        return False
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(lease_until_us=lease_until_us, lease_token=token)
    )
    return True


def release_lease(session: Session, endpoint_id: int, token: str) -> None:
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token)
        .values(lease_until_us=0, lease_token="")
    )


def head(session: Session, endpoint_id: int) -> Head | None:
    row = session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.failures_in_row,
            WebhookDelivery.next_attempt_us,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.failing_since_us,
            WebhookMessage.message_id,
            WebhookMessage.body,
            WebhookMessage.event_type,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .order_by(WebhookDelivery.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return Head(
        delivery_id=row.id,
        endpoint_id=endpoint_id,
        url=row.url,
        secret=row.secret,
        message_id=row.message_id,
        body=row.body,
        event_type=row.event_type,
        failures_in_row=row.failures_in_row,
        next_attempt_us=row.next_attempt_us,
        failing_since_us=row.failing_since_us,
    )


def _lease_held(endpoint_id: int, token: str) -> object:
    return exists().where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token, WebhookEndpoint.enabled
    )


def record_success(session: Session, sent: Head, token: str, status: int, now_us: int) -> bool:
    """The head was answered 2xx; False (nothing recorded) if the lease is no longer `token`'s."""
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == sent.delivery_id, _lease_held(sent.endpoint_id, token))  # type: ignore[arg-type]
        .values(
            status=DELIVERED,
            attempts=WebhookDelivery.attempts + 1,
            failures_in_row=0,
            last_attempt_us=now_us,
            delivered_us=now_us,
            last_status=status,
            last_error="",
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == sent.endpoint_id)
        .values(failing_since_us=0, delivered_total=WebhookEndpoint.delivered_total + 1)
    )
    return True


def record_failure(
    session: Session, sent: Head, token: str, status: int | None, error: str, now_us: int, retry_at_us: int
) -> bool:
    """A failed attempt at the head: it stays the head, tried again at `retry_at_us`."""
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == sent.delivery_id, _lease_held(sent.endpoint_id, token))  # type: ignore[arg-type]
        .values(
            attempts=WebhookDelivery.attempts + 1,
            failures_in_row=WebhookDelivery.failures_in_row + 1,
            last_attempt_us=now_us,
            last_status=status,
            last_error=error[:1000],
            next_attempt_us=retry_at_us,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == sent.endpoint_id)
        .values(
            failures_total=WebhookEndpoint.failures_total + 1,
            failing_since_us=func.coalesce(func.nullif(WebhookEndpoint.failing_since_us, 0), now_us),
        )
    )
    return True


def failing_since_us(session: Session, endpoint_id: int) -> int:
    return int(
        session.scalar(select(WebhookEndpoint.failing_since_us).where(WebhookEndpoint.id == endpoint_id)) or 0
    )


# --- the delivery log ----------------------------------------------------------------------------------


def deliveries(
    session: Session, endpoint_id: int, limit: int, before_id: int | None = None
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first (`before_id`: older than that one)."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def delivery_by_id(session: Session, endpoint_id: int, delivery_id: int) -> WebhookDelivery | None:
    found = session.get(WebhookDelivery, delivery_id)
    return found if found is not None and found.endpoint_id == endpoint_id else None


def redeliver(session: Session, delivery: WebhookDelivery, now_us: int) -> None:
    """Sends a delivery again, with the same `webhook-id`: pending, due now, its schedule anew.
    As the oldest pending one of its endpoint it goes before the later ones."""
    delivery.status = PENDING
    delivery.next_attempt_us = now_us
    delivery.failures_in_row = 0


@dataclass(frozen=True)
class EndpointStats:
    """What /metrics and /healthz report of an endpoint."""

    endpoint_id: int
    enabled: bool
    pending: int
    oldest_pending_us: int | None
    delivered_total: int
    failures_total: int
    failing_since_us: int


def stats(session: Session) -> list[EndpointStats]:
    pending = {
        row.endpoint_id: (int(row.waiting), row.oldest)
        for row in session.execute(
            select(
                WebhookDelivery.endpoint_id,
                func.count().label("waiting"),
                func.min(WebhookDelivery.created_us).label("oldest"),
            )
            .where(WebhookDelivery.status == PENDING)
            .group_by(WebhookDelivery.endpoint_id)
        )
    }
    rows = session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.enabled,
            WebhookEndpoint.delivered_total,
            WebhookEndpoint.failures_total,
            WebhookEndpoint.failing_since_us,
        ).order_by(WebhookEndpoint.id)
    )
    return [
        EndpointStats(
            endpoint_id=row.id,
            enabled=row.enabled,
            pending=pending.get(row.id, (0, None))[0],
            oldest_pending_us=pending.get(row.id, (0, None))[1],
            delivered_total=row.delivered_total,
            failures_total=row.failures_total,
            failing_since_us=row.failing_since_us,
        )
        for row in rows
    ]


def prune(session: Session, horizon_us: int) -> int:
    """Deletes what is older than the horizon: deliveries made before it (sent or not: an
    endpoint disabled that long has lost them), then messages no delivery needs."""
    result = session.execute(delete(WebhookDelivery).where(WebhookDelivery.created_us < horizon_us))
    session.execute(
        delete(WebhookMessage).where(
            WebhookMessage.created_us < horizon_us,
            ~exists().where(WebhookDelivery.message_id == WebhookMessage.id),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def prunable(session: Session, horizon_us: int) -> bool:
    return (
        session.scalar(select(WebhookMessage.id).where(WebhookMessage.created_us < horizon_us).limit(1))
        is not None
    )


def target_names(session: Session) -> list[str]:
    """The fan-out's outbox target, once it exists: what the worker prunes up to and reports."""
    found = session.scalar(select(DeliveryTarget.name).where(DeliveryTarget.name == outbox.WEBHOOKS_TARGET))
    return [found] if found is not None else []
