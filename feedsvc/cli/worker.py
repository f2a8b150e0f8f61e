"""`feedsvc worker`: the delivery worker (`worker.delivery`), which `feedsvc serve` runs and
restarts beside the app servers, and beside delivery, in a thread of its own, the pulls of
feed sources (`worker.pulling`). `feedsvc notify` is its old name."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.cli.config import require_base_url
from feedsvc.store.changes import micros
from feedsvc.store.outbox import PURGE_TARGET
from feedsvc.worker import delivery, pulling


def settings_of_app() -> delivery.Settings:
    config = current_app.config
    return delivery.Settings(
        base_url=config["BASE_URL"],
        hubs=tuple(config["HUB_URLS"]),
        cache_urls=tuple(config["CACHE_PURGE_URLS"]),
        batch=config["DELIVERY_BATCH"],
    )


def pull_settings_of_app() -> pulling.Settings:
    return pulling.Settings(tag_authority=current_app.config["TAG_AUTHORITY"])


def _echo_pulls(pulled: list[pulling.Pulled]) -> None:
    for pull in pulled:
        if pull.outcome == "failed":
            click.echo(f"feed source {pull.source_id}: failed, will retry: {pull.detail}", err=True)
        else:
            click.echo(f"feed source {pull.source_id}: {pull.detail.splitlines()[0]}")


def _echo(report: delivery.CycleReport) -> None:
    for name, told in report.sent.items():
        if name == PURGE_TARGET:
            click.echo(f"caches: purged {len(told)} keys ({report.delivered[name]} changes)")
        else:
            click.echo(f"{name.split(':', 1)[1]}: told of {len(told)} feed URLs")
    for name, error in report.failed.items():
        click.echo(f"{name}: failed, will retry: {error}", err=True)


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Run one cycle and exit (for cron or tests).")
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 3600),
    default=None,
    help="Seconds between looks at the outbox [default: FEEDSVC_DELIVERY_INTERVAL, 1].",
)
def worker_command(once: bool, interval: float | None) -> None:
    """Deliver every change: purge the caches, then tell the WebSub hubs, in order; and pull
    the feed sources that are due."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s [delivery] %(levelname)s %(message)s"
    )
    require_base_url("run the worker")
    settings = settings_of_app()
    if settings.hubs and not settings.base_url:
        click.echo("FEEDSVC_BASE_URL is not set: the hubs cannot be told absolute feed URLs", err=True)
    if not settings.targets:
        click.echo("nothing to deliver to (no FEEDSVC_HUB_URLS, no FEEDSVC_CACHE_PURGE_URLS): "
                   "embargoes are lifted, nobody is told", err=True)  # fmt: skip
    clock = current_app.config["CLOCK"]
    pull_settings = pull_settings_of_app()
    if once:
        session = db.session()
        _echo(delivery.run_cycle(session, settings, micros(clock())))
        _echo_pulls(pulling.pull_due(session, pull_settings, clock))
        session.close()
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Pulling runs beside delivery, never in its way: a slow site holds up its own thread only.
    puller = threading.Thread(
        target=pulling.run,
        args=(db.engine(), pull_settings, clock),
        kwargs={"stop": stop},
        name="feed-pulling",
        daemon=True,
    )
    puller.start()
    try:
        delivery.run(
            db.engine(),
            settings,
            clock,
            interval=interval or current_app.config["DELIVERY_INTERVAL"],
            stop=stop,
            on_cycle=_echo,
        )
    finally:
        stop.set()
        # A fetch under way ends within its timeout; the thread is a daemon, so exiting never waits longer.
        puller.join(timeout=1.0)


notify_command = click.Command(
    "notify",
    callback=worker_command.callback,
    params=worker_command.params,
    help="The old name of `feedsvc worker`.",
)
