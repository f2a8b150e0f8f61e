"""`feedsvc serve`: gunicorn running the app, one app (and database pool) per worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

APP_URI = "feedsvc:create_app()"


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 4
    threads: int = 1
    timeout: int = 30


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": f"{self.options.host}:{self.options.port}",
            "workers": self.options.workers,
            "threads": self.options.threads,
            # Sync workers unless threads are asked for: one request per process
            # keeps rendering free of shared state.
            "worker_class": "gthread" if self.options.threads > 1 else "sync",
            "timeout": self.options.timeout,
            "graceful_timeout": self.options.timeout,
            "keepalive": 5,
            "accesslog": "-",
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app after the fork, so no database
        # connection is ever shared between processes.
        app: Flask = import_app(APP_URI)
        return app


def run(options: ServerOptions) -> None:
    _Gunicorn(options).run()
