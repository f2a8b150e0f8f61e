"""`feedsvc import-municipalities FILE`: cities and their Kreis, Regierungsbezirk and Land
from the official municipality directory (docs/operations.md#importing-the-official-municipality-directory).

All or nothing, in one transaction: every problem of the file is reported with its line,
and nothing is written unless there is none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.cli.database import upgrade_schema
from feedsvc.publishing.importing import ImportFailed
from feedsvc.publishing.municipalities import (
    FORMATS,
    MAX_FILE_BYTES,
    import_directory,
    only_states,
    read_directory,
    summary,
)


@click.command("import-municipalities")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="gv100: Destatis GV100AD (the .txt, or the ZIP it comes in); csv: columns ags, name, type. "
    "Default: told by the file's first line.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="LAND",
    help="Only this Land, by key (09) or name (Bayern); may be given again. Default: every Land in FILE.",
)
@click.option("--dry-run", is_flag=True, help="Check FILE and say what would change; write nothing.")
def import_municipalities(file: Path, fmt: str | None, states: tuple[str, ...], dry_run: bool) -> None:
    """Import cities, Kreise, Regierungsbezirke and Länder from the official municipality
    directory FILE, matched by their official keys (AGS): again renames and adds, never doubles."""
    upgrade_schema()
    session = db.session()
    try:
        with file.open("rb") as opened:
            data = opened.read(MAX_FILE_BYTES + 1)  # a file larger than any directory is not read whole
        read = read_directory(data, file.name, fmt)
        db.begin_writing(session)
        read = only_states(session, read, states)
        report = import_directory(session, read, current_app.config["CLOCK"]())
    except ImportFailed as failure:
        session.rollback()
        for line in failure.problems:
            click.echo(line if line.startswith((file.name, "--state")) else f"{file.name}: {line}", err=True)
        click.echo("nothing was imported", err=True)
        sys.exit(1)
    except OSError as error:
        session.rollback()
        click.echo(f"{file}: cannot be read: {error.strerror or error}", err=True)
        sys.exit(1)
    for line in summary(read, report):
        click.echo(line)
    if dry_run:
        session.rollback()
        click.echo("dry run: nothing was written")
        return
    session.commit()
