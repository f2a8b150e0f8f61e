"""`/api/v1/subscriptions`: saved filters with a stable URL and feeds in every format
(docs/feeds.md#subscriptions). Anyone may make one: a subscription holds only what the
public feeds hold, and the same filter is always the same subscription, so asking twice
makes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app
from pydantic import BaseModel, ValidationError

from feedsvc import db, paths
from feedsvc.models import Subscription
from feedsvc.publishing.input import field_errors
from feedsvc.publishing.subscriptions import NotSubscribed, SubscriptionIn, name_errors, subscribe
from feedsvc.store.subscriptions import by_key
from feedsvc.web import urls
from feedsvc.web.api.requests import Refusal, json_object
from feedsvc.web.problems import problem

blueprint = Blueprint("api_subscriptions", __name__, url_prefix="/api/v1/subscriptions")


class SubscriptionOut(BaseModel):
    key: str
    url: str
    cities: list[str]
    regions: list[str]
    topics: list[str]
    q: str | None
    urgency: int | None
    feeds: dict[str, str]
    created_at: datetime


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    page = paths.subscription_path(subscription.key)
    return SubscriptionOut(
        key=subscription.key,
        url=urls.absolute(page),
        cities=[city.slug for city in subscription.cities],
        regions=[region.slug for region in subscription.regions],
        topics=[topic.slug for topic in subscription.topics],
        q=subscription.query,
        urgency=subscription.urgency_floor,
        feeds={fmt: urls.absolute(paths.feed_path(page, fmt)) for fmt in paths.FEED_FORMATS},
        created_at=subscription.created_at,
    )


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    db.session().rollback()
    return refusal.response


def _json(payload: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        payload.model_dump_json(), status=status, content_type="application/json", headers=headers
    )


@blueprint.post("")
def create() -> Response:
    """The subscription of a filter: 201 when it is new, 200 when it existed."""
    body: dict[str, Any] = json_object()
    try:
        data = SubscriptionIn.model_validate(body)
    except ValidationError as error:
        errors = field_errors(error)
        refused = {item.field for item in errors}
        # Unknown names too, at once, not in a second round.
        errors += [item for item in name_errors(db.session(), body) if item.field not in refused]
        raise Refusal(problem(422, "some fields are invalid", errors=errors)) from None
    session = db.session()
    db.begin_writing(session)
    outcome = subscribe(session, data, current_app.config["CLOCK"]())
    if isinstance(outcome, NotSubscribed):
        raise Refusal(
            problem(422, "some fields name unknown or retired entries", errors=list(outcome.errors))
        )
    session.commit()
    answer = subscription_out(outcome.subscription)
    location = {"Location": urls.absolute(f"/api/v1/subscriptions/{outcome.subscription.key}")}
    return _json(answer, 201 if outcome.created else 200, location)


@blueprint.get("/<key>")
def read(key: str) -> Response:
    subscription = by_key(db.session(), key)
    if subscription is None:
        return problem(404, f"no subscription '{key[:40]}'")
    return _json(subscription_out(subscription))
