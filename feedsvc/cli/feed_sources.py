"""`feedsvc feed-sources add | list | remove`: feeds the worker pulls on a schedule and
imports as `feedsvc import URL` does (docs/operations.md#switching-over-gradually).

Each command owns its transaction.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.cli.config import require_identity
from feedsvc.cli.database import upgrade_schema
from feedsvc.models import FeedSource
from feedsvc.publishing.importing import ImportFailed
from feedsvc.store import catalog, feed_sources
from feedsvc.store.changes import from_micros, micros

# Reading feeds (feedparser) and fetching them are imported by `feed-sources add` when it
# runs: every other `feedsvc` command registers this group too and would load them for nothing.
if TYPE_CHECKING:
    from feedsvc.publishing.feed_import import TopicMapping

DEFAULT_EVERY = "15m"
MAX_URL_CHARS = 2000  # feed_sources.url
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 86400
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d)?\s*$", re.IGNORECASE)


def _interval(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """`--every`: a duration such as `15m`, `1h`, `90s` or `1d` (a bare number: minutes), in seconds."""
    match = _INTERVAL.match(value)
    if match is None:
        raise click.BadParameter(f"{value!r} is no interval: give minutes or hours, e.g. 15m, 1h, 1d")
    seconds = int(match[1]) * _UNITS[(match[2] or "m").lower()]
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise click.BadParameter(f"{value!r}: pull at most once a minute and at least once a week")
    return seconds


@click.group("feed-sources")
def feed_sources_group() -> None:
    """Feeds the worker pulls on a schedule and imports, for a city switching over."""


@feed_sources_group.command("add")
@with_appcontext
@click.argument("url")
@click.option("--city", required=True, help="The city the feed's releases are for.")
@click.option(
    "--topics",
    "topics_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON object mapping feed categories to topic slugs.",
)
@click.option("--publisher", help="The press office its releases are published for (default: the city's).")
@click.option(
    "--every",
    "interval",
    metavar="INTERVAL",
    default=DEFAULT_EVERY,
    show_default=True,
    callback=_interval,
    help="How often to pull it: 30m, 1h, 1d, …",
)
@click.option("--no-check", is_flag=True, help="Add it without fetching it once first.")
def add_command(
    url: str, city: str, topics_file: Path | None, publisher: str | None, interval: int, no_check: bool
) -> None:
    """Pull the feed at URL on a schedule and import what is new or changed."""
    from feedsvc.worker.fetch import FetchFailed, check_url

    require_identity("import releases")
    try:
        check_url(url)
    except FetchFailed as failure:
        raise click.BadParameter(str(failure), param_hint="URL") from None
    if len(url) > MAX_URL_CHARS:
        raise click.BadParameter(f"at most {MAX_URL_CHARS} characters", param_hint="URL")
    upgrade_schema()
    mapping = _topic_mapping(topics_file)
    session = db.session()
    city_row = catalog.city_by_slug(session, city)
    if city_row is None:
        _fail(f"unknown city '{city}'")
    unknown = mapping.unknown_topics(session, topics_file.name if topics_file else "")
    if unknown:
        _fail(*unknown)
    checked = "" if no_check else _check(url)
    db.begin_writing(session)
    city_row = catalog.city_by_slug(session, city)
    assert city_row is not None, "checked above, and cities are not deleted"
    source = feed_sources.add_source(
        session,
        url=url,
        city=city_row,
        publisher_name=publisher,
        topic_map=mapping.to_json(),
        interval_seconds=interval,
        now_us=micros(current_app.config["CLOCK"]()),
    )
    if source is None:
        session.rollback()
        _fail(f"{city} has this feed already: {url}")
    session.commit()
    click.echo(f"feed source {source.id}: {url} for {city}, pulled every {_duration(interval)}{checked}")
    click.echo("the delivery worker (feedsvc worker, or feedsvc serve) pulls it from now on")


@feed_sources_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every feed source: its city, schedule, last success and last error."""
    upgrade_schema()
    found = feed_sources.sources(db.session())
    if not found:
        click.echo("no feed sources (feedsvc feed-sources add URL --city SLUG)")
    for source in found:
        click.echo(_describe(source))


@feed_sources_group.command("remove")
@with_appcontext
@click.argument("source_id", metavar="ID", type=int)
def remove_command(source_id: int) -> None:
    """Stop pulling feed source ID (the releases it imported stay)."""
    upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    if not feed_sources.remove_source(session, source_id):
        session.rollback()
        _fail(f"no feed source {source_id} (feedsvc feed-sources list)")
    session.commit()
    click.echo(f"feed source {source_id} removed; the releases it imported stay")


def _check(url: str) -> str:
    """Fetches and reads the feed once (nothing is imported): its format and item count."""
    from feedsvc.publishing.feed_reading import NotAFeed, read_feed
    from feedsvc.worker.fetch import Fetched, FetchFailed, fetch

    try:
        answer = fetch(url)
        assert isinstance(answer, Fetched), "an unconditional GET is never answered 304"
        feed = read_feed(answer.body, url=answer.url, content_type=answer.content_type)
    except (FetchFailed, NotAFeed) as failure:
        _fail(f"{url}: {failure}", "(--no-check adds it all the same)")
    return f" ({feed.format}, {len(feed.items)} items now)"


def _topic_mapping(path: Path | None) -> TopicMapping:
    from feedsvc.publishing.feed_import import TopicMapping

    if path is None:
        return TopicMapping()
    try:
        return TopicMapping.from_json(path.read_text(encoding="utf-8"), path.name)
    except UnicodeDecodeError as error:
        _fail(f"{path.name}: not UTF-8 (byte {error.start})")
    except ImportFailed as failure:
        _fail(*failure.problems)


def _describe(source: FeedSource) -> str:
    lines = [f"{source.id}  {source.url}  {source.city.slug}  every {_duration(source.interval_seconds)}"]
    if source.publisher_name:
        lines.append(f"    press office: {source.publisher_name}")
    if source.last_success_us:
        result = source.last_result.splitlines()
        lines.append(f"    last success: {_instant(source.last_success_us)}: {result[0] if result else ''}")
        lines.extend(f"      {line}" for line in result[1:])
    else:
        lines.append("    last success: never")
    if source.failures:
        tried = _instant(source.last_attempt_us)
        lines.append(f"    FAILING ({source.failures} in a row, last tried {tried}): {source.last_error}")
    lines.append(f"    next pull: {_instant(source.next_pull_us)}")
    return "\n".join(lines)


def _instant(value_us: int) -> str:
    return from_micros(value_us).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _fail(*lines: str) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)
