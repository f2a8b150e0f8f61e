"""Alembic environment: runs on the connection `runner` hands in, inside its transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from feedsvc.migrations import include_object
from feedsvc.models import Base


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("feedsvc migrations run through feedsvc.migrations.runner (or `feedsvc migrate`)")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        # SQLite cannot ALTER most things: autogenerate writes "move and copy" batches there.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
