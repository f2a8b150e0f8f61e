"""feedsvc's app plus a floor route, for the benchmark only.

    .venv/bin/gunicorn -w 2 -k sync 'bench.floorapp:create_app()'

`/_floor` answers a constant body from memory (the bytes of the file named by
BENCH_FLOOR_FILE, normally the hot feed itself, with the same content type): the
fastest any feed request can be in the same gunicorn, with the same workers,
settings and Flask app. Every feed figure of the benchmark is a ratio to it.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

from feedsvc import create_app as create_feedsvc_app

FLOOR_FILE_ENV = "BENCH_FLOOR_FILE"
FLOOR_TYPE_ENV = "BENCH_FLOOR_CONTENT_TYPE"
FLOOR_PATH = "/_floor"
DEFAULT_SIZE = 100_000


def create_app() -> Flask:
    app = create_feedsvc_app()
    floor_file = os.environ.get(FLOOR_FILE_ENV)
    body = Path(floor_file).read_bytes() if floor_file else b"x" * DEFAULT_SIZE
    content_type = os.environ.get(FLOOR_TYPE_ENV, "application/atom+xml; charset=utf-8")

    def floor() -> Response:
        return Response(body, content_type=content_type)

    app.add_url_rule(FLOOR_PATH, "bench_floor", floor)
    return app
