"""Command line: `feedsvc init-db | load-sample | import FILE | serve | ...`.

Each command owns its transaction: it commits when everything worked and rolls
back otherwise, so a failed import leaves nothing behind.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.cli_notify import notify_command
from feedsvc.cli_tokens import create_token_command, list_tokens_command, revoke_token_command
from feedsvc.importing import ImportFailed, import_records, load_catalog, validate_records
from feedsvc.server import ServerOptions, run

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data"


def init_app(app: Flask) -> None:
    for command in (
        init_db,
        migrate,
        load_sample,
        import_file,
        serve,
        create_token_command,
        revoke_token_command,
        list_tokens_command,
        notify_command,
    ):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database schema (or bring it up to date)."""
    _upgrade_schema()
    click.echo(f"database ready: {db.engine().url.render_as_string(hide_password=True)}")


@click.command("migrate")
@with_appcontext
@click.argument("revision", default="head")
@click.option(
    "--stamp", is_flag=True, help="Only record REVISION as current (databases made before migrations)."
)
@click.option("--new", "message", help="Developers: write migration MESSAGE for what the models add.")
def migrate(revision: str, stamp: bool, message: str | None) -> None:
    """Upgrade (or downgrade) the database schema to REVISION, by default the newest."""
    from feedsvc import schema  # Alembic is loaded by the commands that migrate, not by every worker

    try:
        if message:
            click.echo(f"written: {schema.new_revision(db.engine(), message)} (review it)")
            return
        if stamp:
            schema.stamp(db.engine(), revision)
            click.echo(f"database stamped at {revision}")
            return
        before, after = schema.migrate(db.engine(), revision)
    except schema.SchemaError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"database at {after or 'base'} (was {before or 'empty'}; newest is {schema.head_revision()})")


@click.command("load-sample")
@with_appcontext
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=SAMPLE_DIR)
def load_sample(directory: Path) -> None:
    """Load the sample cities, topics and releases (again: nothing is duplicated)."""
    _upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    now = current_app.config["CLOCK"]()
    base = current_app.config["BASE_URL"] or "http://127.0.0.1:8000"
    try:
        load_catalog(session, directory / "catalog.json", now)
        records = validate_records(
            (directory / "releases.json").read_text(encoding="utf-8"), rewrite={"/static/": f"{base}/static/"}
        )
        report = import_records(session, records, now=now, tag_authority=current_app.config["TAG_AUTHORITY"])
    except ImportFailed as failure:
        session.rollback()
        _fail(failure)
    session.commit()
    click.echo(
        f"sample loaded: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )


@click.command("import")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publisher", help="Press office for records that name none (default: the city's).")
def import_file(file: Path, publisher: str | None) -> None:
    """Import releases from a JSON array or JSON Lines FILE, all or nothing."""
    _upgrade_schema()
    session = db.session()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        _fail(ImportFailed([f"{file}: not UTF-8 (byte {error.start})"]))
    try:
        records = validate_records(text)
        db.begin_writing(session)
        report = import_records(
            session,
            records,
            now=current_app.config["CLOCK"](),
            tag_authority=current_app.config["TAG_AUTHORITY"],
            default_publisher=publisher,
        )
    except ImportFailed as failure:
        session.rollback()
        _fail(failure)
    session.commit()
    click.echo(f"imported: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")


def _upgrade_schema() -> None:
    """The schema brought up to date, or the reason it cannot be, without a traceback."""
    from feedsvc import schema  # Alembic is loaded by the commands that migrate, not by every worker

    try:
        schema.upgrade(db.engine())
    except schema.SchemaError as error:
        click.echo(str(error), err=True)
        sys.exit(1)


def _fail(failure: ImportFailed) -> None:
    for line in failure.problems:
        click.echo(line, err=True)
    click.echo("nothing was imported", err=True)
    sys.exit(1)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 3600), help="Seconds.")
@click.option(
    "--notify/--no-notify",
    default=None,
    help="Run the WebSub notifier beside the server (default: when FEEDSVC_HUB_URLS is set).",
)
def serve(host: str, port: int, workers: int, threads: int, timeout: int, notify: bool | None) -> None:
    """Serve with gunicorn (a production WSGI server)."""
    _upgrade_schema()
    db.engine().dispose()
    if notify is None:
        notify = bool(current_app.config["HUB_URLS"])
    notifier = subprocess.Popen([sys.executable, "-m", "feedsvc.console", "notify"]) if notify else None
    try:
        run(ServerOptions(host=host, port=port, workers=workers, threads=threads, timeout=timeout))
    finally:
        if notifier is not None:
            notifier.terminate()
            notifier.wait(timeout=10)
