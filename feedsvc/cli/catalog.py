"""`feedsvc catalog`: a city, district or state defines its own regions, cities, topics and
press offices (docs/operations.md#catalog).

    feedsvc catalog list [KIND] [--retired]
    feedsvc catalog add city --slug SLUG --name NAME --region REGION [--state STATE] [--ags AGS]
    feedsvc catalog add region|topic|publisher …
    feedsvc catalog rename KIND OLD NEW [--name NAME]
    feedsvc catalog edit city|region|topic|publisher SLUG [--name …] …
    feedsvc catalog merge KIND FROM INTO
    feedsvc catalog retire KIND SLUG

Every change is `feedsvc.publishing.catalog_changes`'s, the same as the admin API's, in
one transaction: a refusal prints one line and changes nothing (exit status 1).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext
from pydantic import BaseModel, ValidationError

from feedsvc import db, paths
from feedsvc.cli.database import upgrade_schema
from feedsvc.models import City, Publisher, Region, Topic
from feedsvc.publishing.catalog_changes import (
    CHANGE_INPUT,
    ENTRY_INPUT,
    NOUNS,
    CatalogChanges,
    CatalogRefused,
    Changed,
    Key,
)
from feedsvc.publishing.input import field_errors
from feedsvc.store import catalog, catalog_history
from feedsvc.store.audit import Acting, command_actor
from feedsvc.store.catalog_history import Entry, name_of

KINDS = ("region", "city", "topic", "publisher")
_KIND = click.Choice(KINDS)


@click.group("catalog")
def catalog_group() -> None:
    """List and change regions, cities, topics and press offices."""


@catalog_group.command("list")
@with_appcontext
@click.argument("kind", type=_KIND, required=False)
@click.option("--retired", is_flag=True, help="Also list retired entries.")
def list_command(kind: str | None, retired: bool) -> None:
    """List the catalog (one KIND of it), one entry a line, tab-separated."""
    upgrade_schema()
    session = db.session()
    for each in (kind,) if kind else KINDS:
        rows: list[Any] = list(
            {
                "region": catalog.regions,
                "city": catalog.cities,
                "topic": catalog.topics,
                "publisher": catalog.publishers,
            }[each](session, retired=retired)
        )
        former = catalog_history.former_names(session, each, [row.id for row in rows])
        for row in rows:
            columns = [each, *_described(row)]
            columns.append(f"retired {row.retired_at.date().isoformat()}" if row.retired_at else "")
            kept = former.get(row.id)
            columns.append(f"formerly {', '.join(kept)}" if kept else "")
            click.echo("\t".join(columns).rstrip("\t"))


def _described(entry: Entry) -> list[str]:
    if isinstance(entry, City):
        return [entry.slug, entry.name, entry.region.slug, entry.state, entry.ags or ""]
    if isinstance(entry, Region):
        return [entry.slug, entry.name, entry.state]
    if isinstance(entry, Topic):
        return [entry.slug, entry.name]
    return [str(entry.id), entry.name, ",".join(city.slug for city in entry.cities)]


# --- add ---------------------------------------------------------------------------------------------


@catalog_group.group("add")
def add_group() -> None:
    """Add a region, city, topic or press office."""


@add_group.command("region")
@with_appcontext
@click.option("--slug", required=True, help="Its name in URLs: lowercase letters, digits, single hyphens.")
@click.option("--name", required=True)
@click.option("--state", required=True, help="The Land, e.g. Bayern.")
def add_region(**given: Any) -> None:
    """Add a region."""
    _add("region", given)


@add_group.command("city")
@with_appcontext
@click.option("--slug", required=True, help="Its name in URLs: lowercase letters, digits, single hyphens.")
@click.option("--name", required=True)
@click.option("--region", required=True, help="Slug of its region.")
@click.option("--state", help="The Land (default: the region's).")
@click.option("--ags", help="Its Amtlicher Gemeindeschlüssel, 8 digits.")
def add_city(**given: Any) -> None:
    """Add a city (or any municipality or district)."""
    _add("city", given)


@add_group.command("topic")
@with_appcontext
@click.option("--slug", required=True, help="Its name in URLs: lowercase letters, digits, single hyphens.")
@click.option("--name", required=True)
def add_topic(**given: Any) -> None:
    """Add a topic."""
    _add("topic", given)


@add_group.command("publisher")
@with_appcontext
@click.option("--name", required=True, help="The press office's name, as releases show it.")
@click.option("--city", "cities", multiple=True, help="Slug of a city it publishes for (repeatable).")
def add_publisher(**given: Any) -> None:
    """Add a press office."""
    _add("publisher", {**given, "cities": list(given["cities"])})


def _add(kind: str, given: dict[str, Any]) -> None:
    data = _input(ENTRY_INPUT[kind], {name: value for name, value in given.items() if value is not None})
    entry = _done(_changes().add(kind, data))
    click.echo(f"{NOUNS[kind]} {_label(entry)} added{_where(entry)}")


# --- rename and edit ---------------------------------------------------------------------------------


@catalog_group.command("rename")
@with_appcontext
@click.argument("kind", type=_KIND)
@click.argument("old")
@click.argument("new")
@click.option("--name", help="A new name as well (not for press offices: NEW is their name).")
def rename_command(kind: str, old: str, new: str, name: str | None) -> None:
    """Give an entry a new slug (a press office: a new name). Its old URLs redirect to the
    new ones for good, and its feeds keep their ids."""
    if kind == "publisher" and name is not None:
        _fail("a press office's new name is NEW: --name is for regions, cities and topics")
    given = {"name": new} if kind == "publisher" else {"slug": new, **({"name": name} if name else {})}
    data = _input(CHANGE_INPUT[kind], given)
    entry = _done(_changes().change(kind, _key(kind, old), data))
    if kind == "publisher":
        click.echo(f"press office {old} is now called {entry.name}; imports naming {old} still reach it")
        return
    assert not isinstance(entry, Publisher)
    click.echo(f"{NOUNS[kind]} {old} is now {entry.slug}: its old URLs redirect to {_page(entry)}")


@catalog_group.group("edit")
def edit_group() -> None:
    """Change what a region, city, topic or press office is called or where it belongs."""


@edit_group.command("region")
@with_appcontext
@click.argument("slug")
@click.option("--name")
@click.option("--state")
def edit_region(slug: str, **given: Any) -> None:
    """Change a region's name or Land."""
    _edit("region", slug, given)


@edit_group.command("city")
@with_appcontext
@click.argument("slug")
@click.option("--name")
@click.option("--region", help="Slug of the region it moves to, with its releases.")
@click.option("--state")
@click.option("--ags", help="Its Amtlicher Gemeindeschlüssel, 8 digits.")
@click.option("--no-ags", is_flag=True, help="It has no AGS.")
def edit_city(slug: str, no_ags: bool, **given: Any) -> None:
    """Change a city's name, region, Land or AGS."""
    if no_ags and given["ags"] is not None:
        _fail("give --ags or --no-ags, not both")
    _edit("city", slug, given, {"ags": None} if no_ags else {})


@edit_group.command("topic")
@with_appcontext
@click.argument("slug")
@click.option("--name")
def edit_topic(slug: str, **given: Any) -> None:
    """Change a topic's name."""
    _edit("topic", slug, given)


@edit_group.command("publisher")
@with_appcontext
@click.argument("name_or_id", metavar="NAME")
@click.option(
    "--city", "cities", multiple=True, help="Slug of a city it publishes for (repeatable): all of them."
)
def edit_publisher(name_or_id: str, cities: tuple[str, ...]) -> None:
    """Change the cities a press office publishes for (its name: `catalog rename publisher`)."""
    _edit("publisher", name_or_id, {"cities": list(cities) if cities else None})


def _edit(kind: str, key: str, given: dict[str, Any], removed: dict[str, None] | None = None) -> None:
    values = {name: value for name, value in given.items() if value is not None} | (removed or {})
    if not values:
        _fail("nothing to change: give at least one option (see --help)")
    data = _input(CHANGE_INPUT[kind], values)
    entry = _done(_changes().change(kind, _key(kind, key), data))
    click.echo(f"{NOUNS[kind]} {_label(entry)} changed")


# --- merge and retire --------------------------------------------------------------------------------


@catalog_group.command("merge")
@with_appcontext
@click.argument("kind", type=_KIND)
@click.argument("source", metavar="FROM")
@click.argument("into", metavar="INTO")
def merge_command(kind: str, source: str, into: str) -> None:
    """Merge FROM into INTO: FROM's releases (with their entry ids), slugs and links go to
    INTO; FROM's URLs redirect to INTO's."""
    entry = _done(_changes().merge(kind, _key(kind, source), _key(kind, into)))
    redirect = f"; its URLs redirect to {_page(entry)}" if not isinstance(entry, Publisher) else ""
    click.echo(f"{NOUNS[kind]} {source} merged into {_label(entry)}{redirect}")


@catalog_group.command("retire")
@with_appcontext
@click.argument("kind", type=_KIND)
@click.argument("key", metavar="SLUG")
def retire_command(kind: str, key: str) -> None:
    """Retire an entry: it takes no new releases and leaves every listing; its feeds and
    page stay, with its releases, and say that it ended."""
    entry = _done(_changes().retire(kind, _key(kind, key)))
    click.echo(f"{NOUNS[kind]} {_label(entry)} retired: it takes no new releases")


# --- helpers -------------------------------------------------------------------------------------------


def _changes() -> CatalogChanges:
    upgrade_schema()
    return CatalogChanges(
        db.session(), now=current_app.config["CLOCK"](), by=Acting(command_actor("catalog"))
    )


def _key(kind: str, given: str) -> Key:
    """A press office by id (digits) or name; anything else by slug."""
    return int(given) if kind == "publisher" and given.isascii() and given.isdigit() else given


def _input(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        for item in field_errors(error):
            click.echo(f"--{item.field.replace('_', '-')}: {item.message}", err=True)
        sys.exit(1)


def _done(outcome: Changed | CatalogRefused) -> Entry:
    if isinstance(outcome, CatalogRefused):
        if outcome.errors and len(outcome.errors) > 1:
            for error in outcome.errors:
                click.echo(f"{error.field}: {error.message}", err=True)
        else:
            click.echo(outcome.message, err=True)
        click.echo("nothing was changed", err=True)
        sys.exit(1)
    return outcome.entry


def _label(entry: Entry) -> str:
    return f"{entry.name} (id {entry.id})" if isinstance(entry, Publisher) else name_of(entry)


def _page(entry: City | Region | Topic) -> str:
    if isinstance(entry, City):
        return paths.subject_path(city=entry)
    if isinstance(entry, Region):
        return paths.subject_path(region=entry)
    return paths.subject_path(topic=entry)


def _where(entry: Entry) -> str:
    return "" if isinstance(entry, Publisher) else f": {_page(entry)}"


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(2)
