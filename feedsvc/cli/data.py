"""`feedsvc load-sample | import FILE`: releases and the catalog from files.

Each command owns its transaction: it commits when everything worked and rolls
back otherwise, so a failed import leaves nothing behind.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.cli.config import require_identity
from feedsvc.cli.database import upgrade_schema
from feedsvc.publishing.importing import (
    ImportFailed,
    check_records,
    import_records,
    load_catalog,
    validate_records,
)
from feedsvc.publishing.input import ImportRecord


def _sample_dir() -> Path:
    """The sample data: inside the installed package (`feedsvc/sample/`, see setup.py), or
    `data/` of the source tree."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "sample"
    return installed if (installed / "catalog.json").is_file() else package.parent / "data"


SAMPLE_DIR = _sample_dir()


@click.command("load-sample")
@with_appcontext
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=SAMPLE_DIR)
def load_sample(directory: Path) -> None:
    """Load the sample cities, topics and releases (again: nothing is duplicated)."""
    require_identity("load the sample")
    upgrade_schema()
    session = db.session()
    db.begin_writing(session)
    now = current_app.config["CLOCK"]()
    try:
        load_catalog(session, directory / "catalog.json", now)
        # The sample's images are site paths (/static/sample/…), kept as such and made
        # absolute on the request's base URL when shown: they work on any host and port.
        records = validate_records(
            (directory / "releases.json").read_text(encoding="utf-8"),
            rewrite={"/static/": f"{_SITE_PATH_MARK}/static/"},
        )
        records = [(line, _site_relative_images(record)) for line, record in records]
        report = import_records(session, records, now=now, tag_authority=current_app.config["TAG_AUTHORITY"])
    except ImportFailed as failure:
        session.rollback()
        _fail(failure)
    session.commit()
    click.echo(
        f"sample loaded: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )


# Site paths pass the API's absolute-URL check with this prefix, which is then taken off again.
_SITE_PATH_MARK = "http://site-path.invalid"


def _site_relative_images(record: ImportRecord) -> ImportRecord:
    if not any(image.url.startswith(_SITE_PATH_MARK) for image in record.images):
        return record
    images = [
        image.model_copy(update={"url": image.url.removeprefix(_SITE_PATH_MARK)})
        if image.url.startswith(_SITE_PATH_MARK)
        else image
        for image in record.images
    ]
    return record.model_copy(update={"images": images})


@click.command("import")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publisher", help="Press office for records that name none (default: the city's).")
def import_file(file: Path, publisher: str | None) -> None:
    """Import releases from a JSON array or JSON Lines FILE, all or nothing."""
    require_identity("import releases")
    upgrade_schema()
    session = db.session()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        _fail(ImportFailed([f"{file}: not UTF-8 (byte {error.start})"]))
    try:
        # Every problem of the file at once: the records that are well-formed are still
        # tried against the catalog (and rolled back) when others are not.
        records, problems = check_records(text)
        db.begin_writing(session)
        with _progress(len(records)) as advance:
            try:
                report = import_records(
                    session,
                    records,
                    now=current_app.config["CLOCK"](),
                    tag_authority=current_app.config["TAG_AUTHORITY"],
                    default_publisher=publisher,
                    progress=advance,
                )
            except ImportFailed as failure:
                problems.extend(failure.problems)
        if problems:
            raise ImportFailed(sorted(problems, key=_line_number))
    except ImportFailed as failure:
        session.rollback()
        _fail(failure)
    session.commit()
    click.echo(
        f"imported {len(records)} records from {file.name}: {report.created} created, "
        f"{report.updated} updated, {report.unchanged} unchanged"
    )


def _line_number(problem: str) -> int:
    number = problem.removeprefix("line ").split(":", 1)[0]
    return int(number) if number.isdigit() else 0


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for long imports, only when stderr is a terminal."""
    if total < 200 or not sys.stderr.isatty():
        yield lambda: None
        return
    with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
        yield lambda: bar.update(1)


def _fail(failure: ImportFailed) -> None:
    for line in failure.problems:
        click.echo(line, err=True)
    click.echo("nothing was imported", err=True)
    sys.exit(1)
