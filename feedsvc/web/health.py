"""Database availability and delivery lag: `GET /healthz`, and 503 (not 500) while the
database is unreachable.

`/healthz` also reports how far behind the delivery worker is: per target (the caches
to purge, each WebSub hub), how many changes it has not taken and how long the oldest
of them has been due. Past `FEEDSVC_DELIVERY_LAG_ALERT` seconds it answers `degraded`
with 503, so an alert fires when the worker is dead, stuck or a target keeps failing.
`/healthz?only=database` leaves delivery out: for probes that take a server out of
rotation (a cache's backend probe), which a hub that is down must not do. Where feed
sources are pulled (`feedsvc feed-sources`), it also lists those whose pulls fail, which
leaves the status `ok` (not with `only=database`). Once newsrooms registered webhooks, the
fan-out to them is a delivery target (`webhooks`) like the others, and `webhooks` lists the
endpoints that fail or were disabled, with what waits for each: a newsroom's system that is
down is its own trouble, so that too leaves the status `ok`.

Feeds rendered before keep being served during an outage (`web.feeds`, `stale-if-error`);
every other request that needs the database answers 503 with Retry-After. Nothing has
to be restarted when the database returns: `pool_pre_ping` (db.make_engine) replaces
the pool's dead connections on their next use.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, json, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.store import feed_sources, outbox
from feedsvc.store import webhooks as webhook_rows
from feedsvc.store.changes import from_micros, micros
from feedsvc.web.problems import PROBLEM_MEDIA_TYPE, problem

blueprint = Blueprint("health", __name__)

RETRY_AFTER_SECONDS = 30
UNREACHABLE = "the database is unreachable; try again shortly"
_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Vorübergehend nicht erreichbar</title></head>
<body><h1>Vorübergehend nicht erreichbar</h1>
<p>Die Pressemitteilungen sind gerade nicht abrufbar. Bitte versuchen Sie es in einigen Minuten erneut.</p>
</body></html>
"""


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeoutError, _database_error)


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 when the database answers a read and delivery keeps up; 503 when the database
    does not answer (problem+json) or delivery lags past the threshold (`degraded`). Never cached."""
    try:
        with db.engine().connect() as connection:
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        delivery = None if request.args.get("only") == "database" else delivery_status()
        sources = None if request.args.get("only") == "database" else feed_source_status()
        hooks = None if request.args.get("only") == "database" else webhook_status()
    except SQLAlchemyError as error:
        current_app.logger.warning("health check failed: %s", error)
        reason = db.outage_reason(error) if db.is_outage(error) else UNREACHABLE
        response = problem(503, reason, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, database=reason)
    else:
        alert_after: float = current_app.config["DELIVERY_LAG_ALERT"]
        degraded = delivery is not None and bool(alert_after) and delivery["lag_seconds"] > alert_after
        body = {"status": "degraded" if degraded else "ok", "database": "ok", "schema": revision}
        if delivery is not None:
            body["delivery"] = delivery
        if sources is not None:
            body["feed_sources"] = sources
        if hooks is not None:
            body["webhooks"] = hooks
        response = Response(
            json.dumps(body), status=503 if degraded else 200, content_type="application/json"
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def delivery_status() -> dict[str, Any]:
    """The delivery lag overall and per configured target, as /healthz reports it."""
    config = current_app.config
    names = outbox.target_names(config["CACHE_PURGE_URLS"], config["HUB_URLS"])
    now_us = micros(config["CLOCK"]())
    with Session(db.engine()) as session:
        backlogs = outbox.backlog(session, names + webhook_rows.target_names(session), now_us)
    targets = {
        backlog.name: {
            "lag_seconds": round(backlog.lag_seconds(now_us), 3),
            "pending": backlog.pending,
            "attempts": backlog.attempts,
            "last_error": backlog.last_error,
        }
        for backlog in backlogs
    }
    worst = max((round(backlog.lag_seconds(now_us), 3) for backlog in backlogs), default=0.0)
    return {"lag_seconds": worst, "alert_after_seconds": config["DELIVERY_LAG_ALERT"], "targets": targets}


def feed_source_status() -> dict[str, Any] | None:
    """How the pulls of feed sources go (None while there are none): the failing ones, with
    their last error. A failing source is another site's trouble, not this server's: it
    is reported here for monitoring, but leaves the status `ok`."""
    with Session(db.engine()) as session:
        total = feed_sources.count(session)
        if not total:
            return None
        failing = [
            {
                "id": source.id,
                "url": source.url,
                "city": source.city.slug,
                "failures": source.failures,
                "last_error": source.last_error,
                "last_success": _instant(source.last_success_us),
            }
            for source in feed_sources.failing(session)
        ]
    return {"total": total, "failing": failing}


def webhook_status() -> dict[str, Any] | None:
    """The newsrooms' webhook endpoints (None while there are none): how many, what waits,
    and those failing or disabled."""
    with Session(db.engine()) as session:
        endpoints = webhook_rows.stats(session)
    if not endpoints:
        return None
    troubled = [
        {
            "id": each.endpoint_id,
            "enabled": each.enabled,
            "pending": each.pending,
            "failing_since": _instant(each.failing_since_us),
        }
        for each in endpoints
        if not each.enabled or each.failing_since_us
    ]
    return {
        "total": len(endpoints),
        "pending": sum(each.pending for each in endpoints),
        "disabled": sum(1 for each in endpoints if not each.enabled),
        "failing": troubled,
    }


def _instant(value_us: int) -> str | None:
    return from_micros(value_us).isoformat() if value_us else None


def _database_error(error: SQLAlchemyError) -> Response:
    if not db.is_outage(error):
        raise error
    current_app.logger.warning("database unreachable during %s %s: %s", request.method, request.path, error)
    db.session().rollback()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    best = request.accept_mimetypes.best_match([PROBLEM_MEDIA_TYPE, "application/json", "text/html"])
    if best == "text/html" and not request.path.startswith("/api/"):
        return Response(_PAGE, status=503, content_type="text/html; charset=utf-8", headers=headers)
    return problem(503, db.outage_reason(error), headers=headers)
