"""Creating and upgrading the database schema: Alembic, configured from code.

The migrations live in `feedsvc/migrations` (shipped inside the package), so
`feedsvc init-db`, `feedsvc migrate`, `serve` and the tests need no alembic.ini.
Each run is one transaction: a migration that fails leaves the schema as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().parent
HEAD = "head"
# Any constant will do: it only has to be the same in every feedsvc process.
_PG_LOCK_ID = 0x66656564737663  # "feedsvc"


class SchemaError(RuntimeError):
    """The database cannot be brought to the wanted schema; the message says what to do."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Bring an empty or older database to `revision` (the current schema by default)."""
    with migration_connection(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def migrate(engine: Engine, revision: str = HEAD) -> tuple[str | None, str | None]:
    """Upgrade or downgrade to `revision`; returns the revisions before and after."""
    with migration_connection(engine) as connection:
        before = current_revision(connection)
        config = alembic_config(connection)
        if revision != HEAD and before is not None and _is_ancestor(revision, of=before):
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
        return before, current_revision(connection)


def stamp(engine: Engine, revision: str) -> None:
    """Record that the database is at `revision` without changing anything else."""
    with engine.begin() as connection:
        command.stamp(alembic_config(connection), revision)


def new_revision(engine: Engine, message: str) -> Path:
    """Writes a migration for what the models have and the database (at head) lacks.

    Alembic's autogenerate: review the file before committing it. It cannot see the
    full-text search objects, nor data that needs moving.
    """
    with migration_connection(engine) as connection:
        if current_revision(connection) != head_revision():
            raise SchemaError("bring the database to the newest revision first (`feedsvc migrate`)")
        number = f"{int(head_revision()) + 1:04d}"
        script = command.revision(
            alembic_config(connection), message=message, autogenerate=True, rev_id=number
        )
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


def _is_ancestor(revision: str, *, of: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    target = script.get_revision(revision)
    if target is None:  # "base"
        return True
    return target.revision != of and any(
        step.revision == target.revision for step in script.iterate_revisions(of, "base")
    )


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """The connection migrations run on: one transaction, taken by one process at a time
    (PostgreSQL), with foreign keys off (SQLite) and checked again before the commit."""
    with _foreign_keys_off(engine) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # N app servers starting at once: one migrates, the others wait and find it done.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
            # An index on a large table may take minutes: the app's bounded waits are not for this.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SET LOCAL lock_timeout = 0"))
        before = current_revision(connection)
        try:
            yield connection
        except (CommandError, RevisionError) as error:
            raise SchemaError(str(error)) from error
        # Foreign keys were off (SQLite): check what the migrations did, if they did anything.
        sqlite_migrated = connection.dialect.name == "sqlite" and current_revision(connection) != before
        if sqlite_migrated and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
            raise SchemaError("the migration left rows whose foreign keys point nowhere; nothing was changed")


@contextmanager
def _foreign_keys_off(engine: Engine) -> Iterator[Connection]:
    """SQLite: foreign keys off while migrating, as Alembic's batch mode needs.

    Its "move and copy" drops and recreates tables; with foreign keys on, dropping
    `releases` would delete every row referring to it (ON DELETE CASCADE). The pragma
    is ignored inside a transaction, so it is set before the first one begins.
    """
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            yield connection
            return
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            yield connection
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
