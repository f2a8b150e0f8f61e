"""`feedsvc feed-sources` and the worker's scheduled pulls: a city's own feed, served by a
real HTTP server on loopback (tests/feed_server.py), is pulled when due, costs one 304
while unchanged, is imported through the same code as `feedsvc import` when it changed,
backs off while it fails (and /healthz says so), is never pulled by two workers at once,
and never holds up delivery: a real `feedsvc worker` keeps purging while a site hangs."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from feedsvc import db
from feedsvc.config import system_clock
from feedsvc.models import FeedSource, Release
from feedsvc.store import catalog, feed_sources
from feedsvc.store.changes import micros
from feedsvc.worker import pulling
from feedsvc.worker.pulling import Pulled, pull_due
from tests.conftest import AppFactory, FakeClock
from tests.factories import make_catalog
from tests.feed_server import FeedServer, feed_server
from tests.loopback import endpoint, wait_until
from tests.test_worker_faults import Running, environment

RSS = (Path(__file__).resolve().parent / "data" / "feed_rosenheim.rss").read_bytes()
MINUTE_US = 60 * 1_000_000


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


@pytest.fixture
def city_app(app: Flask) -> Flask:
    make_catalog(app)
    return app


def add(app: Flask, url: str, *, interval_s: int = 900, topic_map: str = '{"Verkehr": "verkehr"}') -> int:
    with app.app_context():
        session = db.session()
        city = catalog.city_by_slug(session, "rosenheim")
        assert city is not None
        source = feed_sources.add_source(
            session,
            url=url,
            city=city,
            publisher_name=None,
            topic_map=topic_map,
            interval_seconds=interval_s,
            now_us=micros(app.config["CLOCK"]()),
        )
        assert source is not None
        session.commit()
        return source.id


def pull(app: Flask) -> list[Pulled]:
    with app.app_context():
        settings = pulling.Settings(tag_authority="feeds.example.test")
        pulled = pull_due(db.session(), settings, app.config["CLOCK"])
        db.session().close()
        return pulled


def source(app: Flask, source_id: int) -> FeedSource:
    with app.app_context():
        found = db.session().get(FeedSource, source_id)
        assert found is not None
        db.session().expunge(found)
        return found


def release_count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Release)) or 0


def test_a_source_is_added_listed_and_removed(
    city_app: Flask, runner: FlaskCliRunner, server: FeedServer, tmp_path: Path
) -> None:
    server.serve("/presse/rss.xml", RSS)
    url = f"{server.url}/presse/rss.xml"
    mapping = tmp_path / "themen.json"
    mapping.write_text(json.dumps({"Verkehr": "verkehr", "Baustellen": None}), encoding="utf-8")
    result = runner.invoke(
        args=["feed-sources", "add", url, "--city", "rosenheim", "--topics", str(mapping), "--every", "30m"]
    )
    assert result.exit_code == 0, result.output
    assert f"feed source 1: {url} for rosenheim, pulled every 30 min (RSS 2.0, 4 items now)" in result.output
    assert release_count(city_app) == 0, "adding only checks the feed; the worker imports it"
    added = source(city_app, 1)
    assert json.loads(added.topic_map) == {"Verkehr": "verkehr", "Baustellen": None}
    assert added.interval_seconds == 1800

    again = runner.invoke(args=["feed-sources", "add", url, "--city", "rosenheim"])
    assert again.exit_code == 1 and f"rosenheim has this feed already: {url}" in again.output

    listed = runner.invoke(args=["feed-sources", "list"])
    assert listed.exit_code == 0
    assert listed.output.splitlines()[:2] == [f"1  {url}  rosenheim  every 30 min", "    last success: never"]

    removed = runner.invoke(args=["feed-sources", "remove", "1"])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(args=["feed-sources", "list"]).output.startswith("no feed sources")
    gone = runner.invoke(args=["feed-sources", "remove", "1"])
    assert gone.exit_code == 1 and "no feed source 1" in gone.output


def test_a_source_that_is_no_feed_or_names_nothing_known_is_not_added(
    city_app: Flask, runner: FlaskCliRunner, server: FeedServer
) -> None:
    server.serve(
        "/presse/",
        b'<html><link rel="alternate" type="application/rss+xml" href="rss.xml"></html>',
        content_type="text/html",
    )
    cases = {
        (f"{server.url}/presse/", "--city", "rosenheim"): (
            1,
            f"{server.url}/presse/: this is an HTML page, not a feed; its feed links are: "
            f"{server.url}/presse/rss.xml",
        ),
        (f"{server.url}/rss.xml", "--city", "atlantis"): (1, "unknown city 'atlantis'"),
        (f"{server.url}/rss.xml", "--city", "rosenheim", "--every", "10s"): (2, "pull at most once a minute"),
        (f"{server.url}/rss.xml", "--city", "rosenheim", "--every", "oft"): (2, "'oft' is no interval"),
        ("ftp://example.org/rss.xml", "--city", "rosenheim"): (2, "not an http(s) URL"),
    }
    for args, (code, message) in cases.items():
        result = runner.invoke(args=["feed-sources", "add", *args])
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)
    with city_app.app_context():
        assert feed_sources.count(db.session()) == 0


def test_a_due_source_is_imported_then_costs_one_304_while_unchanged(
    city_app: Flask, server: FeedServer, clock: FakeClock
) -> None:
    route = server.serve("/rss.xml", RSS, etag='"v1"', last_modified="Wed, 25 Nov 2026 07:15:00 GMT")
    source_id = add(city_app, f"{server.url}/rss.xml")

    [first] = pull(city_app)
    assert (first.outcome, first.detail.splitlines()[0]) == (
        "imported",
        "RSS 2.0, 4 items: 4 new, 0 changed, 0 unchanged, 0 failed",
    )
    # Kultur and Soziales & Familie are topics of that name; Verkehr is mapped.
    assert "categories without a topic: Baustellen (1), Stadtrat (1)" in first.detail
    assert release_count(city_app) == 4
    pulled = source(city_app, source_id)
    assert (pulled.etag, pulled.last_modified) == ('"v1"', "Wed, 25 Nov 2026 07:15:00 GMT")
    assert pulled.next_pull_us == micros(clock.now) + 15 * MINUTE_US
    assert pulled.lease_token == "" and pulled.failures == 0
    assert pull(city_app) == [], "not due again before its interval"

    clock.advance(minutes=15)
    [unchanged] = pull(city_app)
    assert unchanged.outcome == "not modified"
    conditional = server.requests_of("/rss.xml")[-1]
    assert conditional.status == 304
    assert conditional.headers["if-none-match"] == '"v1"'
    assert conditional.headers["if-modified-since"] == "Wed, 25 Nov 2026 07:15:00 GMT"
    assert release_count(city_app) == 4

    route.body = RSS.replace(b"bis 18&nbsp;Uhr", b"bis 20&nbsp;Uhr")
    route.etag = '"v2"'
    clock.advance(minutes=15)
    [changed] = pull(city_app)
    assert changed.detail.splitlines()[0] == "RSS 2.0, 4 items: 0 new, 1 changed, 3 unchanged, 0 failed"
    assert source(city_app, source_id).etag == '"v2"'
    assert release_count(city_app) == 4
    assert len(server.requests_of("/rss.xml")) == 3


def test_items_that_fail_are_recorded_and_tried_again_with_the_whole_feed(
    city_app: Flask, server: FeedServer, clock: FakeClock
) -> None:
    broken = RSS.replace(b"<pubDate>Di, 24 Nov 2026 10:00:00</pubDate>", b"<pubDate>bald</pubDate>")
    route = server.serve("/rss.xml", broken, etag='"v1"')
    source_id = add(city_app, f"{server.url}/rss.xml")
    [first] = pull(city_app)
    assert first.outcome == "imported"
    assert "3 new, 0 changed, 0 unchanged, 1 failed" in first.detail
    assert "item 4 (ro-2026-0416): published_at: 'bald' is no date feedsvc can read" in first.detail
    recorded = source(city_app, source_id)
    assert recorded.failures == 0 and recorded.etag == "", "no validators: the next pull gets the feed whole"
    assert "item 4 (ro-2026-0416)" in recorded.last_result

    route.body = RSS
    clock.advance(minutes=15)
    [second] = pull(city_app)
    assert "if-none-match" not in server.requests_of("/rss.xml")[-1].headers
    assert "1 new, 0 changed, 3 unchanged, 0 failed" in second.detail
    assert source(city_app, source_id).etag == '"v1"'


def test_a_failing_source_backs_off_and_healthz_reports_it(
    city_app: Flask, server: FeedServer, clock: FakeClock
) -> None:
    route = server.serve("/rss.xml", RSS, status=503)
    source_id = add(city_app, f"{server.url}/rss.xml")
    host = server.url.removeprefix("http://")

    [failed] = pull(city_app)
    assert (failed.outcome, failed.detail) == ("failed", f"HTTP 503 Service Unavailable from {host}")
    assert failed.retry_in_s == 30 * 60, "two intervals after the first failure"
    failing = source(city_app, source_id)
    assert (failing.failures, failing.next_pull_us) == (1, micros(clock.now) + 30 * MINUTE_US)

    health = city_app.test_client().get("/healthz")
    assert health.status_code == 200, "another site's trouble does not degrade this server"
    body = health.get_json()
    assert body["status"] == "ok"
    assert body["feed_sources"] == {
        "total": 1,
        "failing": [
            {
                "id": source_id,
                "url": f"{server.url}/rss.xml",
                "city": "rosenheim",
                "failures": 1,
                "last_error": f"HTTP 503 Service Unavailable from {host}",
                "last_success": None,
            }
        ],
    }
    assert "feed_sources" not in city_app.test_client().get("/healthz?only=database").get_json()

    clock.advance(minutes=20)
    assert pull(city_app) == [], "still backing off"
    clock.advance(minutes=10)
    [again] = pull(city_app)
    assert again.retry_in_s == 60 * 60 and source(city_app, source_id).failures == 2

    route.status = 200
    route.body = b"<!doctype html><html><body>Wartungsarbeiten</body></html>"
    clock.advance(minutes=60)
    [not_a_feed] = pull(city_app)
    assert not_a_feed.detail == (
        'this is an HTML page, not a feed, and it links to no feed (<link rel="alternate">)'
    )
    assert not_a_feed.retry_in_s == 120 * 60

    route.body = RSS
    clock.advance(minutes=120)
    [recovered] = pull(city_app)
    assert recovered.outcome == "imported"
    assert source(city_app, source_id).failures == 0
    assert city_app.test_client().get("/healthz").get_json()["feed_sources"] == {"total": 1, "failing": []}
    assert len(server.requests_of("/rss.xml")) == 4


def test_two_workers_never_pull_one_source_at_once(
    city_app: Flask, make_app: AppFactory, server: FeedServer, clock: FakeClock
) -> None:
    other = make_app()
    route = server.serve("/rss.xml", RSS)
    add(city_app, f"{server.url}/rss.xml")
    route.released.clear()  # the site is slow: the first worker waits in its fetch
    results: list[list[Pulled]] = []
    first = threading.Thread(target=lambda: results.append(pull(city_app)))
    first.start()
    try:
        wait_until(lambda: server.arrived == 1, 10, "the first worker reaches the site")
        assert pull(other) == [], "the source is leased to the first worker"
        assert server.arrived == 1
    finally:
        route.released.set()
        first.join(timeout=30)
    assert [pulled.outcome for pulled in results[0]] == ["imported"]
    assert pull(other) == []
    assert release_count(city_app) == 4


def test_a_worker_whose_lease_ran_out_records_nothing(
    city_app: Flask, make_app: AppFactory, server: FeedServer, clock: FakeClock
) -> None:
    server.serve("/rss.xml", RSS)
    source_id = add(city_app, f"{server.url}/rss.xml")
    with city_app.app_context():
        session = db.session()
        db.begin_writing(session)
        stale = feed_sources.claim_due(session, micros(clock.now), micros(clock.now) + 1, "stale")
        session.commit()
    assert stale is not None
    clock.advance(seconds=1)
    [taken_over] = pull(make_app())
    assert taken_over.outcome == "imported"
    with city_app.app_context():
        session = db.session()
        db.begin_writing(session)
        now_us = micros(clock.now)
        assert not feed_sources.record_success(
            session, stale, result="late", etag="", last_modified="", now_us=now_us, next_pull_us=now_us
        )
        session.commit()
    assert source(city_app, source_id).last_result.startswith("RSS 2.0, 4 items: 4 new")


def test_worker_once_pulls_what_is_due(city_app: Flask, runner: FlaskCliRunner, server: FeedServer) -> None:
    server.serve("/rss.xml", RSS)
    add(city_app, f"{server.url}/rss.xml")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "feed source 1: RSS 2.0, 4 items: 4 new, 0 changed, 0 unchanged, 0 failed" in result.output
    assert release_count(city_app) == 4


def released_id(app: Flask, external_id: str) -> int:
    with app.app_context():
        found = db.session().scalar(select(Release.id).where(Release.external_id == external_id))
        assert found is not None
        return found


def test_the_worker_keeps_delivering_while_a_site_hangs(
    make_app: AppFactory, app_config: dict[str, Any], server: FeedServer, tmp_path: Path
) -> None:
    app = make_app(CLOCK=system_clock)  # the worker process runs on the real clock
    make_catalog(app)
    hanging = server.serve("/rss.xml", RSS)
    hanging.released.clear()
    add(app, f"{server.url}/rss.xml")
    with endpoint("/") as cache:
        env = environment(app_config["DATABASE_URL"], CACHE_PURGE_URLS=cache.url)
        worker = Running([sys.executable, "-m", "feedsvc", "worker"], env, tmp_path / "worker.log")
        try:
            wait_until(lambda: server.arrived == 1, 30, "the worker's pull reaches the site")
            # Published as a press office would, through the service, while the pull hangs.
            records = tmp_path / "release.jsonl"
            records.write_text(
                json.dumps(
                    {
                        "external_id": "neu-1",
                        "city": "rosenheim",
                        "title": "Neue Radwege",
                        "body": "<p>Die Stadt baut Radwege.</p>",
                    }
                )
            )
            published = app.test_cli_runner().invoke(args=["import", str(records)])
            assert published.exit_code == 0, published.output
            release_id = released_id(app, "neu-1")
            wait_until(lambda: f"release:{release_id}" in cache.purged_keys(), 30, "the purge, meanwhile")
            assert release_count(app) == 1, "the pull is still waiting for the site"
            hanging.released.set()
            wait_until(lambda: release_count(app) == 5, 30, "the pull's import")
            worker.wait_for(r"feed source 1 \(.*\): RSS 2\.0, 4 items: 4 new", 30)
        finally:
            hanging.released.set()
            worker.stop()
