"""`feedsvc worker`: the delivery worker (`worker.delivery`), which `feedsvc serve` runs and
restarts beside the app servers, and beside delivery, in a thread of its own, the pulls of
feed sources (`worker.pulling`). `feedsvc notify` is its old name."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db, smtp
from feedsvc.cli.config import require_base_url
from feedsvc.store.changes import micros
from feedsvc.store.outbox import PURGE_TARGET

# The worker's own modules (and what they import: feedparser, standardwebhooks) are imported
# by the functions below, when the worker runs: every other `feedsvc` command registers this
# one too and would load them for nothing.
if TYPE_CHECKING:
    from feedsvc.worker import delivery, pulling, webhooks
    from feedsvc.worker import mail as mailing


def settings_of_app() -> delivery.Settings:
    from feedsvc.worker import delivery

    config = current_app.config
    return delivery.Settings(
        base_url=config["BASE_URL"],
        hubs=tuple(config["HUB_URLS"]),
        cache_urls=tuple(config["CACHE_PURGE_URLS"]),
        batch=config["DELIVERY_BATCH"],
        mail=mail_settings_of_app() is not None,
    )


def mail_settings_of_app() -> mailing.Settings | None:
    """E-mail alerts' settings; None without a mail server or base URL (no alerts then)."""
    from feedsvc.worker import mail as mailing

    config = current_app.config
    server = smtp.settings_from(config)
    if server is None or not config["BASE_URL"]:
        return None
    return mailing.Settings(
        smtp=server,
        base_url=config["BASE_URL"],
        site_name=config["SITE_NAME"],
        per_minute=config["MAIL_PER_MINUTE"],
        digest_hour=config["MAIL_DIGEST_HOUR"],
        sign_up_window=timedelta(seconds=config["MAIL_SIGN_UP_WINDOW"]),
        keep_sent=timedelta(days=config["MAIL_KEEP_SENT_DAYS"]),
    )


def _echo_mail(report: mailing.SendReport) -> None:
    # Counts only: addresses never go into the worker's output.
    if report.sent or report.digests or report.dropped:
        click.echo(f"mail: {report.sent} sent, {report.digests} digests due, {report.dropped} dropped")
    if report.error:
        click.echo(f"mail: {report.failed} not sent, will retry: {report.error}", err=True)


def webhook_settings_of_app() -> webhooks.Settings:
    from feedsvc.worker import webhooks

    config = current_app.config
    return webhooks.Settings(
        base_url=config["BASE_URL"],
        disable_after_s=config["WEBHOOK_DISABLE_AFTER"],
        mail=smtp.settings_from(config),
    )


def _echo_webhooks(attempts: list[webhooks.Attempt]) -> None:
    for attempt in attempts:
        what = f"webhook {attempt.endpoint_id}: {attempt.event_type} {attempt.message_id}"
        if attempt.ok:
            click.echo(f"{what}: delivered (HTTP {attempt.status})")
        else:
            click.echo(f"{what}: failed, next try in {attempt.retry_in_s:.0f} s: {attempt.error}", err=True)
        if attempt.disabled:
            click.echo(f"webhook {attempt.endpoint_id}: disabled after failing too long", err=True)


def pull_settings_of_app() -> pulling.Settings:
    from feedsvc.worker import pulling

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
    if report.webhooks.deliveries:
        click.echo(
            f"webhooks: {report.webhooks.deliveries} deliveries from {report.webhooks.entries} changes"
        )
    if report.webhooks.error:
        click.echo(f"webhooks: failed, will retry: {report.webhooks.error}", err=True)


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
    """Deliver every change: purge the caches, then tell the WebSub hubs, in order; send the
    newsrooms' webhooks and the e-mail alerts; and pull the feed sources that are due."""
    from feedsvc.worker import delivery, pulling, webhooks
    from feedsvc.worker import mail as mailing

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
        _echo_webhooks(webhooks.send_due(db.engine(), webhook_settings_of_app(), clock))
        if (mail_settings := mail_settings_of_app()) is not None:
            _echo_mail(mailing.send_round(db.session(), mail_settings, clock()))
            db.session().close()
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
    # Webhooks go out beside delivery too: a slow newsroom holds up nobody else.
    sender = threading.Thread(
        target=webhooks.run,
        args=(db.engine(), webhook_settings_of_app(), clock),
        kwargs={"stop": stop, "on_round": _echo_webhooks},
        name="webhooks",
        daemon=True,
    )
    sender.start()
    # E-mail alerts too: a slow mail server holds up nobody else.
    mailer = None
    if (mail_settings := mail_settings_of_app()) is not None:
        mailer = threading.Thread(
            target=mailing.run,
            args=(db.engine(), mail_settings, clock),
            kwargs={"stop": stop, "on_round": _echo_mail},
            name="mail",
            daemon=True,
        )
        mailer.start()
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
        sender.join(timeout=1.0)
        if mailer is not None:
            mailer.join(timeout=1.0)


notify_command = click.Command(
    "notify",
    callback=worker_command.callback,
    params=worker_command.params,
    help="The old name of `feedsvc worker`.",
)
