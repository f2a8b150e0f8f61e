"""Two app instances on one database, in two processes, never disagree for long.

A real gunicorn (two worker processes) serves the test's database while the
test's own app instance writes to it, as a second app server would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import BASE_URL
from tests.factories import add_release, make_catalog

# The server runs on the real clock; PostgreSQL workers trust counters for this long.
STATE_TTL = 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(app: Flask, app_config: dict[str, Any]) -> Iterator[str]:
    make_catalog(app)
    port = _free_port()
    env = {
        **os.environ,
        "FEEDSVC_DATABASE_URL": app_config["DATABASE_URL"],
        "FEEDSVC_BASE_URL": BASE_URL,
        "FEEDSVC_TAG_AUTHORITY": "feeds.example.test",
        "FEEDSVC_FEED_STATE_TTL": str(STATE_TTL),
    }
    # Two workers, each of which must see the write; no delivery worker beside them: this is
    # about what the app servers answer, and it would only compete with them while they start.
    command = [
        sys.executable, "-m", "feedsvc.__main__", "serve",
        "--port", str(port), "--workers", "2", "--no-worker",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/feed.atom", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        process.stderr.read().decode() if process.stderr else "no output"
                    ) from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def _etags(url: str, times: int) -> set[str]:
    tags = set()
    for _ in range(times):
        with urllib.request.urlopen(url, timeout=5) as response:
            tags.add(response.headers["ETag"])
    return tags


def test_a_write_by_one_instance_reaches_every_worker_of_another(app: Flask, server: str) -> None:
    feed = f"{server}/cities/rosenheim/feed.atom"
    before = _etags(feed, 10)
    assert len(before) == 1, "all workers answer alike while nothing changes"
    add_release(app, title="Von der anderen Instanz geschrieben", minutes_ago=0)
    written = time.monotonic()
    # Every worker must show the write within the TTL: the same new ETag from all of them,
    # and the release in the feed (a worker's first new ETag may be of a change it saw
    # just before this one, e.g. of the catalog, while it still trusts those counters).
    while True:
        tags = _etags(feed, 10)
        if tags.isdisjoint(before) and len(tags) == 1:
            with urllib.request.urlopen(feed, timeout=5) as response:
                if b"Von der anderen Instanz geschrieben" in response.read():
                    break
        assert time.monotonic() - written < STATE_TTL + 2, (
            "workers disagreed, or missed the write, for longer than their counter TTL"
        )
        time.sleep(0.05)
