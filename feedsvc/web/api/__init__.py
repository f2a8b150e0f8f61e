"""The JSON API under /api/v1: every error it returns is problem+json."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from feedsvc.web.api import catalog, openapi, releases
from feedsvc.web.problems import problem

API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    app.register_blueprint(releases.blueprint)
    app.register_blueprint(catalog.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_error_handler(HTTPException, _http_error)


def _http_error(error: HTTPException) -> Response | HTTPException:
    """Routing errors (404, 405, 413 …) under /api/ as problem+json; elsewhere Flask's default."""
    if not request.path.startswith(API_PREFIX) or error.code is None:
        return error
    headers = {}
    if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return problem(error.code, error.description, headers=headers)
