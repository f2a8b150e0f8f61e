"""Hostile clients get clear answers: no input reaches a 500 or a logged traceback.

Two budgets, kept small for CI: hypothesis over every route of the URL map (hostile path
segments, query strings and headers), and raw sockets against a real gunicorn (`feedsvc
serve`) for what only a real server sees: broken
chunked encoding, short bodies, oversized request lines and headers, Content-Length beside
Transfer-Encoding, and slow clients. Tracebacks logged in-process fail a test through
tests/log_guard.py; those of the real server are read from its stderr. What schemathesis
generates from the API's OpenAPI document is tests/test_openapi.py's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.servers import free_port
from feedsvc import create_app, db
from feedsvc.paths import FEED_FORMATS
from tests.api_support import make_token
from tests.conftest import BASE_URL, FakeClock
from tests.databases import Databases
from tests.factories import CITIES, TOPICS, add_release, make_catalog

EXAMPLES = 150

HOSTILE_SEGMENTS = st.one_of(
    st.sampled_from(
        ["1", "١", "１", "²", "0", "-1", "9" * 40, "a\x00b", "%00", "..", "%2e%2e", "é", "\ud7ff", "a" * 300]
    ),
    st.sampled_from(sorted(CITIES) + sorted(TOPICS) + ["region-rosenheim"]),
    st.text(max_size=20),
)
HOSTILE_VALUES = st.one_of(
    st.sampled_from(["1-²", "１-1", "1-1", "0-0", "99999999999999999999-1", "\x00", "a\x00", "-", "", "+"]),
    st.text(max_size=30),
)
QUERY_KEYS = ("after", "before", "limit", "q", "city", "topic", "region", "since", "page", "only")
HOSTS = st.sampled_from(
    [
        "localhost",
        "a" * 64 + ".example",
        "ex ample",
        "[::1]",
        "x:99999",
        "ü.example",
        "\x00",
        "",
        "a..b",
        "a:b:c",
    ]
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Host": HOSTS,
        "Accept-Encoding": st.sampled_from(["gzip", "br;q=2", "*;q=abc", "identity;q=0", "\x7f", "é" * 3]),
        "If-None-Match": st.sampled_from(['"x"', "*", 'W/"', '"' * 50, "ü"]),
        "If-Modified-Since": st.sampled_from(["Tue, 01 Dec 2026 00:00:00 GMT", "yesterday", "0"]),
        "Authorization": st.sampled_from(
            ["Bearer ", "Bearer \x00", "Basic !!!", "Basic Og==", "Basic " + "A" * 99]
        ),
        "Accept": st.sampled_from(["text/html", "*/*;q=x", "application/problem+json"]),
    },
)


def _route_paths(app: Flask) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())})


def seed(app: Flask) -> None:
    make_catalog(app)
    add_release(app, topics=("kultur",), minutes_ago=5)


@pytest.fixture
def seeded(app: Flask) -> Flask:
    seed(app)
    return app


def test_hostile_requests_to_every_route_get_no_server_error(seeded: Flask) -> None:
    routes = _route_paths(seeded)
    client = seeded.test_client()

    @given(
        route=st.sampled_from(routes),
        segments=st.lists(HOSTILE_SEGMENTS, min_size=3, max_size=3),
        query=st.dictionaries(st.sampled_from(QUERY_KEYS), HOSTILE_VALUES, max_size=3),
        headers=HEADERS,
        method=st.sampled_from(["GET", "HEAD", "POST"]),
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(
        route: str, segments: list[str], query: dict[str, str], headers: dict[str, str], method: str
    ) -> None:
        parts = iter(segments * 3)
        path = re.sub(r"<[^>]+>", lambda _match: next(parts), route)
        response = client.open(path, method=method, query_string=query, headers=headers)
        assert response.status_code < 500, (method, path, query, headers, response.status_code)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", (path, response.status_code)
        if path.startswith("/api/") and response.status_code >= 400 and method != "HEAD":
            assert response.mimetype == "application/problem+json", (path, response.status_code)

    check()


@pytest.mark.parametrize(
    "path",
    [
        "/feed.atom?after=1-%C2%B2",
        "/?after=1-%C2%B2",
        "/cities/rosenheim?after=%EF%BC%91-1",
        "/api/v1/releases?after=1-²",
    ],
)
def test_cursors_of_non_ascii_digits_are_refused(seeded: Flask, path: str) -> None:
    assert seeded.test_client().get(path).status_code == 400


@pytest.mark.parametrize("number", ["١", "１", "²", "1١"])
def test_ids_of_non_ascii_digits_are_no_release(seeded: Flask, number: str) -> None:
    response = seeded.test_client().get(f"/api/v1/releases/{number}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/cities/rosen%00heim", {}),
        ("/api/v1/releases?city=rosen%00heim", {}),
        ("/feed.atom?q=a%00", {}),
        ("/", {"Host": "a" * 64 + ".example"}),
        ("/api/v1/releases", {"Host": "a" * 64 + ".example"}),
        ("/api/v1/releases", {"X-Note": "€"}),
    ],
)
def test_nul_bytes_and_bad_headers_are_400(seeded: Flask, path: str, headers: dict[str, str]) -> None:
    response = seeded.test_client().get(path, headers=headers)
    assert response.status_code == 400
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if path.startswith("/api/"):
        assert response.mimetype == "application/problem+json"
        assert response.json is not None and response.json["status"] == 400


# --- a real gunicorn --------------------------------------------------------------------------------


class Server:
    def __init__(self, port: int, stderr: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stderr = stderr

    def tracebacks(self) -> list[str]:
        text = self.stderr.read_text(errors="replace")
        return [part for part in text.split("\n[") if "Traceback" in part]


@contextlib.contextmanager
def running_server(database_url: str, tmp_path: Path, *options: str) -> Iterator[Server]:
    """`feedsvc serve` on a free port (no delivery worker), until the block ends; fails when the
    server logged a traceback."""
    port = free_port()
    env = {
        **os.environ,
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_BASE_URL": BASE_URL,
        "FEEDSVC_TAG_AUTHORITY": "feeds.example.test",
    }
    stderr_path = tmp_path / f"server-{port}.stderr"
    command = [
        sys.executable,
        "-m",
        "feedsvc.__main__",
        "serve",
        "--port",
        str(port),
        "--no-worker",
        *options,
    ]
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    server = Server(port, stderr_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{server.url}/feed.atom", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(stderr_path.read_text()) from None
                time.sleep(0.05)
        yield server
        assert not server.tracebacks(), server.tracebacks()
    finally:
        process.terminate()
        process.wait(timeout=30)


# The tests against the real server share it (starting one costs more than all their cases
# together), and with it a database of their own: on one pytest-xdist worker.
real_server = pytest.mark.xdist_group("fuzz_real_server")


@pytest.fixture(scope="module")
def served_app(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on the real server's database, seeded as `seeded` is."""
    directory = tmp_path_factory.mktemp("served")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": databases.migrated(directory),
            "BASE_URL": BASE_URL,
            "TAG_AUTHORITY": "feeds.example.test",
            "CLOCK": FakeClock(),
            "SECRET_KEY": "test-secret",
            "FEED_STATE_TTL": 0.0,
            "MEDIA_PATH": str(directory / "media"),
        }
    )
    seed(app)
    yield app
    with app.app_context():
        db.engine().dispose()


@pytest.fixture(scope="module")
def shared_server(served_app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`feedsvc serve` with one worker (so that none is still starting when the first client
    arrives) whose threads outnumber the slow clients below."""
    directory = tmp_path_factory.mktemp("server")
    url = served_app.config["DATABASE_URL"]
    with running_server(url, directory, "--workers", "1", "--threads", "24") as running:
        yield running


@pytest.fixture
def server(shared_server: Server) -> Iterator[Server]:
    """The module's server; a traceback it logs while the test runs fails the test."""
    logged = len(shared_server.tracebacks())
    yield shared_server
    assert shared_server.tracebacks()[logged:] == []


def exchange(
    port: int, raw: bytes, *, half_close: bool = False, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """Sends `raw` on a new connection and reads the first answer: status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(raw)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body


def _post(token: str, extra: str, body: bytes) -> bytes:
    head = (
        "POST /api/v1/releases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n{extra}\r\n"
    )
    return head.encode() + body


OVERSIZED = {
    "long request line": (
        b"GET /api/v1/releases?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        414,
    ),
    "long header": (
        b"GET /api/v1/releases HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
    ),
    "bad host": (b"GET /api/v1/releases HTTP/1.1\r\nHost: " + b"a" * 64 + b".example\r\n\r\n", 400),
    "nul": (b"GET /api/v1/releases?city=a%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
}


@real_server
def test_broken_framing_and_oversized_requests_get_client_errors(served_app: Flask, server: Server) -> None:
    token = make_token(served_app)
    framing = {
        "broken chunk size": (
            _post(token, "Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"),
            False,
        ),
        "body shorter than Content-Length": (_post(token, "Content-Length: 100\r\n", b'{"title": '), True),
        "Content-Length and Transfer-Encoding": (
            _post(token, "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
            False,
        ),
        "chunk longer than announced": (
            _post(token, "Transfer-Encoding: chunked\r\n", b"2\r\n{}xx\r\n0\r\n\r\n"),
            False,
        ),
    }
    for name, (raw, half_close) in framing.items():
        status, _headers, _body = exchange(server.port, raw, half_close=half_close)
        assert 400 <= status < 500, (name, status)
    # Under the API every refusal is problem+json, also those the server makes before the app.
    for name, (raw, status) in OVERSIZED.items():
        answered, headers, body = exchange(server.port, raw)
        assert answered == status, name
        assert headers["content-type"] == "application/problem+json", name
        assert headers["x-content-type-options"] == "nosniff", name
        assert json.loads(body)["status"] == status, name


@real_server
def test_slow_clients_do_not_hold_up_pollers(server: Server) -> None:
    """Twenty connections send half a request and wait; a poller still gets every feed fast."""
    stalled = []
    try:
        for _ in range(20):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            connection.sendall(b"GET /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n")
            stalled.append(connection)
        time.sleep(0.5)
        subjects = [
            "",
            "/cities/rosenheim",
            "/topics/kultur",
            "/regions/region-rosenheim",
            "/cities/rosenheim/topics/kultur",
        ]
        for subject in subjects:
            for fmt in FEED_FORMATS:
                started = time.monotonic()
                url = f"{server.url}{subject}/feed.{fmt}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    response.read()
                assert time.monotonic() - started < 1.0, (subject, fmt)
    finally:
        for connection in stalled:
            connection.close()
