"""`/publish/webhooks`: newsrooms' webhook endpoints and their delivery log, for admins
(docs/pages.md#webhooks). Everyone else gets 403.

Admins see every endpoint, those the worker disabled first with why; each one's delivery
log; and enable an endpoint again or send a delivery again from here. Registering and
removing are the API's and `feedsvc webhooks`' (a secret must be shown once, to whoever
sets up the newsroom's system). Every admin page's navigation counts disabled endpoints,
so a disabling is noticed wherever an admin is in the desk.
"""

from __future__ import annotations

from flask import Flask, Response, flash

from feedsvc import db
from feedsvc.db import begin_writing
from feedsvc.publishing import webhooks as registering
from feedsvc.store import webhooks as rows
from feedsvc.store.changes import from_micros
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import MAX_ROW_ID, admin_only
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.publish_session import SignedIn
from feedsvc.web.pages.responses import now, private_page

blueprint = desk.blueprint("desk_webhooks", __name__)

LOG_SIZE = 100
NO_SUCH_WEBHOOK = "Diesen Webhook gibt es nicht."
NO_SUCH_DELIVERY = "Diese Zustellung gibt es bei diesem Webhook nicht."
ENABLE_FIRST = "Der Webhook ist deaktiviert: Bitte aktivieren Sie ihn zuerst."
EVENT_LABELS = {
    "release.published": "Veröffentlicht",
    "release.corrected": "Korrigiert",
    "release.retracted": "Zurückgezogen",
}
# Delivery ids are BIGINT: a larger one names nothing, and must not reach the database.
MAX_DELIVERY_ID = 2**63 - 1


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    # Asked by the desk's navigation for admins only: one count, no rows.
    app.jinja_env.globals["disabled_webhooks"] = lambda: rows.disabled_count(db.session())


def _instant(value_us: int) -> object:
    return from_micros(value_us) if value_us else None


@blueprint.get("/webhooks")
@admin_only
def webhook_list(signed: SignedIn) -> Response:
    session = db.session()
    found = sorted(rows.endpoints(session), key=lambda endpoint: (endpoint.enabled, endpoint.id))
    stats = {each.endpoint_id: each for each in rows.stats(session)}
    return private_page(
        "publish/webhooks.html",
        head=desk.head("Webhooks"),
        endpoints=found,
        stats=stats,
        instant=_instant,
    )


@blueprint.get("/webhooks/<int:webhook_id>")
@admin_only
def webhook_log(signed: SignedIn, webhook_id: int) -> Response:
    session = db.session()
    endpoint = rows.endpoint_by_id(session, webhook_id) if webhook_id <= MAX_ROW_ID else None
    if endpoint is None:
        return error_response(404, private=True, message=NO_SUCH_WEBHOOK)
    stats = next((each for each in rows.stats(session) if each.endpoint_id == endpoint.id), None)
    return private_page(
        "publish/webhook.html",
        head=desk.head(f"Webhook {endpoint.id}"),
        endpoint=endpoint,
        stats=stats,
        deliveries=rows.deliveries(session, endpoint.id, LOG_SIZE),
        events=EVENT_LABELS,
        instant=_instant,
        pending=rows.PENDING,
    )


@blueprint.post("/webhooks/<int:webhook_id>/enable")
@admin_only
def enable_webhook(signed: SignedIn, webhook_id: int) -> Response:
    session = db.session()
    begin_writing(session)
    endpoint = rows.endpoint_by_id(session, webhook_id) if webhook_id <= MAX_ROW_ID else None
    if endpoint is None:
        session.rollback()
        return error_response(404, private=True, message=NO_SUCH_WEBHOOK)
    if registering.enable(session, endpoint, now=now(), by=signed.acting):
        session.commit()
        flash(f"Webhook {webhook_id} ist wieder aktiv; was auf ihn gewartet hat, wird jetzt zugestellt.")
    else:
        session.rollback()
        flash(f"Webhook {webhook_id} war schon aktiv.")
    return desk.see_other("desk_webhooks.webhook_log", webhook_id=webhook_id)


@blueprint.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@admin_only
def redeliver(signed: SignedIn, webhook_id: int, delivery_id: int) -> Response:
    session = db.session()
    begin_writing(session)
    endpoint = rows.endpoint_by_id(session, webhook_id) if webhook_id <= MAX_ROW_ID else None
    if endpoint is None:
        session.rollback()
        return error_response(404, private=True, message=NO_SUCH_WEBHOOK)
    found = rows.delivery_by_id(session, endpoint.id, delivery_id) if delivery_id <= MAX_DELIVERY_ID else None
    if found is None:
        session.rollback()
        return error_response(404, private=True, message=NO_SUCH_DELIVERY)
    if not endpoint.enabled:
        session.rollback()
        return error_response(409, private=True, message=ENABLE_FIRST)
    registering.redeliver(session, endpoint, found, now=now(), by=signed.acting)
    session.commit()
    flash(f"Zustellung {delivery_id} wird erneut gesendet, mit derselben webhook-id.")
    return desk.see_other("desk_webhooks.webhook_log", webhook_id=webhook_id)
