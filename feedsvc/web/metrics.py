"""`GET /metrics`: Prometheus text exposition (`prometheus_client`).

Kept by each process, cheap on the poll path (a counter increment):

- `feedsvc_http_requests_total{status, via}`: every response, `via="front"` for polls the
  poll front (`web/feeds/front.py`) answered before Flask, `via="app"` for the rest;
- `feedsvc_feed_renders_total{format}` and `feedsvc_feed_render_seconds{format}`: renders
  (one per change per worker) and how long each took;
- `feedsvc_feed_cache_lookups_total{result}`: `hit` (bytes from the worker's memory) or
  `miss` (rendered).

Read from the database at each scrape, so every process reports the same:

- `feedsvc_delivery_lag_seconds{target}` and `feedsvc_delivery_lag_max_seconds`: how long
  the oldest change a target has not taken has been due (what /healthz alerts on);
- `feedsvc_delivery_pending{target}`, `feedsvc_delivery_delivered_total{target}`,
  `feedsvc_delivery_failures_total{target}` (failed attempts), `feedsvc_delivery_retries_total{target}`
  (attempts after a failure), `feedsvc_delivery_backoff_seconds{target}`;
- `feedsvc_webhook_delivered_total{endpoint}`, `feedsvc_webhook_failures_total{endpoint}`
  (failed attempts), `feedsvc_webhook_pending{endpoint}` and `feedsvc_webhook_enabled{endpoint}`
  per newsroom's webhook endpoint (its id); the fan-out is the delivery target `webhooks`;
- `feedsvc_database_up`: 0 while the database cannot be read.

Several gunicorn workers: `feedsvc serve` runs prometheus_client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, see `use_multiprocess`), so any worker's answer adds up the
counters of all of them. Without it (plain gunicorn, `flask run`) each answer holds only
the counters of the process that answered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.store import outbox
from feedsvc.store import webhooks as webhook_rows
from feedsvc.store.changes import micros

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

blueprint = Blueprint("metrics", __name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_EXTENSION_KEY = "feedsvc.metrics"
RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def use_multiprocess(directory: str) -> None:
    """Keep values in files under `directory`, shared by every process started from here on.

    prometheus_client decides how values are kept when it is imported, from the
    environment; the command line has imported it (to build its app) before `feedsvc
    serve` knows the directory, so it is asked to decide again. Instruments made after
    this (every gunicorn worker builds its own app) write to the directory."""
    os.environ[MULTIPROC_ENV] = directory
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class Instruments:
    """The counters of one app; registered in its own registry unless in multiprocess mode."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "feedsvc_http_requests",
            "HTTP responses by status; via=front: answered by the poll front before Flask.",
            ["status", "via"],
            registry=registry,
        )
        self.renders = Counter(
            "feedsvc_feed_renders",
            "Feeds rendered (once per change per worker).",
            ["format"],
            registry=registry,
        )
        self.render_seconds = Histogram(
            "feedsvc_feed_render_seconds",
            "Time to render a feed page, reads included.",
            ["format"],
            buckets=RENDER_BUCKETS,
            registry=registry,
        )
        lookups = Counter(
            "feedsvc_feed_cache_lookups",
            "Feed requests answered from the worker's rendered bytes (hit) or by rendering (miss).",
            ["result"],
            registry=registry,
        )
        self.cache_hit = lookups.labels("hit")
        self.cache_miss = lookups.labels("miss")
        self._statuses: dict[tuple[str, str], Any] = {}

    def response(self, status_line: str, via: str) -> None:
        """Counts one response; the labelled child is looked up once per status."""
        child = self._statuses.get((status_line, via))
        if child is None:
            child = self.requests.labels(status_line[:3], via)
            self._statuses[(status_line, via)] = child
        child.inc()

    def counting(self, start_response: StartResponse) -> StartResponse:
        """`start_response` that counts the status Flask answers with."""

        def counted(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.response(status, "app")
            return start_response(status, headers, exc_info)

        return counted

    def rendered(self, fmt: str, started: float) -> None:
        self.renders.labels(fmt).inc()
        self.render_seconds.labels(fmt).observe(time.perf_counter() - started)


class DeliveryCollector(Collector):
    """Delivery lag, backlog and failures per configured target, read from the database."""

    def __init__(self, engine: Engine, names: Sequence[str], clock: Any) -> None:
        self._engine = engine
        self._names = list(names)
        self._clock = clock

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only, never at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("feedsvc_database_up", "1 when the database answered this scrape.")
        try:
            with Session(self._engine) as session:
                now_us = micros(self._clock())
                names = self._names + webhook_rows.target_names(session)
                backlogs = outbox.backlog(session, names, now_us)
                endpoints = webhook_rows.stats(session)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "lag": GaugeMetricFamily(
                "feedsvc_delivery_lag_seconds",
                "Seconds the oldest change this target has not taken has been due.",
                labels=["target"],
            ),
            "pending": GaugeMetricFamily(
                "feedsvc_delivery_pending", "Deliverable changes not taken yet.", labels=["target"]
            ),
            "backoff": GaugeMetricFamily(
                "feedsvc_delivery_backoff_seconds", "Seconds until the next attempt after a failure.",
                labels=["target"],
            ),
            "delivered": CounterMetricFamily(
                "feedsvc_delivery_delivered", "Changes delivered.", labels=["target"]
            ),
            "failures": CounterMetricFamily(
                "feedsvc_delivery_failures", "Failed delivery attempts.", labels=["target"]
            ),
            "retries": CounterMetricFamily(
                "feedsvc_delivery_retries", "Delivery attempts after a failed one.", labels=["target"]
            ),
        }  # fmt: skip
        worst = 0.0
        for backlog in backlogs:
            lag = backlog.lag_seconds(now_us)
            worst = max(worst, lag)
            labels = [backlog.name]
            families["lag"].add_metric(labels, lag)
            families["pending"].add_metric(labels, backlog.pending)
            families["backoff"].add_metric(labels, max(0, backlog.next_attempt_us - now_us) / 1_000_000)
            families["delivered"].add_metric(labels, backlog.delivered_total)
            families["failures"].add_metric(labels, backlog.failures_total)
            families["retries"].add_metric(labels, backlog.retries_total)
        yield from families.values()
        overall = GaugeMetricFamily(
            "feedsvc_delivery_lag_max_seconds", "The largest delivery lag of any target."
        )
        overall.add_metric([], worst)
        yield overall
        yield from _webhook_families(endpoints)


def _webhook_families(endpoints: Sequence[webhook_rows.EndpointStats]) -> Iterator[Metric]:
    """Per webhook endpoint: deliveries, failed attempts, what waits, whether it is enabled."""
    delivered = CounterMetricFamily(
        "feedsvc_webhook_delivered", "Webhook deliveries answered 2xx.", labels=["endpoint"]
    )
    failures = CounterMetricFamily(
        "feedsvc_webhook_failures", "Failed webhook delivery attempts.", labels=["endpoint"]
    )
    pending = GaugeMetricFamily("feedsvc_webhook_pending", "Webhook deliveries waiting.", labels=["endpoint"])
    enabled = GaugeMetricFamily(
        "feedsvc_webhook_enabled", "1 while the endpoint is enabled, 0 once disabled.", labels=["endpoint"]
    )
    for each in endpoints:
        labels = [str(each.endpoint_id)]
        delivered.add_metric(labels, each.delivered_total)
        failures.add_metric(labels, each.failures_total)
        pending.add_metric(labels, each.pending)
        enabled.add_metric(labels, 1 if each.enabled else 0)
    yield from (delivered, failures, pending, enabled)


def init_app(app: Flask) -> None:
    registry = None if multiprocess_mode() else CollectorRegistry(auto_describe=False)
    with app.app_context():
        engine = db.engine()
    names = outbox.target_names(app.config["CACHE_PURGE_URLS"], app.config["HUB_URLS"])
    delivery = DeliveryCollector(engine, names, app.config["CLOCK"])
    if registry is not None:
        registry.register(delivery)
    app.extensions[_EXTENSION_KEY] = (Instruments(registry), registry, delivery)
    app.register_blueprint(blueprint)


def instruments(app: Flask | None = None) -> Instruments:
    found: Instruments = (app or current_app).extensions[_EXTENSION_KEY][0]
    return found


@blueprint.get("/metrics")
def metrics() -> Response:
    _, registry, delivery = current_app.extensions[_EXTENSION_KEY]
    if registry is None:
        # Multiprocess mode: what every process wrote, added up, read anew per scrape.
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(delivery)
    return Response(
        generate_latest(registry), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
