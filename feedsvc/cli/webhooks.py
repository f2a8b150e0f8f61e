"""`feedsvc webhooks add | list | remove | enable | deliveries | redeliver`: newsrooms'
endpoints that the worker sends signed releases to (docs/operations.md#webhooks).

`add` checks what `POST /api/v1/webhooks` checks (`publishing.webhooks`) and prints the
endpoint's signing secret once. Each command owns its transaction; each change is in the
audit log, by "feedsvc webhooks".
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext
from pydantic import ValidationError

from feedsvc import db
from feedsvc.cli.config import production
from feedsvc.cli.database import upgrade_schema
from feedsvc.models import WebhookDelivery, WebhookEndpoint
from feedsvc.publishing import webhooks as registering
from feedsvc.publishing.input import field_errors
from feedsvc.publishing.webhooks import NotRegistered, WebhookIn
from feedsvc.store import webhooks as rows
from feedsvc.store.audit import Acting, command_actor
from feedsvc.store.changes import from_micros

_BY = Acting(command_actor("webhooks"))
MAX_ID = 2**31 - 1
_ID = click.IntRange(1, MAX_ID)


@click.group("webhooks")
def webhooks_group() -> None:
    """Newsrooms' endpoints that hear of the releases of a subscription, signed."""


@webhooks_group.command("add")
@with_appcontext
@click.argument("url")
@click.option("--subscription", "key", help="The key of an existing subscription.")
@click.option("--city", "cities", multiple=True, help="Slug of a city (repeatable).")
@click.option("--region", "regions", multiple=True, help="Slug of a region (repeatable).")
@click.option("--topic", "topics", multiple=True, help="Slug of a topic (repeatable).")
@click.option("--q", "query", help="A full-text search the releases must match.")
@click.option("--urgency", type=int, help="Only releases at least this urgent (1 to 9).")
@click.option("--description", default="", help="What the endpoint is, e.g. the newsroom's system.")
def add_command(
    url: str,
    key: str | None,
    cities: tuple[str, ...],
    regions: tuple[str, ...],
    topics: tuple[str, ...],
    query: str | None,
    urgency: int | None,
    description: str,
) -> None:
    """Send the releases of a subscription to URL (https), signed; prints its secret once.
    Without --subscription or filter options: every release."""
    fields: dict[str, Any] = {"url": url, "description": description}
    if key is not None:
        fields["subscription"] = key
    for name, value in (("cities", cities), ("regions", regions), ("topics", topics)):
        if value:
            fields[name] = list(value)
    if query is not None:
        fields["q"] = query
    if urgency is not None:
        fields["urgency"] = urgency
    try:
        data = WebhookIn.model_validate(fields)
    except ValidationError as error:
        _fail(*(f"{_option(problem.field)}: {problem.message}" for problem in field_errors(error)))
    upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    outcome = registering.register(
        session, data, now=current_app.config["CLOCK"](), by=_BY, production=production()
    )
    if isinstance(outcome, NotRegistered):
        session.rollback()
        _fail(*(f"{_option(problem.field)}: {problem.message}" for problem in outcome.errors))
    session.commit()
    endpoint = outcome.endpoint
    click.echo(
        f"webhook {endpoint.id}: {endpoint.url} for subscription {endpoint.subscription.key}; "
        "its signing secret is shown only now:",
        err=True,
    )
    click.echo(outcome.secret)


@webhooks_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every endpoint: its subscription, state and what is waiting for it."""
    upgrade_schema()
    session = db.session()
    found = rows.endpoints(session)
    if not found:
        click.echo("no webhooks (feedsvc webhooks add URL)")
    waiting = {stats.endpoint_id: stats for stats in rows.stats(session)}
    for endpoint in found:
        click.echo(_describe(endpoint, waiting.get(endpoint.id)))


@webhooks_group.command("remove")
@with_appcontext
@click.argument("endpoint_id", metavar="ID", type=_ID)
def remove_command(endpoint_id: int) -> None:
    """Stop sending to webhook ID and delete it with its delivery log."""
    upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    endpoint = _endpoint(endpoint_id)
    registering.remove(session, endpoint, now=current_app.config["CLOCK"](), by=_BY)
    session.commit()
    click.echo(f"webhook {endpoint_id} removed")


@webhooks_group.command("enable")
@with_appcontext
@click.argument("endpoint_id", metavar="ID", type=_ID)
def enable_command(endpoint_id: int) -> None:
    """Enable webhook ID again after it was disabled: what waited for it goes out now."""
    upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    endpoint = _endpoint(endpoint_id)
    if not registering.enable(session, endpoint, now=current_app.config["CLOCK"](), by=_BY):
        session.rollback()
        click.echo(f"webhook {endpoint_id} was enabled already")
        return
    session.commit()
    click.echo(f"webhook {endpoint_id} enabled; its waiting deliveries go out with the worker's next round")


@webhooks_group.command("deliveries")
@with_appcontext
@click.argument("endpoint_id", metavar="ID", type=_ID)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def deliveries_command(endpoint_id: int, limit: int) -> None:
    """The delivery log of webhook ID, newest first."""
    upgrade_schema()
    _endpoint(endpoint_id)
    found = rows.deliveries(db.session(), endpoint_id, limit)
    if not found:
        click.echo(f"nothing sent to webhook {endpoint_id} yet")
    for delivery in found:
        click.echo(_delivery_line(delivery))


@webhooks_group.command("redeliver")
@with_appcontext
@click.argument("endpoint_id", metavar="ID", type=_ID)
@click.argument("delivery_id", metavar="DELIVERY", type=click.IntRange(1, 2**63 - 1))
def redeliver_command(endpoint_id: int, delivery_id: int) -> None:
    """Send delivery DELIVERY of webhook ID again, with the same webhook-id."""
    upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    endpoint = _endpoint(endpoint_id)
    if not endpoint.enabled:
        session.rollback()
        _fail(f"webhook {endpoint_id} is disabled: enable it first (feedsvc webhooks enable {endpoint_id})")
    delivery = rows.delivery_by_id(session, endpoint_id, delivery_id)
    if delivery is None:
        session.rollback()
        _fail(
            f"webhook {endpoint_id} has no delivery {delivery_id} (feedsvc webhooks deliveries {endpoint_id})"
        )
    registering.redeliver(session, endpoint, delivery, now=current_app.config["CLOCK"](), by=_BY)
    session.commit()
    click.echo(
        f"delivery {delivery_id} ({delivery.message.message_id}) goes out again with the worker's next round"
    )


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    found = rows.endpoint_by_id(db.session(), endpoint_id)
    if found is None:
        db.session().rollback()
        _fail(f"no webhook {endpoint_id} (feedsvc webhooks list)")
    return found


def _describe(endpoint: WebhookEndpoint, stats: rows.EndpointStats | None) -> str:
    state = "enabled" if endpoint.enabled else f"DISABLED since {_time(endpoint.disabled_at)}"
    lines = [f"{endpoint.id}  {endpoint.url}  {state}"]
    if endpoint.description:
        lines.append(f"    {endpoint.description}")
    lines.append(f"    subscription: {endpoint.subscription.key}")
    lines.append(f"    created {_time(endpoint.created_at)} by {endpoint.created_by}")
    if not endpoint.enabled:
        lines.append(f"    why: {endpoint.disabled_reason}")
    if stats is not None:
        lines.append(
            f"    delivered {stats.delivered_total}, failed attempts {stats.failures_total}, "
            f"waiting {stats.pending}"
        )
        if stats.failing_since_us:
            lines.append(f"    FAILING since {_instant(stats.failing_since_us)}")
    return "\n".join(lines)


def _delivery_line(delivery: WebhookDelivery) -> str:
    message = delivery.message
    head = f"{delivery.id}  {message.message_id}  {message.event_type}  release {message.release_id}"
    if delivery.status == rows.DELIVERED:
        return f"{head}  delivered {_instant(delivery.delivered_us)} (HTTP {delivery.last_status})"
    if not delivery.attempts:
        return f"{head}  waiting"
    return (
        f"{head}  failing: {delivery.attempts} attempts, next {_instant(delivery.next_attempt_us)}: "
        f"{delivery.last_error}"
    )


def _option(field: str) -> str:
    """A field of the input as the option that set it."""
    name = field.split(".")[0]
    return {"url": "URL", "subscription": "--subscription", "cities": "--city", "regions": "--region",
            "topics": "--topic", "q": "--q", "urgency": "--urgency"}.get(name, f"--{name}")  # fmt: skip


def _time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "–"


def _instant(value_us: int) -> str:
    return from_micros(value_us).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fail(*lines: str) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)
