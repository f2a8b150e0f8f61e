"""A real HTTP server on loopback that serves feeds as a city's own site would: with ETag
and Last-Modified, 304 for a conditional GET that matches, redirects, errors, and answers
held back for as long as a test says (a slow site). It records every request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.loopback import running


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None  # for a redirect
    # While cleared, the answer waits (at most 30 s): a site that does not answer.
    released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class FeedServer:
    url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    arrived: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(
        self,
        path: str,
        body: bytes = b"",
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        status: int = 200,
        etag: str | None = None,
        last_modified: str | None = None,
        location: str | None = None,
    ) -> Route:
        route = Route(body, content_type, status, etag, last_modified, location)
        with self.lock:
            self.routes[path] = route
        return route

    def requests_of(self, path: str) -> list[Request]:
        with self.lock:
            return [request for request in self.requests if request.path == path]

    def answer(self, path: str, headers: dict[str, str]) -> tuple[Route | None, int]:
        with self.lock:
            self.arrived += 1
            route = self.routes.get(path)
        if route is None:
            status = 404
        else:
            route.released.wait(timeout=30)
            matches = route.etag is not None and headers.get("if-none-match") == route.etag
            status = 304 if matches and route.status == 200 else route.status
        with self.lock:
            self.requests.append(Request(path, headers, status))
        return route, status


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    recording = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            route, status = recording.answer(self.path, headers)
            body = route.body if route is not None and status == 200 else b""
            try:
                self.send_response(status)
                if route is not None:
                    if route.location:
                        self.send_header("Location", route.location)
                    if status in (200, 304):
                        if route.etag:
                            self.send_header("ETag", route.etag)
                        if route.last_modified:
                            self.send_header("Last-Modified", route.last_modified)
                    if status == 200:
                        self.send_header("Content-Type", route.content_type)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout under test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    recording.url = f"http://127.0.0.1:{server.server_address[1]}"
    with running(server):
        try:
            yield recording
        finally:
            for route in list(recording.routes.values()):
                route.released.set()
