"""The tests' databases: migrated once per test process, put back as migrated before each test.

Running every migration for every test cost more than most tests themselves. Each
process (each pytest-xdist worker) migrates once, when its first test needs a database.

SQLite: the migrated database is a template file; each test gets a copy of it. Data that
takes long to write and is the same for many tests (the sample) is kept the same way; on
PostgreSQL it is kept as rows in memory and inserted again.

PostgreSQL: a database per test (`CREATE DATABASE … TEMPLATE`) would cost more than the
migrations did: a new database is some 340 files that a checkpoint must fsync, and
`DROP DATABASE` forces a checkpoint, 0.3 to 1 s each. So each process keeps one migrated
database and, before each test, empties its tables and puts back the rows and sequence
values the migrations left. If a test changed the schema, that database is made anew.
Tests of the migrations get another database, emptied of every table before each test.
Needs PostgreSQL 14 or newer, and the role of FEEDSVC_TEST_DATABASE_URL needs CREATEDB.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, cast

from flask import Flask
from sqlalchemy import URL, Connection, Engine, MetaData, Table, create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from feedsvc import db
from feedsvc.db import make_engine
from feedsvc.migrations.runner import upgrade

# pytest-xdist names its workers gw0, gw1, …; a run without it is one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_PG_NAME_LIMIT = 63  # longer identifiers are cut silently, and two processes' names could meet


class SqliteDatabases:
    """Database files under the test's own tmp_path; the template in the process's temp dir."""

    def __init__(self, directory: Path) -> None:
        self._template = directory / "template.sqlite3"
        self._migrated = False
        self._migrated_rows: dict[str, int] | None = None

    def migrated(self, directory: Path) -> str:
        if not self._migrated:
            self._migrate_template()
            self._migrated = True
        path = directory / "feedsvc.sqlite3"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"

    def empty(self, directory: Path) -> str:
        return f"sqlite:///{directory / 'feedsvc.sqlite3'}"

    def close(self) -> None:
        """Nothing to do: the files go with pytest's temporary directories."""

    def keep(self, url: str, name: str) -> None:
        """Keeps what the database at `url` holds now as `name`, for `put_back`: a test's
        data that took long to write (the sample) is written once per process."""
        _copy_database(_path_of(url), self._kept(name))

    def as_migrated(self, url: str) -> bool:
        """Whether the database at `url` holds as many rows in each table as the template."""
        if self._migrated_rows is None:
            self._migrated_rows = _rows_per_table(self._template)
        return _rows_per_table(_path_of(url)) == self._migrated_rows

    def has_kept(self, name: str) -> bool:
        return self._kept(name).exists()

    def put_back(self, url: str, name: str) -> None:
        """Makes the database at `url` a copy of what `keep` kept as `name`."""
        _copy_database(self._kept(name), _path_of(url))

    def _kept(self, name: str) -> Path:
        return self._template.with_name(f"kept-{name}.sqlite3")

    def _migrate_template(self) -> None:
        engine = make_engine(f"sqlite:///{self._template}")
        upgrade(engine)
        engine.dispose()
        _checkpoint(self._template)


def _path_of(url: str) -> Path:
    assert url.startswith("sqlite:///"), url
    return Path(url.removeprefix("sqlite:///"))


def _rows_per_table(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        count = 'SELECT COUNT(*) FROM "{}"'
        return {name: connection.execute(count.format(name)).fetchone()[0] for (name,) in tables}
    finally:
        connection.close()


def _copy_database(source: Path, target: Path) -> None:
    if not any(path.with_name(path.name + "-wal").exists() for path in (source, target)):
        # Nothing holds either open (its last connection removed the -wal file): a file copy
        # is a whole database, and three times as fast as the backup below.
        shutil.copyfile(source, target)
        return
    # A connection still open on either side (an app's pool, a server started on it) sees a
    # whole database before and after the backup, where a file copied under it would no
    # longer match its -wal and -shm files.
    reading, writing = sqlite3.connect(source), sqlite3.connect(target)
    try:
        # A test database outlives no crash: waiting for the disk would only cost time.
        writing.execute("PRAGMA synchronous = OFF")
        reading.backup(writing)
    finally:
        reading.close()
        writing.close()


def _checkpoint(path: Path) -> None:
    # The engine runs in WAL mode: what is still in the -wal file would be missing from a
    # copy of the main file alone. Closing the last connection checkpoints it, but only if
    # nothing holds the file open; checkpoint explicitly so that a copy is always whole.
    connection = sqlite3.connect(path)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    wal = path.with_name(path.name + "-wal")
    assert busy == 0 and (not wal.exists() or wal.stat().st_size == 0), f"{path} is still in use"


class PostgresDatabases:
    """Two databases per process on the server of FEEDSVC_TEST_DATABASE_URL, named after its
    database: `<db>_<worker>_<pid>` (migrated) and `<db>_<worker>_<pid>_empty`.

    The process id keeps two runs against one server (two checkouts, say) apart. A run
    that was killed leaves its databases behind; `.ci/run` drops every `<db>_…` at its end.
    """

    def __init__(self, url: str) -> None:
        server = make_url(url)
        assert server.database, f"FEEDSVC_TEST_DATABASE_URL names no database: {url}"
        name = f"{server.database}_{WORKER}_{os.getpid()}"
        # CREATE and DROP DATABASE cannot run in a transaction; `postgres` is there on every server.
        self._admin = create_engine(
            server.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
        )
        self._migrated = _ServerDatabase(self._admin, server.set(database=name), migrate=True)
        self._empty = _ServerDatabase(self._admin, server.set(database=f"{name}_empty"), migrate=False)
        self._kept: dict[str, _Data] = {}

    def migrated(self, _directory: Path) -> str:
        return self._migrated.ready()

    def empty(self, _directory: Path) -> str:
        return self._empty.ready()

    def close(self) -> None:
        self._migrated.drop()
        self._empty.drop()
        self._admin.dispose()

    # What SqliteDatabases keeps as files is kept here as rows, read into memory once.

    def as_migrated(self, url: str) -> bool:
        return url == self._migrated.url and self._migrated.as_made()

    def keep(self, _url: str, name: str) -> None:
        self._kept[name] = self._migrated.read()

    def has_kept(self, name: str) -> bool:
        return name in self._kept

    def put_back(self, _url: str, name: str) -> None:
        self._migrated.write(self._kept[name])


Databases: TypeAlias = SqliteDatabases | PostgresDatabases

# The databases of this process, once conftest's session fixture `databases` has made them:
# `fill_once` is called from plain helpers (tests/factories.py) that get only an app.
_of_this_process: list[Databases] = []
# What each fill kept returned, by the name it is kept under.
_returned: dict[str, object] = {}
Filled = TypeVar("Filled")


def set_this_process(databases: Databases) -> None:
    _of_this_process[:] = [databases]


def fill_once(app: Flask, name: str, fill: Callable[[], Filled]) -> Filled:
    """Writes test data into the app's database with `fill`, and returns what `fill` returned
    (the ids of what it wrote, say).

    Into a database as migrated, `fill` runs once per process for each name, identity, base
    URL and clock; later calls get a copy of what it wrote and what it returned, which must
    therefore hold for the copy too (ids do: the rows are copied with them). For data that
    takes longer to write than a test takes to run (the catalog, the sample, a test module's
    releases); `name` must say everything else the data depends on."""
    url = app.config["DATABASE_URL"]
    databases = next(iter(_of_this_process), None)
    if databases is None or not databases.as_migrated(url):
        return fill()
    config = app.config
    identity = f"{name} {config['TAG_AUTHORITY']} {config['BASE_URL']} {config['CLOCK']().isoformat()}"
    kept = hashlib.sha256(identity.encode()).hexdigest()[:16]
    if databases.has_kept(kept):
        _close_connections(app)
        databases.put_back(url, kept)
        return cast(Filled, copy.deepcopy(_returned[kept]))  # a test may change its own
    filled = fill()
    _close_connections(app)
    databases.keep(url, kept)
    _returned[kept] = copy.deepcopy(filled)
    return filled


def _close_connections(app: Flask) -> None:
    # On PostgreSQL, putting rows back ends every other session of the database: the app's
    # pooled connections would be dead ones.
    with app.app_context():
        db.engine().dispose()


# What the schema consists of, without object ids or storage (TRUNCATE gives tables new files).
_SCHEMA = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT 'schema ' || nspname FROM pg_namespace
     WHERE NOT starts_with(nspname, 'pg_') AND nspname <> 'information_schema'
    UNION ALL
    SELECT 'extension ' || extname FROM pg_extension
    UNION ALL
    SELECT 'type ' || typname || ' ' || typtype::text FROM pg_type
     WHERE typnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'label ' || t.typname || ' ' || e.enumlabel FROM pg_enum e
      JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'relation ' || relname || ' ' || relkind::text FROM pg_class
     WHERE relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'function ' || oid::regprocedure::text || ' ' || md5(prosrc) FROM pg_proc
     WHERE pronamespace = 'public'::regnamespace
) AS schema (item)
"""
_REVISION = "SELECT string_agg(version_num, ',') FROM alembic_version"
# Ends the sessions a test left (an app it did not dispose of, a server it started), waiting
# up to 5 s for each: an idle transaction's locks would keep DELETE and TRUNCATE waiting.
_END_OTHER_SESSIONS = """
SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@dataclass
class _Data:
    """What the tables hold: their rows (without computed columns), referenced tables first,
    and the sequences' values, as statements that set them."""

    rows: list[tuple[Table, list[dict[str, Any]]]]
    sequences: str


@dataclass
class _Snapshot:
    """What a database held right after it was made: its schema, and the few rows and
    sequence values the migrations left; put back by emptying the tables and a few inserts."""

    schema: str
    data: _Data
    tables: list[Table] = field(default_factory=list)  # referenced tables first
    truncated: set[str] = field(default_factory=set)  # tables emptied by TRUNCATE, not DELETE
    with_rows_query: str = ""  # the indexes into `tables` of those with rows

    def tables_with_rows(self, connection: Connection) -> list[Table]:
        if not self.tables:
            return []
        found = set(connection.exec_driver_sql(self.with_rows_query).scalars())
        return [table for index, table in enumerate(self.tables) if index in found]

    def read(self, connection: Connection) -> _Data:
        quote = connection.dialect.identifier_preparer.quote
        rows = []
        for table in self.tables_with_rows(connection):
            stored = [column for column in table.columns if column.computed is None]
            rows.append((table, [dict(row) for row in connection.execute(select(*stored)).mappings()]))
        sequences = connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        ).scalars()
        statements = []
        for sequence in sorted(sequences):
            value, called = connection.exec_driver_sql(
                f"SELECT last_value, is_called FROM {quote(sequence)}"
            ).one()
            statements.append(f"SELECT setval('{quote(sequence)}', {int(value)}, {bool(called)})")
        return _Data(rows, "; ".join(statements))

    def write(self, connection: Connection, data: _Data) -> None:
        """Makes the tables hold `data` and nothing else. Rows go by DELETE, table by table:
        on the few rows a test writes that costs far less than one TRUNCATE of every table
        (a quarter of a second)."""
        quote = connection.dialect.identifier_preparer.quote
        emptying = [
            f"{'TRUNCATE' if table.name in self.truncated else 'DELETE FROM'} {quote(table.name)}"
            for table in reversed(self.tables_with_rows(connection))  # referencing tables first
        ]
        if emptying:
            connection.exec_driver_sql("; ".join(emptying))
        for table, rows in data.rows:
            connection.execute(table.insert(), rows)
        if data.sequences:
            connection.exec_driver_sql(data.sequences)


class _ServerDatabase:
    """A PostgreSQL database of this process, made on first use (migrated or empty) and
    returned to that state before each later use."""

    def __init__(self, admin: Engine, url: URL, *, migrate: bool) -> None:
        assert url.database is not None
        if len(url.database.encode()) > _PG_NAME_LIMIT:
            raise ValueError(f"{url.database!r} is too long: shorten the database name in the URL")
        self._admin = admin
        self._url = url
        self.url = url.render_as_string(hide_password=False)
        self._migrate = migrate
        self._engine: Engine | None = None
        self._snapshot: _Snapshot | None = None

    def ready(self) -> str:
        if self._snapshot is None:
            self._make()
        elif not self._put_back():
            # The test before changed the schema (rare): a new database takes a second or so.
            self.drop()
            self._make()
        return self.url

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._snapshot = None
        quoted = self._admin.dialect.identifier_preparer.quote(self._url.database or "")
        with self._admin.connect() as connection:
            # FORCE: a server process a test started (gunicorn, say) may still be connected.
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))

    def _make(self) -> None:
        quoted = self._admin.dialect.identifier_preparer.quote(self._url.database or "")
        with self._admin.connect() as connection:
            # Left by an earlier process of the same id that was killed; its server is gone.
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            # template0, not template1: nothing an administrator added to template1 comes along.
            connection.execute(text(f"CREATE DATABASE {quoted} TEMPLATE template0"))
            # Commits need not wait for the WAL fsync (some ms each, many per test): the data is
            # thrown away anyway, and the tests of outages stop servers of their own.
            connection.execute(text(f"ALTER DATABASE {quoted} SET synchronous_commit = off"))
        if self._migrate:
            migrating = make_engine(self._url.render_as_string(hide_password=False))
            upgrade(migrating)
            migrating.dispose()
        # One connection, kept: its own session is the one _END_OTHER_SESSIONS spares.
        self._engine = create_engine(self._url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        with self._engine.connect() as connection:
            self._snapshot = _take_snapshot(connection)
            connection.commit()

    def as_made(self) -> bool:
        """Whether the tables hold as many rows as right after the database was made."""
        assert self._engine is not None and self._snapshot is not None
        with self._engine.connect() as connection:
            quote = connection.dialect.identifier_preparer.quote
            counts = {
                table.name: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {quote(table.name)}").scalar()
                for table in self._snapshot.tables_with_rows(connection)
            }
            connection.rollback()
        return counts == {table.name: len(rows) for table, rows in self._snapshot.data.rows}

    def read(self) -> _Data:
        assert self._engine is not None and self._snapshot is not None
        with self._engine.connect() as connection:
            data = self._snapshot.read(connection)
            connection.rollback()
        return data

    def write(self, data: _Data) -> None:
        """Makes the database hold `data` (read from it, on its schema) and nothing else."""
        assert self._engine is not None and self._snapshot is not None
        with self._engine.connect() as connection:
            connection.exec_driver_sql(_END_OTHER_SESSIONS)
            self._snapshot.write(connection, data)
            connection.commit()

    def _put_back(self) -> bool:
        """Returns the database to its snapshot; False if the schema differs from it."""
        assert self._engine is not None and self._snapshot is not None
        with self._engine.connect() as connection:
            connection.exec_driver_sql(_END_OTHER_SESSIONS)
            connection.commit()
            if self._migrate:
                try:
                    if _fingerprint(connection) != self._snapshot.schema:
                        return False
                except DBAPIError:  # alembic_version is gone, say
                    return False
                self._snapshot.write(connection, self._snapshot.data)
            else:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                if _fingerprint(connection) != self._snapshot.schema:
                    return False
            connection.commit()
        return True


def _fingerprint(connection: Connection) -> str:
    schema = connection.exec_driver_sql(_SCHEMA).scalar_one()
    tables = connection.exec_driver_sql("SELECT to_regclass('alembic_version') IS NOT NULL").scalar_one()
    revision = connection.exec_driver_sql(_REVISION).scalar_one() if tables else None
    return f"{schema} at {revision}"


def _take_snapshot(connection: Connection) -> _Snapshot:
    quote = connection.dialect.identifier_preparer.quote
    metadata = MetaData()
    metadata.reflect(connection)
    tables = [table for table in metadata.sorted_tables if table.name != "alembic_version"]
    # The audit log's triggers refuse DELETE and let TRUNCATE through; TRUNCATE makes new files
    # (some ms a table), so it is kept to the tables whose triggers refuse DELETE.
    truncated = set(
        connection.exec_driver_sql(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal AND tgtype & 8 <> 0"
        ).scalars()
    )
    query = " UNION ALL ".join(
        f"SELECT {index} WHERE EXISTS (SELECT FROM {quote(table.name)})" for index, table in enumerate(tables)
    )
    snapshot = _Snapshot(
        _fingerprint(connection), _Data([], ""), tables=tables, truncated=truncated, with_rows_query=query
    )
    snapshot.data = snapshot.read(connection)
    return snapshot
