"""The outermost WSGI layer: refuses what no part of feedsvc can answer sensibly, before
anything reads it, and labels every response `X-Content-Type-Options: nosniff`.

Refused with 400 (problem+json under /api/, plain text elsewhere):

- a NUL byte in the path or the query string: PostgreSQL cannot hold one in a string, so a
  slug or `?city=` with one could only ever fail;
- a `Host` or `X-Forwarded-Host` that is not a host name (labels of 1–63 letters, digits and
  hyphens, at most 253 characters, an optional port): werkzeug's IDNA encoding fails on it;
- a header value that is not Latin-1 (only possible from in-process clients).

Refused with 414 and 431: a request target longer than `MAX_TARGET` and a header longer than
`MAX_HEADER`. gunicorn is configured to let such requests through (up to its own, larger caps,
`cli/serve.py`), so that they are answered here, as problem+json under /api/.

The request body is wrapped so that a broken chunked encoding or a body shorter than its
Content-Length ends the request with 400 (werkzeug's ClientDisconnected), not a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any

from werkzeug.exceptions import ClientDisconnected

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MAX_TARGET = 8190  # characters of path and query, as gunicorn's default request line limit
MAX_HEADER = 8190  # characters of one header value, as gunicorn's default header field limit
NOSNIFF = ("X-Content-Type-Options", "nosniff")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?"
    r"|\[[0-9A-Fa-f:.]+\]"
)
_PORT = re.compile(r":[0-9]{1,5}")
_API_PREFIX = "/api/"


def refusal(environ: WSGIEnvironment) -> tuple[int, str] | None:
    """The status and reason a request is refused with, or None when it may go on."""
    path: str = environ.get("PATH_INFO", "")
    query: str = environ.get("QUERY_STRING", "")
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path + "?" + query
    if len(target) > MAX_TARGET:
        return 414, f"the request target may be at most {MAX_TARGET} characters"
    if "\x00" in path or "\x00" in query or "%00" in query or "%00" in path:
        return 400, "the path and the query string may not contain a NUL byte"
    for key, value in environ.items():
        if not key.startswith("HTTP_") or not isinstance(value, str):
            continue
        if len(value) > MAX_HEADER:
            return 431, f"a header may be at most {MAX_HEADER} characters"
        if not value.isascii():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                return 400, "header values must be Latin-1"
    for key in ("HTTP_HOST", "HTTP_X_FORWARDED_HOST"):
        value = environ.get(key)
        if value is not None and not all(_is_host(part.strip()) for part in value.split(",")):
            return 400, "the Host header is not a valid host name"
    return None


def _is_host(value: str) -> bool:
    host, port = value, ""
    if not value.endswith("]") and value.count(":") == 1:
        host, _, rest = value.partition(":")
        port = ":" + rest
    elif value.startswith("[") and "]:" in value:
        host, _, rest = value.partition("]:")
        host, port = host + "]", ":" + rest
    if port and not _PORT.fullmatch(port):
        return False
    return len(host) <= 253 and _HOST.fullmatch(host) is not None


def answer(environ: WSGIEnvironment, status: int, detail: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """A refusal: problem+json under /api/ (docs/api.md#errors), plain text elsewhere."""
    phrase = HTTPStatus(status).phrase
    if str(environ.get("PATH_INFO", "")).startswith(_API_PREFIX):
        document = {"type": "about:blank", "title": phrase, "status": status, "detail": detail}
        body = json.dumps(document).encode()
        media_type = "application/problem+json"
    else:
        body = f"{status} {phrase}: {detail}\n".encode()
        media_type = "text/plain; charset=utf-8"
    headers = [
        ("Content-Type", media_type),
        ("Content-Length", str(len(body))),
        NOSNIFF,
        ("Connection", "close"),
    ]
    return f"{status} {phrase}", headers, body


class _GuardedInput:
    """The request body stream; a read the server cannot complete ends the request with 400."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._call(self._stream.read, -1 if size is None else size)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line: bytes = self._call(self._stream.readline, -1 if size is None else size)
        return line

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = self._call(self._stream.readlines, hint)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    @staticmethod
    def _call(method: Any, argument: int) -> Any:
        try:
            return method(argument)
        except ClientDisconnected:
            raise
        except Exception:
            # gunicorn: NoMoreData (shorter than Content-Length, an OSError), InvalidChunkSize
            # and ChunkMissingTerminator (its own ParseException), ...
            raise ClientDisconnected("the request body ended early or is malformed") from None


class RequestGuard:
    """WSGI middleware, outermost: see the module's description."""

    def __init__(self, downstream: WSGIApplication) -> None:
        self.app = downstream  # `app`, as ProxyFix names what it wraps (web.feeds.front.front_of)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refused = refusal(environ)
        if refused is not None:
            status_line, headers, body = answer(environ, *refused)
            start_response(status_line, headers)
            return (body,)
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _GuardedInput(stream)

        def labelled(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(name.lower() == "x-content-type-options" for name, _ in headers):
                headers = [*headers, NOSNIFF]
            return start_response(status, headers, exc_info)

        return self.app(environ, labelled)
