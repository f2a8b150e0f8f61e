"""`feedsvc init-db | migrate`: the database schema, brought up to date by Alembic.

Alembic is imported by these commands only, never by a serving worker.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from feedsvc import db


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database schema (or bring it up to date)."""
    upgrade_schema()
    click.echo(f"database ready: {db.engine().url.render_as_string(hide_password=True)}")


@click.command("migrate")
@with_appcontext
@click.argument("revision", default="head")
@click.option("--stamp", is_flag=True, help="Only record REVISION as current, changing nothing else.")
@click.option("--new", "message", help="Developers: write migration MESSAGE for what the models add.")
def migrate(revision: str, stamp: bool, message: str | None) -> None:
    """Upgrade (or downgrade) the database schema to REVISION, by default the newest."""
    from feedsvc.migrations import (
        runner,  # Alembic is loaded by the commands that migrate, not by every worker
    )

    try:
        if message:
            click.echo(f"written: {runner.new_revision(db.engine(), message)} (review it)")
            return
        if stamp:
            runner.stamp(db.engine(), revision)
            click.echo(f"database stamped at {revision}")
            return
        before, after = runner.migrate(db.engine(), revision)
    except runner.SchemaError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"database at {after or 'base'} (was {before or 'empty'}; newest is {runner.head_revision()})")


def upgrade_schema() -> None:
    """The schema brought up to date, or the reason it cannot be, without a traceback."""
    from feedsvc.migrations import (
        runner,  # Alembic is loaded by the commands that migrate, not by every worker
    )

    try:
        runner.upgrade(db.engine())
    except runner.SchemaError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    except SQLAlchemyError as error:
        click.echo(f"database {database_name()} cannot be used: {first_line(error)}", err=True)
        sys.exit(1)


def database_name() -> str:
    """The database URL as it may be shown (no password)."""
    return db.engine().url.render_as_string(hide_password=True)


def first_line(error: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's "(Background on ...)" tail."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip() or type(cause).__name__
    return text.splitlines()[0]


def wait_for_database(
    *,
    first_wait: float = 1.0,
    max_wait: float = 30.0,
    attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Returns once the database answers. While it does not, says so on one line per try
    (which database, the error's first line) and tries again after a pause that doubles up
    to `max_wait` seconds. Ctrl-C stops waiting (exit status 1); so does running out of
    `attempts` (tests)."""
    wait, tried = first_wait, 0
    while True:
        try:
            with db.engine().connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except SQLAlchemyError as error:
            tried += 1
            if attempts is not None and tried >= attempts:
                click.echo(
                    f"database {database_name()} unreachable: {first_line(error)}; giving up", err=True
                )
                sys.exit(1)
            click.echo(
                f"database {database_name()} unreachable: {first_line(error)}; trying again in {wait:g} s",
                err=True,
            )
        try:
            sleep(wait)
        except KeyboardInterrupt:
            click.echo("stopped waiting for the database", err=True)
            sys.exit(1)
        wait = min(max_wait, wait * 2)
