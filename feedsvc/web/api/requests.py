"""Reading an API request: the bearer token and the JSON body, each with the
problem+json answer for what can go wrong (CONTRACT §5, §6)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from feedsvc import db
from feedsvc.models import Token
from feedsvc.store.tokens import token_by_secret
from feedsvc.web.problems import problem


class Refusal(Exception):
    """Ends a request early with a problem+json response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def bearer_token() -> Token | None:
    """The token of an `Authorization: Bearer` header, if one is given and valid."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return token_by_secret(db.session(), secret.strip())


def require_writer() -> Token:
    token = bearer_token()
    if token is None:
        detail = "a valid 'Authorization: Bearer <token>' header is required"
        raise Refusal(problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="feedsvc"'}))
    if token.role == "journalist":
        raise Refusal(problem(403, "journalist tokens may read embargoed releases but not write"))
    return token


def json_body() -> Any:
    """The decoded JSON body; refuses a body that is too large, not JSON, or malformed."""
    limit: int = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise Refusal(problem(413, f"the request body may be at most {limit} bytes"))
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise Refusal(problem(415, "send the release as 'Content-Type: application/json'"))
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise Refusal(problem(413, f"the request body may be at most {limit} bytes")) from None
    if len(raw) > limit:
        raise Refusal(problem(413, f"the request body may be at most {limit} bytes"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(problem(400, f"the body is not valid UTF-8 (byte {error.start})")) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        detail = f"malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        raise Refusal(problem(400, detail)) from None
    except RecursionError:
        raise Refusal(problem(400, "malformed JSON: nested too deeply")) from None
