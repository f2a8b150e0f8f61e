"""`feedsvc serve`: gunicorn running the app, one app (and database pool) per worker,
and the delivery worker (`feedsvc worker`) beside it, supervised: whenever it exits it
is started again, after a pause that doubles while it keeps dying (1 s up to 60 s).

The serve process also sets up prometheus_client's multiprocess mode before gunicorn
forks, so `/metrics` adds up the counters of every worker (`web.metrics`)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.cli.config import require_base_url, warn_about_legal_pages
from feedsvc.cli.database import upgrade_schema, wait_for_database
from feedsvc.web import metrics, warmup

APP_URI = "feedsvc:create_app()"
CLIENT_TIMEOUT_WORKER = "feedsvc.cli.gunicorn_worker.ClientTimeoutWorker"
WORKER_COMMAND = (sys.executable, "-m", "feedsvc", "worker")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 4
    threads: int = 16
    timeout: int = 30
    # The options given on the command line: they win over GUNICORN_CMD_ARGS.
    explicit: frozenset[str] = frozenset()


# serve's options and the gunicorn settings each one sets.
GUNICORN_SETTINGS_OF = {
    "host": ("bind",),
    "port": ("bind",),
    "workers": ("workers",),
    "threads": ("threads", "worker_class"),
    "timeout": ("timeout", "graceful_timeout"),
}


def served_app() -> Flask:
    """The app as each worker of `serve` loads it (also `gunicorn 'feedsvc.cli.serve:served_app()'`):
    built after the fork, so no database connection is ever shared between processes, and
    warmed up before it takes a request (`web.warmup`)."""
    from gunicorn.util import import_app

    app: Flask = import_app(APP_URI)
    warmup.warm_up(app)
    return app


def run(options: ServerOptions) -> None:
    # gunicorn is imported here, when serving starts: every `feedsvc` command registers
    # `serve`, and none of the others needs it.
    from feedsvc.cli.gunicorn_app import Application

    Application(options).run()


class WorkerSupervisor:
    """Keeps one delivery worker process running beside the server.

    A thread starts it, waits for it to exit and starts it again: after `first_wait`
    seconds, doubling while it keeps dying within `steady_after` seconds of its start,
    at most `max_wait`. (gunicorn's arbiter reaps every child of this process, the
    worker too; then its exit status is unknown, and said so.)
    """

    def __init__(
        self,
        command: tuple[str, ...] = WORKER_COMMAND,
        *,
        first_wait: float = 1.0,
        max_wait: float = 60.0,
        steady_after: float = 60.0,
    ) -> None:
        self.command = command
        self.first_wait, self.max_wait, self.steady_after = first_wait, max_wait, steady_after
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="delivery-supervisor", daemon=True)

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops supervising, then the worker: SIGTERM, and SIGKILL after `timeout` seconds."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        self._thread.join(timeout=timeout)

    def _supervise(self) -> None:
        wait = self.first_wait
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                process = subprocess.Popen(self.command)
            except OSError as error:
                log.error("could not start the delivery worker: %s; trying again in %.0f s", error, wait)
                self._stopping.wait(wait)
                wait = min(self.max_wait, wait * 2)
                continue
            with self._lock:
                self._process = process
                self.starts += 1
            if self._stopping.is_set():  # stop() came while it was starting
                process.terminate()
            log.info("delivery worker started (pid %d)", process.pid)
            code = process.wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - started
            wait = self.first_wait if ran >= self.steady_after else wait
            log.warning(
                "delivery worker (pid %d) exited after %.1f s (%s); starting it again in %.0f s",
                process.pid, ran, _exit_status(code), wait,
            )  # fmt: skip
            self._stopping.wait(wait)
            wait = min(self.max_wait, wait * 2)


def _given_on_command_line() -> frozenset[str]:
    context = click.get_current_context()
    return frozenset(
        name
        for name in GUNICORN_SETTINGS_OF
        if context.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    )


def _exit_status(code: int) -> str:
    if code < 0:
        return f"killed by signal {-code}"
    # 0: it exited cleanly, or gunicorn's arbiter reaped it before we could see how.
    return f"exit status {code}" if code else "exit status 0 or unknown"


def _log_to_stderr() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _metrics_directory() -> tuple[Path, bool]:
    """PROMETHEUS_MULTIPROC_DIR, emptied (values of an earlier run would be added up), or a
    new temporary directory; True when it is ours to remove."""
    configured = os.environ.get(metrics.MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory, False
    return Path(tempfile.mkdtemp(prefix="feedsvc-metrics-")), True


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=16,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Per worker (gthread); 1: sync.",
)
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 3600), help="Seconds.")
@click.option(
    "--worker/--no-worker",
    "--notify/--no-notify",
    "worker",
    default=True,
    show_default=True,
    help="Run and supervise the delivery worker beside the server (--notify: the old name).",
)
def serve(host: str, port: int, workers: int, threads: int, timeout: int, worker: bool) -> None:
    """Serve with gunicorn (a production WSGI server), and deliver changes beside it."""
    require_base_url("serve")
    warn_about_legal_pages()
    try:
        wait_for_database()
    except KeyboardInterrupt:
        click.echo("stopped waiting for the database", err=True)
        sys.exit(1)
    upgrade_schema()
    db.engine().dispose()
    _log_to_stderr()
    directory, ours = _metrics_directory()
    metrics.use_multiprocess(str(directory))
    supervisor = WorkerSupervisor() if worker else None
    if supervisor is not None:
        supervisor.start()
    elif current_app.config["HUB_URLS"] or current_app.config["CACHE_PURGE_URLS"]:
        log.warning("--no-worker: changes are delivered only where `feedsvc worker` runs")
    serving = os.getpid()
    try:
        run(ServerOptions(host, port, workers, threads, timeout, explicit=_given_on_command_line()))
    finally:
        # gunicorn's workers are forks of this process and leave through this frame too:
        # only the process that started the delivery worker and the directory cleans up.
        if os.getpid() == serving:
            if supervisor is not None:
                supervisor.stop()
            if ours:
                shutil.rmtree(directory, ignore_errors=True)
