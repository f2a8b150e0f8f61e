"""Real HTTP endpoints on loopback that record what the delivery worker sends them: a WebSub
hub (form POSTs) and a cache answering `PURGE` with an `xkey-purge` header, on port 0."""

from __future__ import annotations

import socketserver
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from feedsvc.worker.purge import PURGE_HEADER


@dataclass(frozen=True)
class Received:
    method: str
    at: float  # time.monotonic() when it arrived
    form: dict[str, str]
    keys: tuple[str, ...]


@dataclass
class Endpoint:
    """Answers 2xx (and records the request) unless `statuses` or `failing` say otherwise."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answered in turn before anything else
    failing: bool = False  # answer 503 while set
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    arrived: int = 0  # requests that reached it, waiting ones included
    # Requests wait here while it is cleared (a slow target).
    open: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.open.set()

    def topics(self) -> list[str]:
        with self.lock:
            return [item.form["hub.url"] for item in self.received if item.form.get("hub.mode") == "publish"]

    def purges(self) -> list[tuple[str, ...]]:
        with self.lock:
            return [item.keys for item in self.received if item.method == "PURGE"]

    def purged_keys(self) -> list[str]:
        return [key for keys in self.purges() for key in keys]

    def answer(self, method: str, form: dict[str, str], keys: tuple[str, ...]) -> int:
        with self.lock:
            self.arrived += 1
        self.open.wait(timeout=30)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else (503 if self.failing else 204)
            if status < 300:
                self.received.append(Received(method, time.monotonic(), form, keys))
            else:
                self.refused += 1
            return status


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


@contextmanager
def endpoint(path: str = "/") -> Iterator[Endpoint]:
    recording = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = dict(urllib.parse.parse_qsl(body))
            keys = tuple(self.headers.get(PURGE_HEADER, "").split())
            status = recording.answer(self.command, form, keys)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = _handle
        do_PURGE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as port:
        recording.url = f"http://127.0.0.1:{port}{path}"
        try:
            yield recording
        finally:
            recording.open.set()  # requests still waiting are let go before the server stops


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A threading HTTP server on a free loopback port (yielded) for as long as the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with running(server):
        yield int(server.server_address[1])


# How often a serving thread looks for `shutdown`: socketserver's default, half a second,
# was what stopping a test's server cost.
SHUTDOWN_POLL_S = 0.02


def start(server: socketserver.BaseServer) -> threading.Thread:
    """Serves `server` in a thread of its own until `stop`."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True
    )
    thread.start()
    return thread


def stop(server: socketserver.BaseServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@contextmanager
def running(server: socketserver.BaseServer) -> Iterator[None]:
    """Serves `server` (any socketserver, werkzeug's too) while the block runs."""
    thread = start(server)
    try:
        yield
    finally:
        stop(server, thread)
