"""WebSub: hubs hear of every changed feed URL after the commit, durably, from a
real HTTP hub on loopback that records what it receives."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from feedsvc import db
from feedsvc.models import DeliveryTarget
from feedsvc.paths import FEED_FORMATS
from feedsvc.store.changes import micros
from feedsvc.store.outbox import websub_target
from feedsvc.worker.delivery import Channels, Settings, run_cycle
from feedsvc.worker.websub import post_form
from tests.conftest import BASE_URL, AppFactory, FakeClock
from tests.factories import add_release, make_catalog, retract
from tests.loopback import running


@dataclass
class RecordingHub:
    """A hub endpoint that answers with `statuses` in turn (then 204) and records publishes."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def topics(self) -> list[str]:
        return [form["hub.url"] for form in self.received if form.get("hub.mode") == "publish"]


@pytest.fixture
def hub() -> Iterator[RecordingHub]:
    recording = RecordingHub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status = recording.statuses.pop(0) if recording.statuses else 204
            if status < 300:
                recording.received.append(form)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recording.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    with running(server):
        yield recording


@pytest.fixture
def hub_app(make_app: AppFactory, hub: RecordingHub) -> Flask:
    app = make_app(HUB_URLS=hub.url)
    make_catalog(app)
    return app


def cycle(app: Flask, clock: FakeClock) -> None:
    with app.app_context():
        settings = Settings(base_url=BASE_URL, hubs=tuple(app.config["HUB_URLS"]))
        run_cycle(db.session(), settings, micros(clock.now), Channels(post=post_form))
        db.session().close()


def subject_feeds(*subjects: str) -> set[str]:
    return {f"{BASE_URL}{subject}/feed.{fmt}" for subject in subjects for fmt in FEED_FORMATS}


ROSENHEIM_KULTUR = (
    "",
    "/cities/rosenheim",
    "/regions/region-rosenheim",
    "/topics/kultur",
    "/cities/rosenheim/topics/kultur",
)


def test_every_feed_announces_the_hub_and_itself(hub_app: Flask, hub: RecordingHub) -> None:
    parsed = feedparser.parse(hub_app.test_client().get("/cities/rosenheim/feed.rss").data)
    rels = {(link.rel, link.href) for link in parsed.feed.links}
    assert ("hub", hub.url) in rels
    assert ("self", f"{BASE_URL}/cities/rosenheim/feed.rss") in rels


def test_a_publish_notifies_the_hub_once_for_every_feed_url_it_affected(
    hub_app: Flask, hub: RecordingHub, clock: FakeClock
) -> None:
    cycle(hub_app, clock)  # the hub starts listening
    add_release(hub_app, title="Neu", topics=("kultur",), minutes_ago=0)
    assert hub.received == [], "nothing is sent from the write itself"
    cycle(hub_app, clock)
    assert sorted(hub.topics()) == sorted(subject_feeds(*ROSENHEIM_KULTUR))
    cycle(hub_app, clock)
    assert len(hub.topics()) == 5 * len(FEED_FORMATS), "a second cycle sends nothing new"


def test_a_retraction_notifies_the_hub(hub_app: Flask, hub: RecordingHub, clock: FakeClock) -> None:
    release_id = add_release(hub_app, title="Falsch", topics=("kultur",), minutes_ago=5)
    cycle(hub_app, clock)
    retract(hub_app, release_id)
    cycle(hub_app, clock)
    assert set(hub.topics()) == subject_feeds(*ROSENHEIM_KULTUR)


def test_a_failing_hub_is_retried_with_backoff_and_loses_nothing(
    hub_app: Flask, hub: RecordingHub, clock: FakeClock
) -> None:
    cycle(hub_app, clock)
    hub.statuses = [503, 500]
    add_release(hub_app, title="Neu", topics=("kultur",), minutes_ago=0)
    cycle(hub_app, clock)
    assert hub.topics() == []
    cycle(hub_app, clock)
    assert hub.topics() == [], "not before the backoff has passed"
    clock.advance(seconds=1)
    cycle(hub_app, clock)
    assert hub.topics() == [], "second failure"
    with hub_app.app_context():
        target = db.session().get(DeliveryTarget, websub_target(hub.url))
        assert target is not None and target.attempts == 2 and "500" in target.last_error
    clock.advance(seconds=2)
    cycle(hub_app, clock)
    assert sorted(hub.topics()) == sorted(subject_feeds(*ROSENHEIM_KULTUR))


def test_a_restarted_notifier_continues_where_the_last_one_stopped(
    hub_app: Flask, make_app: AppFactory, hub: RecordingHub, clock: FakeClock
) -> None:
    cycle(hub_app, clock)
    add_release(hub_app, title="Vor dem Neustart", topics=("kultur",), minutes_ago=0)
    restarted = make_app(HUB_URLS=hub.url)
    cycle(restarted, clock)
    assert sorted(hub.topics()) == sorted(subject_feeds(*ROSENHEIM_KULTUR))


def test_the_ping_fires_when_an_embargo_runs_out(hub_app: Flask, hub: RecordingHub, clock: FakeClock) -> None:
    cycle(hub_app, clock)
    add_release(
        hub_app, title="Sperrfrist", topics=("kultur",), published_at=clock.now + timedelta(minutes=10)
    )
    cycle(hub_app, clock)
    hub.received.clear()
    clock.advance(minutes=9)
    cycle(hub_app, clock)
    assert hub.topics() == []
    clock.advance(minutes=1)
    cycle(hub_app, clock)
    assert sorted(hub.topics()) == sorted(subject_feeds(*ROSENHEIM_KULTUR))
    assert b"Sperrfrist" in hub_app.test_client().get("/cities/rosenheim/feed.atom").data


def test_notify_command_runs_one_cycle(hub_app: Flask) -> None:
    runner: FlaskCliRunner = hub_app.test_cli_runner()
    assert runner.invoke(args=["notify", "--once"]).exit_code == 0
    add_release(hub_app, title="Über die Kommandozeile", minutes_ago=0)
    result = runner.invoke(args=["notify", "--once"])
    assert result.exit_code == 0, result.output
    assert f"told of {3 * len(FEED_FORMATS)} feed URLs" in result.output
