"""feedsvc scaled out, for real: two app servers (`feedsvc serve --no-worker`, each its own
gunicorn) and two delivery workers (`feedsvc worker`) on one PostgreSQL database, behind one
Varnish whose director spreads requests over both app servers (the shape the comments of
deploy/varnish/feedsvc.vcl show), purged by both workers, with a WebSub hub on loopback.

A release published through either app server is visible through Varnish within a second
of the API's answer and stays so (no older copy after the purge), and every change reaches
the hub exactly once, whichever worker delivered it.

PostgreSQL only (FEEDSVC_TEST_DATABASE_URL): SQLite is one machine's database. The servers
start once for the whole file.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from bench import servers
from feedsvc import db
from feedsvc.models import DeliveryTarget
from feedsvc.store import outbox
from feedsvc.store.changes import micros
from feedsvc.store.keys import release_keys
from feedsvc.store.outbox import PURGE_TARGET, websub_target
from feedsvc.store.releases import release_by_id
from feedsvc.worker.websub import feed_urls
from tests.cache_support import (
    Site,
    clear_of_a_grid_point,
    get,
    origin_environment,
    site_app,
    site_database,
    varnish_in_front,
)
from tests.conftest import BASE_URL, POSTGRES_URL
from tests.loopback import Endpoint, endpoint, wait_until

__all__ = ["site_app", "site_database"]  # fixtures

pytestmark = [
    pytest.mark.skipif(
        not POSTGRES_URL, reason="several app servers share a PostgreSQL database (FEEDSVC_TEST_DATABASE_URL)"
    ),
    pytest.mark.postgres,
    pytest.mark.xdist_group("scale_out"),
]

# How often each worker looks at the outbox: a change is purged within this (plus a purge).
DELIVERY_INTERVAL_S = 0.5
ROSENHEIM_FEED = "/cities/rosenheim/feed.atom"


@dataclass
class Cluster:
    site: Site  # Varnish in front of both app servers
    app_servers: list[servers.Server]
    workers: list[servers.Server]
    hub: Endpoint
    app: Flask

    def release_feed_urls(self, release_id: int) -> list[str]:
        """Every feed URL a hub must hear of for a change of this release."""
        with self.app.app_context():
            session = db.session()
            release = release_by_id(session, release_id)
            assert release is not None
            urls = feed_urls(session, sorted(release_keys(release)), BASE_URL)
            session.rollback()
        return urls


@pytest.fixture(scope="module")
def cluster(
    site_app: Flask, site_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("scale-out")
    with ExitStack() as stack:
        hub = stack.enter_context(endpoint("/hub"))
        env = origin_environment(site_database, FEEDSVC_HUB_URLS=hub.url)

        def app_server(_: int) -> servers.Server:
            port = servers.free_port()
            return servers.start_feedsvc(
                env=env, port=port, log=directory / f"serve-{port}.log", delivery_worker=False
            )

        with ThreadPoolExecutor(max_workers=2) as starting:
            app_servers = list(starting.map(app_server, range(2)))
        for server in app_servers:
            stack.callback(server.stop)
        site = stack.enter_context(
            varnish_in_front(site_app, [server.port for server in app_servers], directory)
        )
        worker_env = {
            **env,
            "FEEDSVC_CACHE_PURGE_URLS": site.purge_urls[0],
            "FEEDSVC_DELIVERY_INTERVAL": str(DELIVERY_INTERVAL_S),
            "PYTHONUNBUFFERED": "1",  # each line it prints reaches its log at once
        }
        workers = [servers.start_worker(env=worker_env, log=directory / f"worker-{n}.log") for n in (1, 2)]
        for worker in workers:
            stack.callback(worker.stop)
        wanted = {PURGE_TARGET, websub_target(hub.url)}
        wait_until(lambda: _targets(site_app) >= wanted, 30, "the workers created their targets")
        # The catalog's changes are purged still: a copy cached meanwhile could go at any moment.
        wait_until(lambda: _caught_up(site_app), 30, "the workers delivered every change so far")
        yield Cluster(site, app_servers, workers, hub, site_app)


def _targets(app: Flask) -> set[str]:
    with app.app_context():
        names = set(db.session().scalars(select(DeliveryTarget.name)))
        db.session().rollback()
    return names


def _caught_up(app: Flask) -> bool:
    with app.app_context():
        session = db.session()
        latest = outbox.latest_seq(session)
        pending = outbox.has_due(session, micros(datetime.now(UTC))) or any(
            target.delivered_seq < latest for target in session.scalars(select(DeliveryTarget))
        )
        session.rollback()
    return not pending


def _feed_requests(server: servers.Server) -> int:
    """GETs of feeds in the app server's access log."""
    return len(re.findall(r'"GET [^ "]*/feed\.(?:atom|rss|json)', server.log.read_text(errors="replace")))


def test_varnish_spreads_requests_over_both_app_servers(cluster: Cluster) -> None:
    before = [_feed_requests(server) for server in cluster.app_servers]
    for fmt in ("atom", "rss", "json"):
        for subject in ("", "/cities/rosenheim", "/cities/muenchen", "/topics/kultur"):
            for encoding in ("identity", "gzip"):
                assert (
                    get(cluster.site.url(f"{subject}/feed.{fmt}"), {"Accept-Encoding": encoding}).status
                    == 200
                )
    wait_until(
        lambda: all(
            _feed_requests(server) > seen for server, seen in zip(cluster.app_servers, before, strict=True)
        ),
        5,
        "both app servers answered Varnish's fetches",
    )


@pytest.mark.parametrize("through", [0, 1], ids=["through app server A", "through app server B"])
def test_a_publish_through_either_app_server_is_visible_within_a_second_and_stays(
    cluster: Cluster, through: int
) -> None:
    site = cluster.site
    clear_of_a_grid_point()
    get(site.url(ROSENHEIM_FEED))
    assert get(site.url(ROSENHEIM_FEED)).header("X-Cache") == "HIT"
    title = f"Über App-Server {'AB'[through]} veröffentlicht"
    _, acknowledged = site.publish(title, via=cluster.app_servers[through].base_url)
    while True:
        answer = get(site.url(ROSENHEIM_FEED))
        if answer.shows(title):
            break
        assert time.time() - acknowledged <= 1.0, "not visible through Varnish within a second"
        time.sleep(0.02)
    assert answer.at - acknowledged <= 1.0, f"visible {answer.at - acknowledged:.2f} s after the API answered"
    # From the purge on, every answer is the new copy, and either app server would fetch it.
    for _ in range(40):
        assert get(site.url(ROSENHEIM_FEED)).shows(title), "an older copy came back after the purge"
        time.sleep(0.025)
    for server in cluster.app_servers:
        assert get(server.base_url + ROSENHEIM_FEED, {"Cache-Control": "no-cache"}).shows(title)


def _delivered(app: Flask) -> dict[str, int]:
    """How many changes each target has been given in total (whichever worker gave them)."""
    with app.app_context():
        rows = db.session().execute(select(DeliveryTarget.name, DeliveryTarget.delivered_total)).all()
        db.session().rollback()
    return {name: total for name, total in rows}


def test_each_change_reaches_the_hub_and_the_cache_exactly_once_across_both_workers(
    cluster: Cluster,
) -> None:
    """Each target takes every change once, from one worker or the other. A batch tells a hub
    of each feed URL once, however many of its changes touched that feed."""
    told_before = Counter(cluster.hub.topics())
    delivered_before = _delivered(cluster.app)
    published: list[int] = []
    lock = threading.Lock()

    def publish(number: int) -> None:
        release_id, _ = cluster.site.publish(
            f"Meldung {number} an den Hub",
            city=("rosenheim", "muenchen")[number % 2],
            via=cluster.app_servers[number // 2 % 2].base_url,
        )
        with lock:
            published.append(release_id)

    with ThreadPoolExecutor(max_workers=4) as publishing:
        list(publishing.map(publish, range(8)))
    changes_of = Counter(url for release_id in published for url in cluster.release_feed_urls(release_id))
    everything = {PURGE_TARGET: len(published), websub_target(cluster.hub.url): len(published)}

    def delivered() -> dict[str, int]:
        return {
            name: total - delivered_before.get(name, 0) for name, total in _delivered(cluster.app).items()
        }

    wait_until(lambda: delivered() == everything, 20, "both targets took every change")
    time.sleep(3 * DELIVERY_INTERVAL_S)  # both workers had further cycles: nothing is given again
    assert delivered() == everything
    told = Counter(cluster.hub.topics()) - told_before
    assert set(told) == set(changes_of), "the hub heard of exactly the feeds that changed"
    assert all(told[url] <= changes_of[url] for url in told), "a feed URL was told twice for one change"
    for worker in cluster.workers:
        assert worker.process.poll() is None, worker.log_tail()
        assert "failed, will retry" not in worker.log.read_text(errors="replace"), worker.log_tail()
