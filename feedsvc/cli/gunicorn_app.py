"""The gunicorn application `feedsvc serve` runs (`serve.run`): serve's settings, then
GUNICORN_CMD_ARGS over them, then the options given to serve over both.

A module of its own so that gunicorn is imported when serving starts, not by every
`feedsvc` command (each registers `serve`)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from feedsvc.cli.serve import CLIENT_TIMEOUT_WORKER, GUNICORN_SETTINGS_OF, ServerOptions, served_app


class Application(BaseApplication):  # type: ignore[misc]
    """gunicorn running `served_app` in each worker, configured by `serve`'s options."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": f"{self.options.host}:{self.options.port}",
            "workers": self.options.workers,
            "threads": self.options.threads,
            # Threads, so that a client sending its request slowly holds one thread, and that
            # for at most CLIENT_TIMEOUT seconds, not a whole worker: with sync workers, one
            # half-sent request per worker stalled every poll until the timeout. (In
            # production nginx or Varnish buffers requests in front, docs/operations.md.)
            # `--threads 1` still means sync workers.
            # gthread, with a time limit per client socket read (cli/gunicorn_worker.py).
            "worker_class": CLIENT_TIMEOUT_WORKER if self.options.threads > 1 else "sync",
            "timeout": self.options.timeout,
            "graceful_timeout": self.options.timeout,
            # Long request lines and headers reach the app (up to 1 MB and 32 KB), whose
            # request guard answers them as 414 and 431, problem+json under /api/
            # (web/guard.py), instead of gunicorn's own HTML page.
            "limit_request_line": 0,
            "limit_request_field_size": 32768,
            "keepalive": 5,
            "accesslog": "-",
            # Forwarded headers are feedsvc's to judge (FEEDSVC_PROXY_COUNT, create_app's
            # ProxyFix), not gunicorn's: by default gunicorn believes X-Forwarded-Proto from
            # any local client, which could switch every link to https:// with no proxy there.
            "forwarded_allow_ips": "",
            "secure_scheme_headers": {},
        }
        for key, value in settings.items():
            self.cfg.set(key, value)
        # GUNICORN_CMD_ARGS (gunicorn's own variable) overrides serve's defaults, and an
        # option given to serve overrides both.
        from_env = self.cfg.get_cmd_args_from_env()
        if from_env:
            parsed = self.cfg.parser().parse_args(from_env)
            for key, value in vars(parsed).items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key.lower(), value)
        for option in self.options.explicit:
            for key in GUNICORN_SETTINGS_OF.get(option, ()):
                self.cfg.set(key, settings[key])

    def load(self) -> Flask:
        return served_app()
