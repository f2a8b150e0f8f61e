"""Registering and managing newsrooms' webhook endpoints, one way for the API and the
commands (docs/api.md#webhooks): each refuses the same input with the same messages, and
every change is in the audit log.

An endpoint is registered for a subscription, named by its key or made from the same
filter fields as `POST /api/v1/subscriptions` (`publishing.subscriptions`). Its URL must be
absolute https, or http to this machine's loopback (`localhost`, 127.0.0.0/8, `::1`) outside
production, for a receiver under development: a release body travels in the clear
otherwise, and a production server has no business posting to its own loopback.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from feedsvc.models import WebhookDelivery, WebhookEndpoint
from feedsvc.publishing.input import FieldError, PlainText
from feedsvc.publishing.subscriptions import NotSubscribed, SubscriptionIn, subscribe
from feedsvc.store import audit, subscriptions
from feedsvc.store import webhooks as rows
from feedsvc.store.audit import Acting
from feedsvc.store.changes import micros

MAX_URL_CHARS = 2000
MAX_DESCRIPTION_CHARS = 500
FILTER_FIELDS = ("cities", "regions", "topics", "q", "urgency")
LOOPBACK_NAMES = frozenset({"localhost"})


def url_problem(url: str, *, production: bool) -> str | None:
    """What is wrong with an endpoint URL, or None."""
    if len(url) > MAX_URL_CHARS:
        return f"must be at most {MAX_URL_CHARS} characters"
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "must be plain ASCII without spaces or control characters (write a host name in punycode)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return "is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute https:// URL"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password: the signature proves who sends"
    if parts.fragment or url.endswith("#"):
        return "must not have a fragment (#…)"
    if scheme == "http":
        if production:
            return (
                "must be https:// (http:// is taken only for a receiver on this machine, outside production)"
            )
        if not _is_loopback(parts.hostname):
            return "must be https:// (http:// is taken only for localhost, 127.0.0.0/8 and ::1)"
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookIn(SubscriptionIn):
    """A new endpoint: its URL and description, and its subscription, named by `subscription`
    (a key) or by the filter fields of a subscription (the empty filter holds everything)."""

    url: Annotated[str, Field(max_length=MAX_URL_CHARS)]
    description: Annotated[PlainText, Field(max_length=MAX_DESCRIPTION_CHARS)] = ""
    subscription: Annotated[str, Field(min_length=1, max_length=40)] | None = None

    @model_validator(mode="after")
    def _one_way_to_name_the_subscription(self) -> WebhookIn:
        if self.subscription is not None and self.model_fields_set & set(FILTER_FIELDS):
            raise ValueError("subscription: give a subscription's key or its filter fields, not both")
        return self

    def filter(self) -> SubscriptionIn:
        return SubscriptionIn.model_validate(self.model_dump(include=set(FILTER_FIELDS)))


@dataclass(frozen=True)
class Registered:
    endpoint: WebhookEndpoint
    # The secret, to show this once; the endpoint keeps it for signing.
    secret: str


@dataclass(frozen=True)
class NotRegistered:
    """Input that names nothing usable; each problem with its field."""

    errors: tuple[FieldError, ...]


def register(
    session: Session, data: WebhookIn, *, now: datetime, by: Acting, production: bool
) -> Registered | NotRegistered:
    """Registers an endpoint in the caller's (writing) transaction, which the caller commits."""
    problem = url_problem(data.url, production=production)
    if problem is not None:
        return NotRegistered((FieldError(field="url", message=problem),))
    if data.subscription is not None:
        subscription = subscriptions.by_key(session, data.subscription)
        if subscription is None:
            message = f"no subscription '{data.subscription}'"
            return NotRegistered((FieldError(field="subscription", message=message),))
    else:
        outcome = subscribe(session, data.filter(), now)
        if isinstance(outcome, NotSubscribed):
            return NotRegistered(outcome.errors)
        subscription = outcome.subscription
    endpoint = rows.add_endpoint(
        session,
        subscription=subscription,
        url=data.url,
        description=data.description,
        created_by=by.actor.label,
        now=now,
    )
    audit.record_by(
        session,
        by,
        now,
        "webhook.created",
        audit.Subject("webhook", endpoint.id),
        {"url": endpoint.url, "subscription": subscription.key},
    )
    return Registered(endpoint, endpoint.secret)


def remove(session: Session, endpoint: WebhookEndpoint, *, now: datetime, by: Acting) -> None:
    audit.record_by(
        session, by, now, "webhook.removed", audit.Subject("webhook", endpoint.id), {"url": endpoint.url}
    )
    rows.remove_endpoint(session, endpoint)


def enable(session: Session, endpoint: WebhookEndpoint, *, now: datetime, by: Acting) -> bool:
    """Enables a disabled endpoint (True), its waiting deliveries due at once; False: it was enabled."""
    if endpoint.enabled:
        return False
    rows.enable(session, endpoint, micros(now))
    audit.record_by(
        session, by, now, "webhook.enabled", audit.Subject("webhook", endpoint.id), {"url": endpoint.url}
    )
    return True


def redeliver(
    session: Session, endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, now: datetime, by: Acting
) -> None:
    rows.redeliver(session, delivery, micros(now))
    audit.record_by(
        session,
        by,
        now,
        "webhook.redelivered",
        audit.Subject("webhook", endpoint.id),
        {"delivery": delivery.id, "webhook_id": delivery.message.message_id},
    )
