"""gunicorn settings file for the page rows (`gunicorn -c bench/gunicorn_ready.py ...`).

Once a worker has loaded its app, it writes its pid to the file named by
BENCH_READY_FILE: the benchmark's first request then measures the request, not
the worker's start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

READY_FILE_ENV = "BENCH_READY_FILE"


def post_worker_init(worker: Any) -> None:
    ready = os.environ.get(READY_FILE_ENV)
    if ready:
        Path(ready).write_text(str(worker.pid), encoding="utf-8")
