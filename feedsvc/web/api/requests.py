"""Reading an API request: the writer's token and the JSON body, each with the
problem+json answer for what can go wrong (docs/api.md#errors, docs/api.md#tokens-and-scope)."""

from __future__ import annotations

import json
from typing import IO, Any

from flask import Response, current_app, request
from werkzeug.exceptions import ClientDisconnected

from feedsvc.models import Token
from feedsvc.publishing.input import FieldError
from feedsvc.web.auth import bearer_token
from feedsvc.web.problems import problem

# Far deeper than any release ({"images": [{"url": ...}]} is 3 levels), far shallower than
# Python's recursion limit, which validation and cleaning walk into.
MAX_JSON_DEPTH = 32
_CHUNK = 64 * 1024


class Refusal(Exception):
    """Ends a request early with a problem+json response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def require_writer() -> Token:
    token = bearer_token()
    if token is None:
        detail = "a valid 'Authorization: Bearer <token>' header is required"
        raise Refusal(problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="feedsvc"'}))
    if token.role == "journalist":
        raise Refusal(problem(403, "journalist tokens may read embargoed releases but not write"))
    return token


def json_body() -> Any:
    """The decoded JSON body; refuses a body that is too large, not JSON, malformed or too deep.

    The size is checked before anything is parsed: from Content-Length when there is one,
    else while a chunked body is read, which stops one byte past the limit.
    """
    limit: int = current_app.config["MAX_CONTENT_LENGTH"]
    too_large = problem(413, f"the request body may be at most {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise Refusal(too_large)
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise Refusal(problem(415, "send the release as 'Content-Type: application/json'"))
    raw = _read_body(limit)
    if raw is None:
        raise Refusal(too_large)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(problem(400, f"the body is not valid UTF-8 (byte {error.start})")) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        detail = f"malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        raise Refusal(problem(400, detail)) from None
    except ValueError as error:
        # NaN/Infinity (not JSON at all) and integers of more than 4,300 digits, which
        # Python refuses to convert (CVE-2020-10735).
        raise Refusal(problem(400, f"malformed JSON: {error}")) from None
    except RecursionError:
        raise Refusal(problem(400, _too_deep())) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise Refusal(problem(400, _too_deep()))
    return value


def json_object() -> dict[str, Any]:
    """The decoded JSON body, which must be an object (422 for `null`, arrays, strings ...)."""
    value = json_body()
    if not isinstance(value, dict):
        error = FieldError(field="(body)", message="must be a JSON object")
        raise Refusal(problem(422, "the body must be a JSON object", errors=[error]))
    return value


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` bytes."""
    if request.content_length is not None:
        return request.get_data(cache=True)
    if not request.environ.get("wsgi.input_terminated"):
        # No length and a server that does not end the stream: no body can be read safely.
        return b""
    # Chunked: werkzeug's own limit would silently cut the body at `limit` bytes, so read
    # the server's (terminated) stream directly, one byte further than allowed.
    stream: IO[bytes] = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = stream.read(min(_CHUNK, limit + 1 - size))
        except (OSError, ValueError):
            raise ClientDisconnected() from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep() -> str:
    return f"malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels"


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (iteratively: no recursion)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest
