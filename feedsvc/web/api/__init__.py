"""The JSON API under /api/v1: every error it returns is problem+json."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from feedsvc.web.api import catalog, media, openapi, releases, subscriptions, webhooks
from feedsvc.web.problems import problem

API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    app.register_blueprint(releases.blueprint)
    app.register_blueprint(catalog.blueprint)
    app.register_blueprint(media.blueprint)
    app.register_blueprint(subscriptions.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(openapi.blueprint)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def problem_for(error: HTTPException) -> Response:
    """An HTTP error (routing's 404 and 405, 413 …) as problem+json."""
    assert error.code is not None
    headers = {}
    if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return problem(error.code, error.description, headers=headers)
