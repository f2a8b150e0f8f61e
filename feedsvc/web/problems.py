"""RFC 9457 problem details: the body of every error the API and feeds return.

Every problem uses type `about:blank`, so its title is the HTTP status phrase
(RFC 9457 §4.2.1) and `detail` says what went wrong in this request.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from flask import Response, json

from feedsvc.publishing.input import FieldError

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors:
        body["errors"] = [error.model_dump() for error in errors]
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
