"""The delivery worker under faults, with real processes: `feedsvc serve` (real gunicorn on a
loopback port it picks itself) and `feedsvc worker`, a real hub and a real cache endpoint on
loopback (tests/loopback.py), and for the outage a PostgreSQL server of the test's own.

- a burst of concurrent publishes on SQLite reaches the hub and the cache exactly once each;
- a worker killed with SIGKILL is started again by `serve` and catches up;
- a PostgreSQL outage of ten seconds is waited out by the running worker, which then
  delivers what was pending and what came after, without a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from feedsvc import db
from feedsvc.config import system_clock
from feedsvc.db import make_engine
from feedsvc.models import DeliveryTarget, Release
from feedsvc.paths import FEED_FORMATS
from feedsvc.store import keys
from feedsvc.worker.websub import feed_urls
from tests.api_support import make_token
from tests.conftest import BASE_URL, AppFactory
from tests.factories import add_release, make_catalog
from tests.loopback import endpoint, wait_until
from tests.private_postgres import PrivatePostgres

BURST = 50


class Running:
    """A process of the test's own in a process group of its own, its output in a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def matches(self, pattern: str) -> list[re.Match[str]]:
        return list(re.finditer(pattern, self.output()))

    def wait_for(self, pattern: str, timeout: float, count: int = 1) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while len(found := self.matches(pattern)) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} (x{count}) in:\n{self.output()[-4000:]}")
            time.sleep(0.05)
        return found[count - 1]

    def stop(self) -> None:
        """SIGTERM, as an init system would; then anything left of its group goes."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def environment(database_url: str, **settings: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FEEDSVC_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        FEEDSVC_DATABASE_URL=database_url,
        FEEDSVC_BASE_URL=BASE_URL,
        FEEDSVC_TAG_AUTHORITY="feeds.example.test",
        FEEDSVC_SECRET_KEY="test-secret",
        FEEDSVC_DELIVERY_INTERVAL="0.2",
    )
    env.update({f"FEEDSVC_{name}": value for name, value in settings.items()})
    return env


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Starts `feedsvc serve --port 0` and yields (process, base URL); stops it afterwards."""
    started: list[Running] = []

    def start(env: dict[str, str], workers: int = 2) -> tuple[Running, str]:
        command = [sys.executable, "-m", "feedsvc", "serve", "--port", "0", "--workers", str(workers)]
        server = Running(command, env, tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        port = server.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)", 60).group(1)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{url}/healthz"), 30, "serve answers")
        return server, url

    yield start
    for server in started:
        server.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def publish(base: str, secret: str, record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/api/v1/releases",
        data=json.dumps(record).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {"body": error.read().decode(errors="replace")}


def expected_pings(app: Flask, release_ids: list[int]) -> Counter[str]:
    """Each release's feed URLs, once per release: what the hub must hear, no more, no less."""
    pings: Counter[str] = Counter()
    with app.app_context():
        session = db.session()
        for release_id in release_ids:
            release = session.get(Release, release_id)
            assert release is not None
            pings.update(feed_urls(session, sorted(keys.release_keys(release)), BASE_URL))
    return pings


def test_a_burst_of_concurrent_posts_on_sqlite_is_delivered_exactly_once(
    app: Flask, app_config: dict[str, Any], serve: Any
) -> None:
    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite's one write lock is what this burst contends for")
    make_catalog(app)
    secret = make_token(app, cities=("rosenheim", "bad-aibling"))
    with endpoint("/hub") as hub, endpoint("/") as cache:
        # One change per batch: each change's pings are then counted on their own.
        env = environment(
            app_config["DATABASE_URL"], HUB_URLS=hub.url, CACHE_PURGE_URLS=cache.url, DELIVERY_BATCH="1"
        )
        server, base = serve(env, workers=3)
        topics: tuple[list[str], ...] = ([], ["kultur"], ["verkehr", "kultur"], ["soziales-familie"])
        records = [
            {
                "title": f"Meldung Nummer {n}",
                "body": f"<p>Die Stadt informiert: Meldung {n}.</p>",
                "city": ("rosenheim", "bad-aibling")[n % 2],
                "topics": topics[n % len(topics)],
            }
            for n in range(BURST)
        ]
        start = threading.Barrier(BURST)
        answers: list[tuple[int, dict[str, Any]]] = []
        lock = threading.Lock()

        def post(record: dict[str, Any]) -> None:
            start.wait(timeout=30)
            answer = publish(base, secret, record)
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=post, args=(record,)) for record in records]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(status for status, _ in answers) == [201] * BURST, answers
        release_ids = sorted(body["id"] for _, body in answers)
        pings = expected_pings(app, release_ids)
        purged = Counter({f"release:{release_id}": 1 for release_id in release_ids})

        def releases_purged() -> Counter[str]:
            return Counter(key for key in cache.purged_keys() if key.startswith("release:"))

        wait_until(lambda: sum(Counter(hub.topics()).values()) >= sum(pings.values()), 120, "every ping")
        wait_until(lambda: sum(releases_purged().values()) >= BURST, 30, "every purge")
        time.sleep(1.0)  # anything sent twice would arrive now
        assert releases_purged() == purged, "each release purged exactly once"
        assert Counter(hub.topics()) == pings, "each change's feed URLs told exactly once"
        assert cache.refused == 0 and hub.refused == 0
        assert server.process.poll() is None
        assert "Traceback" not in server.output(), server.output()[-4000:]


def test_a_worker_killed_with_sigkill_is_restarted_by_serve_and_catches_up(
    app: Flask, app_config: dict[str, Any], serve: Any
) -> None:
    make_catalog(app)
    secret = make_token(app)
    with endpoint("/hub") as hub:
        # One app server process is enough to publish through: this is about the delivery worker.
        server, base = serve(environment(app_config["DATABASE_URL"], HUB_URLS=hub.url), workers=1)
        started = r"delivery worker started \(pid (\d+)\)"
        first = int(server.wait_for(started, 30).group(1))
        status, _ = publish(base, secret, {"title": "Vorher", "body": "<p>Vorher.</p>", "city": "rosenheim"})
        assert status == 201
        wait_until(lambda: len(hub.topics()) == 3 * len(FEED_FORMATS), 30, "the first release told")
        os.kill(first, signal.SIGKILL)
        record = {"title": "Nachher", "body": "<p>Nachher.</p>", "city": "rosenheim", "topics": ["kultur"]}
        status, _ = publish(base, secret, record)
        assert status == 201, "serving goes on without the worker"
        server.wait_for(rf"delivery worker \(pid {first}\) exited .*killed by signal 9", 30)
        second = int(server.wait_for(started, 30, count=2).group(1))
        assert second != first
        wait_until(lambda: len(hub.topics()) == 8 * len(FEED_FORMATS), 30, "the restarted worker catches up")
        assert f"{BASE_URL}/topics/kultur/feed.atom" in hub.topics()[3 * len(FEED_FORMATS) :]
        assert len(set(hub.topics()[3 * len(FEED_FORMATS) :])) == 5 * len(FEED_FORMATS)
        assert server.process.poll() is None
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                assert json.loads(response.read())["delivery"]["lag_seconds"] < 30
        except urllib.error.HTTPError as error:
            with error:
                raise AssertionError(f"/healthz: {error.read().decode()}\n{server.output()}") from error


@pytest.mark.postgres
def test_the_worker_waits_out_a_postgresql_outage_and_resumes_without_a_restart(
    private_postgres: PrivatePostgres, make_app: AppFactory, tmp_path: Path
) -> None:
    if not private_postgres.running:
        private_postgres.start()
    engine = make_engine(private_postgres.url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = make_app(DATABASE_URL=private_postgres.url, CLOCK=system_clock)
    make_catalog(app)
    with endpoint("/hub") as hub:
        command = [sys.executable, "-m", "feedsvc", "worker", "--interval", "0.2"]
        environ = environment(private_postgres.url, HUB_URLS=hub.url)
        worker = Running(command, environ, tmp_path / "worker.log")
        try:

            def worker_ready() -> bool:
                with app.app_context():
                    return db.session().scalar(select(DeliveryTarget.name)) is not None

            wait_until(worker_ready, 30, "the worker starts")
            add_release(app, title="Vor dem Ausfall", minutes_ago=0)
            wait_until(lambda: len(hub.topics()) == 3 * len(FEED_FORMATS), 30, "told before the outage")
            hub.failing = True
            add_release(app, title="Unterwegs", topics=("kultur",), minutes_ago=0)
            wait_until(lambda: hub.refused >= 1, 30, "the hub refuses")
            private_postgres.stop()
            time.sleep(10)
            assert worker.process.poll() is None, worker.output()
            assert "database unavailable" in worker.output()
            hub.failing = False
            private_postgres.start()
            wait_until(
                lambda: len(hub.topics()) == 8 * len(FEED_FORMATS),
                60,
                "what was pending is told once the database is back",
            )
            add_release(app, title="Nach dem Ausfall", city="muenchen", minutes_ago=0)
            told = 11 * len(FEED_FORMATS)
            wait_until(lambda: len(hub.topics()) == told, 30, "a change after the outage is told")
            assert f"{BASE_URL}/cities/muenchen/feed.atom" in hub.topics()[8 * len(FEED_FORMATS) :]
            assert worker.process.poll() is None, "the same worker, never restarted"
            assert "database available again" in worker.output()
            assert "Traceback" not in worker.output(), worker.output()
        finally:
            worker.stop()
