"""feedsvc's app plus a floor route, for the benchmark only.

    .venv/bin/python -m bench.floorserve --no-worker --workers 2    (`feedsvc serve` loading it)

`/_floor` answers a constant body from memory (the bytes of the file named by
BENCH_FLOOR_FILE, normally the hot feed itself, with the same content type) through
Flask: what returning pre-built bytes costs in the same gunicorn, with the same
workers, settings and Flask app. Every feed figure of the benchmark is a ratio to it.

`/_floor_bare` answers the same bytes before Flask, from a bare WSGI callable: the
least any answer can cost in this gunicorn. feedsvc answers unchanged feeds before
Flask too (feedsvc/web/poll_front.py), so this is the ceiling it is shown against.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, Response

from feedsvc import create_app as create_feedsvc_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FLOOR_FILE_ENV = "BENCH_FLOOR_FILE"
FLOOR_TYPE_ENV = "BENCH_FLOOR_CONTENT_TYPE"
FLOOR_PATH = "/_floor"
BARE_FLOOR_PATH = "/_floor_bare"
DEFAULT_SIZE = 100_000


def create_app() -> Flask:
    app = create_feedsvc_app()
    floor_file = os.environ.get(FLOOR_FILE_ENV)
    body = Path(floor_file).read_bytes() if floor_file else b"x" * DEFAULT_SIZE
    content_type = os.environ.get(FLOOR_TYPE_ENV, "application/atom+xml; charset=utf-8")

    def floor() -> Response:
        return Response(body, content_type=content_type)

    app.add_url_rule(FLOOR_PATH, "bench_floor", floor)
    app.wsgi_app = BareFloor(app.wsgi_app, body, content_type)  # type: ignore[method-assign]
    return app


class BareFloor:
    """Answers BARE_FLOOR_PATH with the constant body; everything else goes on to the app."""

    def __init__(self, app: WSGIApplication, body: bytes, content_type: str) -> None:
        self._app = app
        self._body = body
        self._headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != BARE_FLOOR_PATH:
            return self._app(environ, start_response)
        start_response("200 OK", list(self._headers))
        return (self._body,)
