"""`feedsvc create-token | revoke-token | list-tokens`: API tokens of press offices."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.models import Publisher, Token
from feedsvc.publishing.writers import office_name_problem
from feedsvc.store import catalog
from feedsvc.store.audit import Acting, command_actor
from feedsvc.store.tokens import create_publisher_token, create_token, revoke_token, token_by_id, tokens

_BY_CREATE = Acting(command_actor("create-token"))


@click.command("create-token")
@with_appcontext
@click.option("--publisher", help="Press office the token publishes for (created if new).")
@click.option(
    "--city", "cities", multiple=True, help="Slug of a city the token may publish for (repeatable)."
)
@click.option("--admin", is_flag=True, help="A token that may do everything.")
@click.option("--journalist", is_flag=True, help="A read-only token that sees embargoed releases.")
@click.option("--label", default="", help="A note to recognise the token by.")
def create_token_command(
    publisher: str | None, cities: tuple[str, ...], admin: bool, journalist: bool, label: str
) -> None:
    """Create an API token and print its secret (shown this once only)."""
    session = db.session()
    now = current_app.config["CLOCK"]()
    if admin + journalist + (publisher is not None) != 1:
        _fail("give exactly one of --publisher NAME (with --city), --admin or --journalist")
    _check_length("--label", label, Token.label)
    if admin or journalist:
        if cities:
            _fail("--city goes with --publisher only")
        role = "admin" if admin else "journalist"
        token, secret = create_token(session, role=role, now=now, label=label, by=_BY_CREATE)
    else:
        assert publisher is not None
        publisher = " ".join(publisher.split())
        if not publisher:
            _fail("--publisher needs the press office's name")
        _check_length("--publisher", publisher, Publisher.name)
        if not cities:
            _fail("a publisher token needs at least one --city")
        cities = tuple(dict.fromkeys(cities))  # "--city a --city a" is one city
        found = [catalog.city_by_slug(session, slug) for slug in cities]
        unknown = [slug for slug, city in zip(cities, found, strict=True) if city is None]
        if unknown:
            _fail(f"unknown cities: {', '.join(unknown)}")
        city_rows = [city for city in found if city is not None]
        retired = [city.slug for city in city_rows if city.is_retired]
        if retired:
            _fail(f"retired cities take no new releases: {', '.join(retired)}")
        # Never a second press office under a misspelling of an existing one's name.
        if (problem := office_name_problem(session, publisher)) is not None:
            _fail(problem)
        token, secret = create_publisher_token(
            session, office_name=publisher, cities=city_rows, now=now, label=label, by=_BY_CREATE
        )
    session.commit()
    click.echo(f"token {token.id} ({token.role}) created; its secret is shown only now:", err=True)
    click.echo(secret)


@click.command("revoke-token")
@with_appcontext
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
def revoke_token_command(token_id: int) -> None:
    """Revoke the token with TOKEN_ID (see list-tokens)."""
    session = db.session()
    token = token_by_id(session, token_id)
    if token is None:
        _fail(f"no token with id {token_id}")
    assert token is not None
    if not token.is_active:
        click.echo(f"token {token_id} was already revoked")
        return
    revoke_token(token, current_app.config["CLOCK"](), by=Acting(command_actor("revoke-token")))
    session.commit()
    click.echo(f"token {token_id} revoked")


@click.command("list-tokens")
@with_appcontext
def list_tokens_command() -> None:
    """List tokens (never their secrets)."""
    for token in tokens(db.session()):
        scope = ", ".join(city.slug for city in token.cities) or "-"
        state = "active" if token.is_active else "revoked"
        owner = token.publisher.name if token.publisher else "-"
        click.echo(f"{token.id}\t{token.role}\t{state}\t{owner}\t{scope}\t{token.label}")


def _check_length(option: str, value: str, column: Any) -> None:
    limit: int = column.property.columns[0].type.length
    if len(value) > limit:
        _fail(f"{option} may be at most {limit} characters long")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)
