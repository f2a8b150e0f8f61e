"""Delivery through the outbox, cycle by cycle in this process: every change is recorded with
its write, caches are purged before hubs are told, nobody hears of an embargoed release
early, each target keeps its own position and backoff, two workers never share a target,
and /healthz and /metrics show how far behind delivery is. The targets are real HTTP
endpoints on loopback (tests/loopback.py); tests/test_worker_faults.py runs real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from feedsvc import db
from feedsvc.cli.serve import WorkerSupervisor
from feedsvc.cli.worker import settings_of_app
from feedsvc.db import make_engine
from feedsvc.migrations import runner as migrations
from feedsvc.models import DeliveryTarget, OutboxEntry
from feedsvc.paths import FEED_FORMATS
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store import catalog, changes, keys
from feedsvc.store.changes import micros
from feedsvc.store.outbox import PURGE_TARGET, websub_target
from feedsvc.worker import delivery
from feedsvc.worker.delivery import CycleReport, run_cycle
from tests.conftest import BASE_URL, AppFactory, FakeClock
from tests.factories import add_release, get_release, make_catalog, patch_release, retract
from tests.loopback import Endpoint, endpoint, wait_until

ROSENHEIM_KULTUR = ("", "/cities/rosenheim", "/regions/region-rosenheim", "/topics/kultur",
                    "/cities/rosenheim/topics/kultur")  # fmt: skip


def feeds_of(*subjects: str) -> list[str]:
    return sorted(f"{BASE_URL}{subject}/feed.{fmt}" for subject in subjects for fmt in FEED_FORMATS)


@pytest.fixture
def hub() -> Iterator[Endpoint]:
    with endpoint("/hub") as recording:
        yield recording


@pytest.fixture
def cache() -> Iterator[Endpoint]:
    with endpoint("/") as recording:
        yield recording


@pytest.fixture
def delivering(make_app: AppFactory, hub: Endpoint, cache: Endpoint) -> Flask:
    """An app with a cache to purge and a hub to tell, both on loopback."""
    app = make_app(HUB_URLS=hub.url, CACHE_PURGE_URLS=cache.url)
    make_catalog(app)
    return app


def cycle(app: Flask, clock: FakeClock) -> CycleReport:
    with app.app_context():
        report = run_cycle(db.session(), settings_of_app(), micros(clock.now))
        db.session().close()
        return report


def release_keys(app: Flask, release_id: int) -> list[str]:
    with app.app_context():
        return sorted(keys.release_keys(get_release(app, release_id)))


def entries(app: Flask) -> list[OutboxEntry]:
    with app.app_context():
        return list(db.session().scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def target(app: Flask, name: str) -> DeliveryTarget:
    with app.app_context():
        found = db.session().get(DeliveryTarget, name)
        assert found is not None, name
        return found


# --- the outbox ----------------------------------------------------------------------------------


def test_every_write_is_one_outbox_entry_with_its_kind_release_and_subjects(
    delivering: Flask, clock: FakeClock
) -> None:
    before = len(entries(delivering))
    release_id = add_release(delivering, title="Neu", topics=("kultur",), minutes_ago=0)
    patch_release(delivering, release_id, ReleasePatch.model_validate({"title": "Neu, berichtigt"}))
    retract(delivering, release_id)
    with delivering.app_context():
        session = db.session()
        changes.bump(session, [keys.ALL_KEY], clock.now)
        session.rollback()  # a write that is rolled back leaves nothing to deliver
    written = entries(delivering)[before:]
    assert [(entry.kind, entry.release_id) for entry in written] == [
        ("published", release_id),
        ("corrected", release_id),
        ("retracted", release_id),
    ]
    subjects = " ".join(release_keys(delivering, release_id))
    assert {entry.subject_keys for entry in written} == {subjects}
    assert {(entry.due_us, entry.seq) for entry in written} == {(micros(clock.now), None)}


def test_caches_are_purged_before_any_hub_is_told(
    delivering: Flask, hub: Endpoint, cache: Endpoint, clock: FakeClock
) -> None:
    cycle(delivering, clock)  # the targets start listening
    release_id = add_release(delivering, title="Neu", topics=("kultur",), minutes_ago=0)
    assert cache.received == [] and hub.received == [], "nothing is sent from the write itself"
    report = cycle(delivering, clock)
    assert cache.purges() == [(*release_keys(delivering, release_id), f"release:{release_id}")]
    assert sorted(hub.topics()) == feeds_of(*ROSENHEIM_KULTUR)
    assert max(item.at for item in cache.received) < min(item.at for item in hub.received)
    assert report.delivered == {PURGE_TARGET: 1, websub_target(hub.url): 1}
    cycle(delivering, clock)
    assert len(cache.purges()) == 1 and len(hub.topics()) == 5 * len(FEED_FORMATS), (
        "a second cycle sends nothing again"
    )


def test_an_embargoed_release_reaches_nobody_before_its_instant(
    delivering: Flask, hub: Endpoint, cache: Endpoint, clock: FakeClock
) -> None:
    cycle(delivering, clock)
    instant = clock.now + timedelta(minutes=10)
    release_id = add_release(delivering, title="Sperrfrist", topics=("kultur",), published_at=instant)
    cycle(delivering, clock)
    clock.advance(minutes=9, seconds=59)
    cycle(delivering, clock)
    # Corrected before its instant, and moved ten minutes on: the old instant passes in silence.
    later = instant + timedelta(minutes=10)
    patch_release(delivering, release_id, ReleasePatch.model_validate({"published_at": later.isoformat()}))
    clock.advance(seconds=1)
    cycle(delivering, clock)
    clock.advance(minutes=9, seconds=59)
    cycle(delivering, clock)
    assert cache.arrived == 0 and hub.arrived == 0, "nobody heard of it before its instant"
    clock.advance(seconds=1)
    report = cycle(delivering, clock)
    assert report.delivered[PURGE_TARGET] >= 1
    assert f"release:{release_id}" in cache.purged_keys()
    assert set(cache.purged_keys()) >= set(release_keys(delivering, release_id))
    assert sorted(set(hub.topics())) == feeds_of(*ROSENHEIM_KULTUR)
    assert len(hub.topics()) == 5 * len(FEED_FORMATS), "the publish, the correction and the lift, told as one"
    assert b"Sperrfrist" in delivering.test_client().get("/cities/rosenheim/feed.atom").data


def test_a_cache_that_is_down_holds_the_hubs_back_and_a_hub_that_is_down_holds_back_nobody(
    delivering: Flask, hub: Endpoint, cache: Endpoint, clock: FakeClock
) -> None:
    cycle(delivering, clock)
    cache.failing = True
    first = add_release(delivering, title="Erste", minutes_ago=0)
    report = cycle(delivering, clock)
    assert "503" in report.failed[PURGE_TARGET]
    assert hub.arrived == 0, "a hub would fetch the copy the cache still holds"
    purge = target(delivering, PURGE_TARGET)
    assert purge.attempts == 1 and "503" in purge.last_error and purge.failures_total == 1
    assert target(delivering, websub_target(hub.url)).attempts == 0
    cycle(delivering, clock)
    assert cache.refused == 1, "not again before the backoff has passed"
    cache.failing = False
    clock.advance(seconds=1)
    cycle(delivering, clock)
    assert cache.purges() == [(*release_keys(delivering, first), f"release:{first}")]
    assert len(hub.topics()) == 3 * len(FEED_FORMATS)
    hub.failing = True
    second = add_release(delivering, title="Zweite", city="muenchen", minutes_ago=0)
    report = cycle(delivering, clock)
    assert list(report.failed) == [websub_target(hub.url)]
    assert cache.purges()[-1][-1] == f"release:{second}", "the caches went on"
    purge, websub = target(delivering, PURGE_TARGET), target(delivering, websub_target(hub.url))
    assert (purge.attempts, purge.retries_total, purge.delivered_total) == (0, 1, 2)
    assert (websub.attempts, websub.failures_total) == (1, 1)
    assert websub.delivered_seq < purge.delivered_seq
    hub.failing = False
    clock.advance(seconds=1)
    cycle(delivering, clock)
    assert sorted(hub.topics()[3 * len(FEED_FORMATS) :]) == feeds_of(
        "", "/cities/muenchen", "/regions/muenchen-region"
    )


def test_a_catalog_change_shown_in_feeds_reaches_the_hubs_of_those_feeds(
    delivering: Flask, hub: Endpoint, cache: Endpoint, clock: FakeClock
) -> None:
    """The catalog imported again with a city, then a topic, renamed: the hubs hear of the
    feeds whose titles name it and of the feeds whose entries do (their categories); the
    caches are purged of the same. An import that changes nothing tells nobody anything."""
    add_release(delivering, title="Kulturnacht", topics=("kultur",), minutes_ago=0)
    cycle(delivering, clock)
    # Catalog writes are dated by the real clock: the worker's clock must have reached it.
    clock.now = max(clock.now, datetime.now(UTC)) + timedelta(hours=1)
    for rename in ("city", "topic"):
        told, purges = len(hub.topics()), len(cache.purges())
        with delivering.app_context():
            session = db.session()
            city, topic = catalog.city_by_slug(session, "rosenheim"), catalog.topic_by_slug(session, "kultur")
            assert city is not None and topic is not None
            if rename == "city":
                catalog.upsert_city(
                    session, city.slug, f"{city.name} am Inn", city.state, city.region, city.ags
                )
            else:
                catalog.upsert_topic(session, topic.slug, f"{topic.name} und Freizeit")
            session.commit()
        cycle(delivering, clock)
        assert sorted(hub.topics()[told:]) == feeds_of(*ROSENHEIM_KULTUR), rename
        assert len(cache.purges()) == purges + 1 and "catalog" in cache.purges()[-1], rename
    told, purges = len(hub.topics()), len(cache.purges())
    with delivering.app_context():
        session = db.session()
        topic = catalog.topic_by_slug(session, "kultur")
        assert topic is not None
        catalog.upsert_topic(session, topic.slug, topic.name)
        session.commit()
    cycle(delivering, clock)
    assert (len(hub.topics()), len(cache.purges())) == (told, purges), "nothing changed, nobody told"


def test_two_workers_never_work_one_target_at_once(
    make_app: AppFactory, hub: Endpoint, clock: FakeClock
) -> None:
    one = make_app(HUB_URLS=hub.url)
    make_catalog(one)
    other = make_app(HUB_URLS=hub.url)
    cycle(one, clock)
    add_release(one, title="Neu", topics=("kultur",), minutes_ago=0)
    hub.open.clear()  # the hub is slow: the first worker waits in its first ping
    reports: list[CycleReport] = []
    first = threading.Thread(target=lambda: reports.append(cycle(one, clock)))
    first.start()
    try:
        wait_until(lambda: hub.arrived == 1, 10, "the first worker reaches the hub")
        meanwhile = cycle(other, clock)
        assert meanwhile.delivered == {} and hub.arrived == 1, "the second worker kept off the hub"
    finally:
        hub.open.set()
        first.join(timeout=30)
    assert reports and reports[0].delivered == {websub_target(hub.url): 1}
    assert cycle(other, clock).delivered == {}
    assert sorted(hub.topics()) == feeds_of(*ROSENHEIM_KULTUR), "each feed URL exactly once"


def test_a_change_that_commits_after_a_later_one_is_still_delivered(
    make_app: AppFactory, hub: Endpoint, clock: FakeClock
) -> None:
    app = make_app(HUB_URLS=hub.url)
    with app.app_context():
        if db.engine().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: a commit cannot overtake another")
    make_catalog(app)
    cycle(app, clock)
    slow = make_app()
    with slow.app_context():
        session = db.session()
        topic = catalog.topic_by_slug(session, "kultur")
        assert topic is not None
        changes.bump(session, [f"topic:{topic.id}"], clock.now)
        session.flush()  # its outbox entry has its id now, before the next write's
        add_release(app, title="Später begonnen, früher fertig", city="muenchen", minutes_ago=0)
        cycle(app, clock)
        assert sorted(hub.topics()) == feeds_of("", "/cities/muenchen", "/regions/muenchen-region")
        session.commit()
    cycle(app, clock)
    assert sorted(hub.topics()[3 * len(FEED_FORMATS) :]) == feeds_of("/topics/kultur"), (
        "the slow change was not skipped"
    )


# --- health and metrics --------------------------------------------------------------------------


def health(app: Flask) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/healthz")
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = json.loads(response.data)
    return response.status_code, body


def test_healthz_shows_the_lag_while_a_hub_is_down_and_answers_503_past_the_threshold(
    make_app: AppFactory, hub: Endpoint, clock: FakeClock
) -> None:
    app = make_app(HUB_URLS=hub.url, DELIVERY_LAG_ALERT=60)
    make_catalog(app)
    cycle(app, clock)
    hub.failing = True
    add_release(app, title="Neu", minutes_ago=0)
    cycle(app, clock)
    clock.advance(seconds=30)
    status, body = health(app)
    websub = body["delivery"]["targets"][websub_target(hub.url)]
    assert status == 200 and body["status"] == "ok" and body["database"] == "ok"
    assert websub["lag_seconds"] == 30.0 and websub["pending"] == 1 and websub["attempts"] == 1
    assert "503" in websub["last_error"]
    clock.advance(seconds=31)
    status, body = health(app)
    assert status == 503 and body["status"] == "degraded"
    assert body["delivery"]["lag_seconds"] == 61.0 and body["delivery"]["alert_after_seconds"] == 60.0
    assert body["schema"] == migrations.head_revision()
    probe = app.test_client().get("/healthz?only=database")
    assert probe.status_code == 200, "a probe that takes servers out of rotation ignores delivery"
    assert json.loads(probe.data) == {"status": "ok", "database": "ok", "schema": migrations.head_revision()}
    hub.failing = False
    cycle(app, clock)
    status, body = health(app)
    assert status == 200 and body["delivery"]["lag_seconds"] == 0.0
    assert body["delivery"]["targets"][websub_target(hub.url)]["pending"] == 0


def test_changes_that_no_worker_takes_show_as_lag(
    make_app: AppFactory, cache: Endpoint, clock: FakeClock
) -> None:
    app = make_app(CACHE_PURGE_URLS=cache.url, DELIVERY_LAG_ALERT=60)
    make_catalog(app)
    add_release(app, title="Ungesagt", minutes_ago=0)
    clock.advance(seconds=90)
    status, body = health(app)
    assert status == 503, "no worker ever ran: the change waits all the same"
    assert body["delivery"]["targets"][PURGE_TARGET] == {
        "lag_seconds": 90.0, "pending": 1, "attempts": 0, "last_error": ""
    }  # fmt: skip
    assert health(make_app(CACHE_PURGE_URLS=cache.url, DELIVERY_LAG_ALERT=0))[0] == 200, "0 turns it off"


def samples(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_requests_renders_cache_lookups_and_delivery_per_target(
    make_app: AppFactory, hub: Endpoint, clock: FakeClock
) -> None:
    app = make_app(HUB_URLS=hub.url)
    make_catalog(app)
    cycle(app, clock)
    add_release(app, title="Gezählt", minutes_ago=0)
    client = app.test_client()
    assert client.get("/cities/rosenheim/feed.atom").status_code == 200  # rendered by the view
    assert client.get("/cities/rosenheim/feed.atom").status_code == 200  # answered by the front
    assert client.get("/cities/nirgendwo/feed.atom").status_code == 404
    hub.failing = True
    cycle(app, clock)
    clock.advance(seconds=5)
    found = samples(app)
    name = websub_target(hub.url)
    assert found[("feedsvc_http_requests_total", (("status", "200"), ("via", "app")))] == 1
    assert found[("feedsvc_http_requests_total", (("status", "200"), ("via", "front")))] == 1
    assert found[("feedsvc_http_requests_total", (("status", "404"), ("via", "app")))] == 1
    assert found[("feedsvc_feed_renders_total", (("format", "atom"),))] == 1
    assert found[("feedsvc_feed_render_seconds_count", (("format", "atom"),))] == 1
    assert found[("feedsvc_feed_cache_lookups_total", (("result", "hit"),))] == 1
    assert found[("feedsvc_feed_cache_lookups_total", (("result", "miss"),))] == 1
    assert found[("feedsvc_delivery_lag_seconds", (("target", name),))] == 5.0
    assert found[("feedsvc_delivery_lag_max_seconds", ())] == 5.0
    assert found[("feedsvc_delivery_pending", (("target", name),))] == 1
    assert found[("feedsvc_delivery_failures_total", (("target", name),))] == 1
    assert found[("feedsvc_delivery_retries_total", (("target", name),))] == 0
    assert found[("feedsvc_database_up", ())] == 1
    hub.failing = False
    cycle(app, clock)
    after = samples(app)
    assert after[("feedsvc_delivery_retries_total", (("target", name),))] == 1
    assert after[("feedsvc_delivery_delivered_total", (("target", name),))] == 1
    assert after[("feedsvc_delivery_lag_seconds", (("target", name),))] == 0


# --- the worker loop, the commands and the supervisor -----------------------------------------------


def test_the_worker_waits_out_an_unreachable_database_and_stops_when_told(app_config: dict[str, Any]) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/feedsvc")  # the discard port: refused
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            delivery.run(
                engine, delivery.Settings(base_url=BASE_URL), app_config["CLOCK"], interval=0.05, stop=stop
            )
        except BaseException as error:  # pragma: no cover - the failure this test looks for
            errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive() and errors == []
    stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive() and errors == []
    engine.dispose()


def test_the_worker_and_notify_commands_run_one_cycle(delivering: Flask) -> None:
    runner = delivering.test_cli_runner()
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    release_id = add_release(delivering, title="Über die Kommandozeile", minutes_ago=0)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert f"told of {3 * len(FEED_FORMATS)} feed URLs" in result.output
    assert "caches: purged 4 keys (1 changes)" in result.output, release_id
    again = runner.invoke(args=["notify", "--once"])
    assert again.exit_code == 0 and "told of" not in again.output


def test_the_supervisor_starts_a_worker_again_whenever_it_exits_and_stops_it() -> None:
    dying = WorkerSupervisor((sys.executable, "-c", "raise SystemExit(3)"), first_wait=0.05, max_wait=0.1)
    dying.start()
    try:
        wait_until(lambda: dying.starts >= 3, 20, "three starts")
    finally:
        dying.stop()
    lasting = WorkerSupervisor((sys.executable, "-c", "import time; time.sleep(60)"), first_wait=0.05)
    lasting.start()
    wait_until(lambda: lasting.pid is not None, 10, "a worker")
    started = time.monotonic()
    lasting.stop(timeout=10)
    assert time.monotonic() - started < 5, "stopped at once, not after its sleep"
    assert lasting.starts == 1
    assert subprocess.run(["kill", "-0", str(lasting.pid)], capture_output=True).returncode != 0


# --- the migration -----------------------------------------------------------------------------------


def test_migration_0007_carries_the_websub_log_and_the_hub_cursors_over(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrations.upgrade(engine, "0006")
        with engine.begin() as connection:
            for change_id, key in ((1, "all"), (2, "city:1"), (3, "topic:2")):
                connection.execute(
                    text("INSERT INTO feed_changes (id, key, changed_us) VALUES (:id, :key, :us)"),
                    {"id": change_id, "key": key, "us": 1000 + change_id},
                )
            connection.execute(
                text(
                    "INSERT INTO hub_cursors (hub_url, last_change_id, failures, next_attempt_us, "
                    "leased_until_us, last_error) VALUES ('http://hub.test/', 2, 1, 5, 0, 'HTTP 503')"
                )
            )
        migrations.upgrade(engine)
        with engine.connect() as connection:
            carried = connection.execute(
                select(OutboxEntry.seq, OutboxEntry.subject_keys, OutboxEntry.due_us).order_by(
                    OutboxEntry.seq
                )
            ).all()
            hubs = connection.execute(
                select(DeliveryTarget.name, DeliveryTarget.delivered_seq, DeliveryTarget.attempts)
            ).all()
        assert [tuple(row) for row in carried] == [
            (1, "all", 1001),
            (2, "city:1", 1002),
            (3, "topic:2", 1003),
        ]
        assert [tuple(row) for row in hubs] == [("websub:http://hub.test/", 2, 1)]
        assert migrations.migrate(engine, "0006") == (migrations.head_revision(), "0006")
        with engine.begin() as connection:
            cursors = connection.execute(text("SELECT hub_url, last_change_id FROM hub_cursors")).all()
            assert [tuple(row) for row in cursors] == [("http://hub.test/", 0)]
    finally:
        engine.dispose()
