"""A newsroom's webhook receiver on loopback, which checks every signature as a receiver
would (`standardwebhooks.Webhook(secret).verify`), and helpers that register endpoints and
drive the worker's fan-out and sending with the test's clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import standardwebhooks.webhooks
from flask import Flask
from standardwebhooks import Webhook, WebhookVerificationError

from feedsvc import db
from feedsvc.cli.worker import settings_of_app, webhook_settings_of_app
from feedsvc.store.changes import micros
from feedsvc.worker import webhooks
from feedsvc.worker.delivery import CycleReport, run_cycle
from tests.api_support import bearer, make_token
from tests.conftest import FakeClock
from tests.loopback import serving


@dataclass(frozen=True)
class Received:
    """One POST that reached the receiver: its headers, its bytes, what verifying said."""

    status: int  # what the receiver answered
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any] | None  # the verified JSON; None: the signature did not verify
    problem: str = ""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> str:
        assert self.payload is not None
        event_type: str = self.payload["type"]
        return event_type


@dataclass
class Receiver:
    """Answers 204 and records each request, unless `fail_next` (503 for that many requests),
    `statuses` (answered in turn first) or `status` (answered to every request) say otherwise."""

    url: str = ""
    secret: str = ""
    fail_next: int = 0
    statuses: list[int] = field(default_factory=list)
    status: int = 204
    headers_to_send: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    # Requests wait here while it is cleared (a slow newsroom).
    open: threading.Event = field(default_factory=threading.Event)
    arrived: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.open.set()

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.arrived += 1
        self.open.wait(timeout=30)
        with self.lock:
            if self.statuses:
                status = self.statuses.pop(0)
            elif self.fail_next:
                self.fail_next -= 1
                status = 503
            else:
                status = self.status
            try:
                payload = Webhook(self.secret).verify(body, headers)
                problem = ""
            except WebhookVerificationError as error:
                payload, problem = None, str(error)
            self.requests.append(Received(status, headers, body, payload, problem))
            return status

    @property
    def delivered(self) -> list[Received]:
        """The requests answered 2xx, in the order they came."""
        with self.lock:
            return [each for each in self.requests if 200 <= each.status < 300]

    def events(self) -> list[tuple[str, str]]:
        """(event type, release uri) of each delivered request."""
        return [(each.event, each.payload["data"]["uri"]) for each in self.delivered if each.payload]


@contextmanager
def receiver(path: str = "/hooks/feedsvc") -> Iterator[Receiver]:
    recording = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(length)
            status = recording.answer({key.lower(): value for key, value in self.headers.items()}, body)
            self.send_response(status)
            for name, value in recording.headers_to_send.items():
                self.send_header(name, value)
            reply = b'{"error": "busy"}' if status >= 300 else b""
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as port:
        recording.url = f"http://127.0.0.1:{port}{path}"
        try:
            yield recording
        finally:
            recording.open.set()


def receivers_use(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Receivers check `webhook-timestamp` against their own clock (within five minutes):
    here that clock is the test's, which the sender signs with."""

    class ReceiverTime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> ReceiverTime:
            moment = clock.now.astimezone(tz)
            return cls.fromtimestamp(moment.timestamp(), tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ReceiverTime)


def register(app: Flask, url: str, admin: str | None = None, **fields: Any) -> dict[str, Any]:
    """Registers an endpoint through the API; its answer (with the secret)."""
    token = admin or make_token(app, role="admin", publisher=None)
    response = app.test_client().post("/api/v1/webhooks", json={"url": url, **fields}, headers=bearer(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = json.loads(response.data)
    return created


def cycle(app: Flask, clock: FakeClock) -> CycleReport:
    """One delivery cycle: embargoes lifted, the outbox ordered, the fan-out done."""
    with app.app_context():
        report = run_cycle(db.session(), settings_of_app(), micros(clock.now))
        db.session().close()
        return report


def send(app: Flask, clock: FakeClock) -> list[webhooks.Attempt]:
    """One round of the sending thread."""
    with app.app_context():
        return webhooks.send_due(db.engine(), webhook_settings_of_app(), clock)


def deliver(app: Flask, clock: FakeClock) -> list[webhooks.Attempt]:
    cycle(app, clock)
    return send(app, clock)
