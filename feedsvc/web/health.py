"""Database availability: `GET /healthz`, and 503 (not 500) while the database is unreachable.

Feeds rendered before keep being served during an outage (feeds.py, `stale-if-error`);
every other request that needs the database answers 503 with Retry-After. Nothing has
to be restarted when the database returns: `pool_pre_ping` (db.make_engine) replaces
the pool's dead connections on their next use.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, json, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from feedsvc import db
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
    """200 when the database answers a read, 503 when it does not. Never cached."""
    try:
        with db.engine().connect() as connection:
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError as error:
        current_app.logger.warning("health check failed: %s", error)
        response = problem(503, UNREACHABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    else:
        body = json.dumps({"status": "ok", "database": "ok", "schema": revision})
        response = Response(body, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _database_error(error: SQLAlchemyError) -> Response:
    if not db.is_outage(error):
        raise error
    current_app.logger.warning("database unreachable during %s %s: %s", request.method, request.path, error)
    db.session().rollback()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    best = request.accept_mimetypes.best_match([PROBLEM_MEDIA_TYPE, "application/json", "text/html"])
    if best == "text/html" and not request.path.startswith("/api/"):
        return Response(_PAGE, status=503, content_type="text/html; charset=utf-8", headers=headers)
    return problem(503, UNREACHABLE, headers=headers)
