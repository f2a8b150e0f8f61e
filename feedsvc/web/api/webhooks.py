"""`/api/v1/webhooks`: newsrooms' endpoints that hear of the releases of a subscription,
signed per Standard Webhooks, and their delivery log (docs/api.md#webhooks). Admin token only.

Registering is `publishing.webhooks`'s, as for `feedsvc webhooks add`; the signing secret is
in the answer to the `POST` and nowhere else ever after.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ValidationError

from feedsvc import db, paths
from feedsvc.models import WebhookDelivery, WebhookEndpoint
from feedsvc.publishing import webhooks as registering
from feedsvc.publishing.input import field_errors
from feedsvc.publishing.webhooks import NotRegistered, WebhookIn
from feedsvc.store import webhooks as rows
from feedsvc.store.audit import Acting, token_actor
from feedsvc.store.changes import from_micros
from feedsvc.web import urls
from feedsvc.web.api.requests import Refusal, json_object, require_writer
from feedsvc.web.auth import client_address
from feedsvc.web.problems import problem

blueprint = Blueprint("api_webhooks", __name__, url_prefix="/api/v1/webhooks")

# Endpoint ids are INTEGER (32 bits on PostgreSQL), delivery ids BIGINT: larger ones name nothing.
MAX_ENDPOINT_ID = 2**31 - 1
MAX_DELIVERY_ID = 2**63 - 1
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class SubscriptionFilterOut(BaseModel):
    key: str
    url: str
    cities: list[str]
    regions: list[str]
    topics: list[str]
    q: str | None
    urgency: int | None


class WebhookOut(BaseModel):
    id: int
    url: str
    description: str
    subscription: SubscriptionFilterOut
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime
    created_by: str
    # Since when every attempt failed (None: the last one succeeded, or none was made).
    failing_since: datetime | None
    delivered: int
    failed_attempts: int
    pending: int
    deliveries_url: str


class WebhookCreated(WebhookOut):
    # The signing secret (Standard Webhooks, `whsec_…`): shown in this answer only.
    secret: str


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str  # the `webhook-id` header: the same on every attempt and redelivery
    event_type: str
    release_id: int
    status: str  # "pending" or "delivered"
    attempts: int
    last_status: int | None
    last_error: str
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    # The next (older) page, if there is one.
    next: str | None


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    db.session().rollback()
    return refusal.response


def _admin() -> Acting:
    token = require_writer()
    if token.role != "admin":
        raise Refusal(problem(403, "only an admin token may manage webhooks"))
    return Acting(token_actor(token), client_address())


def _json(payload: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        payload.model_dump_json(), status=status, content_type="application/json", headers=headers
    )


def _instant(value_us: int) -> datetime | None:
    return from_micros(value_us) if value_us else None


def webhook_out(endpoint: WebhookEndpoint, stats: rows.EndpointStats | None = None) -> WebhookOut:
    subscription = endpoint.subscription
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        subscription=SubscriptionFilterOut(
            key=subscription.key,
            url=urls.absolute(paths.subscription_path(subscription.key)),
            cities=[city.slug for city in subscription.cities],
            regions=[region.slug for region in subscription.regions],
            topics=[topic.slug for topic in subscription.topics],
            q=subscription.query,
            urgency=subscription.urgency_floor,
        ),
        enabled=endpoint.enabled,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        created_by=endpoint.created_by,
        failing_since=_instant(endpoint.failing_since_us),
        delivered=endpoint.delivered_total,
        failed_attempts=endpoint.failures_total,
        pending=stats.pending if stats is not None else 0,
        deliveries_url=urls.absolute(f"/api/v1/webhooks/{endpoint.id}/deliveries"),
    )


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    message = delivery.message
    return DeliveryOut(
        id=delivery.id,
        webhook_id=message.message_id,
        event_type=message.event_type,
        release_id=message.release_id,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        created_at=from_micros(delivery.created_us),
        last_attempt_at=_instant(delivery.last_attempt_us),
        delivered_at=_instant(delivery.delivered_us),
        next_attempt_at=from_micros(delivery.next_attempt_us) if delivery.status == rows.PENDING else None,
    )


def _stats_of(endpoint_id: int) -> rows.EndpointStats | None:
    return next((each for each in rows.stats(db.session()) if each.endpoint_id == endpoint_id), None)


def _endpoint(webhook_id: int) -> WebhookEndpoint:
    found = rows.endpoint_by_id(db.session(), webhook_id) if webhook_id <= MAX_ENDPOINT_ID else None
    if found is None:
        raise Refusal(problem(404, f"no webhook {webhook_id}"))
    return found


def _now() -> datetime:
    now: datetime = current_app.config["CLOCK"]()
    return now


@blueprint.post("")
def create() -> Response:
    """Registers an endpoint: 201 with its signing secret, shown this once."""
    by = _admin()
    body = json_object()
    try:
        data = WebhookIn.model_validate(body)
    except ValidationError as error:
        raise Refusal(problem(422, "some fields are invalid", errors=field_errors(error))) from None
    session = db.session()
    db.begin_writing(session)
    outcome = registering.register(
        session, data, now=_now(), by=by, production=current_app.config["ENV"] == "production"
    )
    if isinstance(outcome, NotRegistered):
        raise Refusal(problem(422, "some fields are invalid or name nothing", errors=list(outcome.errors)))
    session.commit()
    created = WebhookCreated(**webhook_out(outcome.endpoint).model_dump(), secret=outcome.secret)
    location = {"Location": urls.absolute(f"/api/v1/webhooks/{outcome.endpoint.id}")}
    return _json(created, 201, location)


@blueprint.get("")
def list_webhooks() -> Response:
    _admin()
    session = db.session()
    stats = {each.endpoint_id: each for each in rows.stats(session)}
    items = [webhook_out(endpoint, stats.get(endpoint.id)) for endpoint in rows.endpoints(session)]
    return Response(
        "[" + ",".join(item.model_dump_json() for item in items) + "]", content_type="application/json"
    )


@blueprint.get("/<int:webhook_id>")
def read(webhook_id: int) -> Response:
    _admin()
    endpoint = _endpoint(webhook_id)
    return _json(webhook_out(endpoint, _stats_of(endpoint.id)))


@blueprint.delete("/<int:webhook_id>")
def remove(webhook_id: int) -> Response:
    by = _admin()
    session = db.session()
    db.begin_writing(session)
    registering.remove(session, _endpoint(webhook_id), now=_now(), by=by)
    session.commit()
    return Response(status=204)


@blueprint.post("/<int:webhook_id>/enable")
def enable(webhook_id: int) -> Response:
    """Enables a disabled endpoint; one that is enabled stays so (200 either way)."""
    by = _admin()
    session = db.session()
    db.begin_writing(session)
    endpoint = _endpoint(webhook_id)
    registering.enable(session, endpoint, now=_now(), by=by)
    session.commit()
    return _json(webhook_out(endpoint, _stats_of(endpoint.id)))


@blueprint.get("/<int:webhook_id>/deliveries")
def deliveries(webhook_id: int) -> Response:
    """The delivery log, newest first, `limit` at a time; `before` pages to older ones."""
    _admin()
    endpoint = _endpoint(webhook_id)
    limit = _number("limit", MAX_PAGE_SIZE) or PAGE_SIZE
    before = _number("before", MAX_DELIVERY_ID)
    found = rows.deliveries(db.session(), endpoint.id, limit + 1, before)
    next_url = None
    if len(found) > limit:
        found = found[:limit]
        params = {"limit": str(limit), "before": str(found[-1].id)}
        next_url = urls.absolute(f"/api/v1/webhooks/{endpoint.id}/deliveries", params)
    return _json(DeliveryList(items=[delivery_out(each) for each in found], next=next_url))


def _number(name: str, maximum: int) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 20) or not 1 <= int(text) <= maximum:
        raise Refusal(problem(400, f"{name} must be a whole number from 1 to {maximum}"))
    return int(text)


@blueprint.post("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver(webhook_id: int, delivery_id: int) -> Response:
    """Sends a delivery again with the same `webhook-id`: 202, the worker sends it."""
    by = _admin()
    session = db.session()
    db.begin_writing(session)
    endpoint = _endpoint(webhook_id)
    delivery = (
        rows.delivery_by_id(session, endpoint.id, delivery_id) if delivery_id <= MAX_DELIVERY_ID else None
    )
    if delivery is None:
        raise Refusal(problem(404, f"webhook {webhook_id} has no delivery {delivery_id}"))
    if not endpoint.enabled:
        raise Refusal(problem(409, f"webhook {webhook_id} is disabled: enable it first"))
    registering.redeliver(session, endpoint, delivery, now=_now(), by=by)
    session.commit()
    return _json(delivery_out(delivery), 202)
