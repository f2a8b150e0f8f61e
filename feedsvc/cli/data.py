"""`feedsvc load-sample | import SOURCE`: releases and the catalog from files, and releases
from feeds (docs/operations.md#import-files, #importing-from-a-feed).

Each command owns its transaction: it commits when everything worked and rolls
back otherwise, so a failed import leaves nothing behind.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

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

# Reading feeds (feedparser) and fetching them are imported by `import` when it runs: every
# other `feedsvc` command registers this one too and would load them for nothing.
if TYPE_CHECKING:
    from feedsvc.publishing.feed_import import TopicMapping
    from feedsvc.worker.fetch import Fetched


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
@click.argument("source")
@click.option("--publisher", help="Press office for records that name none (default: the city's).")
@click.option("--city", help="Feeds: the city their releases are for (required for a feed).")
@click.option(
    "--topics",
    "topics_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Feeds: a JSON object mapping feed categories to topic slugs.",
)
@click.option("--skip-failed", is_flag=True, help="Feeds: import the items that can be when others cannot.")
def import_file(
    source: str, publisher: str | None, city: str | None, topics_file: Path | None, skip_failed: bool
) -> None:
    """Import releases from SOURCE, a file or an http(s) URL: feedsvc's JSON array or JSON
    Lines (all or nothing), or an RSS, Atom or JSON feed of one city (--city)."""
    from feedsvc.publishing.feed_import import import_feed
    from feedsvc.publishing.feed_reading import NotAFeed, document_kind, read_feed

    require_identity("import releases")
    upgrade_schema()
    name, data, fetched = _read_source(source)
    if document_kind(data) == "records":
        if city or topics_file or skip_failed:
            raise click.UsageError(
                f"{name} holds feedsvc import records, which name their own city: "
                "--city, --topics and --skip-failed are for feeds"
            )
        _import_records(name, data, publisher)
        return
    try:
        feed = read_feed(
            data,
            url=fetched.url if fetched else None,
            content_type=fetched.content_type if fetched else None,
        )
    except NotAFeed as failure:
        _fail(ImportFailed([f"{name}: {failure}"]))
    if city is None:
        raise click.UsageError(f"{name} is a feed ({feed.format}): name the city it is for with --city SLUG")
    mapping = _topic_mapping(topics_file)
    session = db.session()
    db.begin_writing(session)
    try:
        with _progress(len(feed.items)) as advance:
            report = import_feed(
                session,
                feed,
                city=city,
                mapping=mapping,
                publisher=publisher,
                now=current_app.config["CLOCK"](),
                tag_authority=current_app.config["TAG_AUTHORITY"],
                mapping_origin=topics_file.name if topics_file else "the topic mapping",
                progress=advance,
            )
    except ImportFailed as failure:
        session.rollback()
        _fail(failure)
    if report.failed and not skip_failed:
        session.rollback()
        for line in report.problems:
            click.echo(line, err=True)
        click.echo(
            f"nothing was imported: {report.failed} of {report.items} items failed "
            "(--skip-failed imports the others)",
            err=True,
        )
        sys.exit(1)
    session.commit()
    for line in report.problems:
        click.echo(line, err=True)
    click.echo(f"imported {report.items} items from {name} ({feed.format}): {report.summary()}")
    if unmapped := report.unmapped_summary():
        click.echo(unmapped)


def _read_source(source: str) -> tuple[str, bytes, Fetched | None]:
    """(its name, its bytes, the answer it came in when it is a URL) of the import's SOURCE."""
    from feedsvc.worker.fetch import Fetched, FetchFailed, fetch

    if _URL.match(source):
        try:
            answer = fetch(source)
        except FetchFailed as failure:
            _fail(ImportFailed([f"{source}: {failure}"]))
        assert isinstance(answer, Fetched), "an unconditional GET is never answered 304"
        return source, answer.body, answer
    path = Path(source)
    if not path.is_file():
        raise click.BadParameter(f"no such file: {source}", param_hint="SOURCE")
    return path.name, path.read_bytes(), None


_URL = re.compile(r"^https?://", re.IGNORECASE)


def _topic_mapping(path: Path | None) -> TopicMapping:
    from feedsvc.publishing.feed_import import TopicMapping

    if path is None:
        return TopicMapping()
    try:
        return TopicMapping.from_json(path.read_text(encoding="utf-8"), path.name)
    except UnicodeDecodeError as error:
        _fail(ImportFailed([f"{path.name}: not UTF-8 (byte {error.start})"]))
    except ImportFailed as failure:
        _fail(failure)


def _import_records(name: str, data: bytes, publisher: str | None) -> None:
    """feedsvc's own import format: every record validated, all or nothing."""
    session = db.session()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        _fail(ImportFailed([f"{name}: not UTF-8 (byte {error.start})"]))
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
        f"imported {len(records)} records from {name}: {report.created} created, "
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


def _fail(failure: ImportFailed) -> NoReturn:
    for line in failure.problems:
        click.echo(line, err=True)
    click.echo("nothing was imported", err=True)
    sys.exit(1)
