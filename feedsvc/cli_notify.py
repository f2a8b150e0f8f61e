"""`feedsvc notify`: the WebSub notifier, run beside the app servers."""

from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.store.feed_versions import micros
from feedsvc.web.websub import next_lift_us, post_form, run_cycle


@click.command("notify")
@with_appcontext
@click.option("--once", is_flag=True, help="Run one cycle and exit (for cron or tests).")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds.")
def notify_command(once: bool, interval: float) -> None:
    """Tell the WebSub hubs of FEEDSVC_HUB_URLS which feeds changed, durably."""
    hubs: list[str] = current_app.config["HUB_URLS"]
    base_url: str | None = current_app.config["BASE_URL"]
    if not base_url:
        click.echo("FEEDSVC_BASE_URL must be set: hubs are told absolute feed URLs", err=True)
        sys.exit(2)
    if not hubs:
        click.echo("no hubs configured (FEEDSVC_HUB_URLS): embargoes are lifted, nobody is told", err=True)
    clock = current_app.config["CLOCK"]
    while True:
        session = db.session()
        now_us = micros(clock())
        report = run_cycle(session, hubs, base_url, now_us, post_form)
        for hub, urls in report.delivered.items():
            click.echo(f"{hub}: told of {len(urls)} feed URLs")
        for hub, error in report.failed.items():
            click.echo(f"{hub}: failed, will retry: {error}", err=True)
        if once:
            return
        upcoming = next_lift_us(session)
        session.close()
        wait = interval
        if upcoming is not None:
            wait = max(0.05, min(interval, (upcoming - micros(clock())) / 1_000_000))
        time.sleep(wait)
