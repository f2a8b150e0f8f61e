"""A write request's transaction: on SQLite it takes the write lock before it reads.

`feedsvc.db` begins every SQLite transaction with a plain (deferred) BEGIN, so that
the reads of a request share one snapshot. A transaction that has read and then
writes must upgrade its snapshot to the write lock; when another writer committed
since its first read, SQLite refuses at once with "database is locked" and does not
wait for `busy_timeout` (waiting could deadlock). Two press offices publishing at
the same moment would get a 500. So a write request ends its reads (token, body
checks) and starts a new transaction whose first statement writes: that one waits
its turn like any writer, and everything read after it is current.

PostgreSQL needs none of this: row locks and unique constraints settle concurrent
writers there, and a lost race surfaces as an IntegrityError the views handle.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# Writes nothing, but as a write it makes SQLite take (or wait for) the write lock.
_TAKE_WRITE_LOCK = text("UPDATE releases SET id = id WHERE 0")


def begin_writing(session: Session) -> None:
    """Ends the session's transaction and, on SQLite, starts one that holds the write lock.

    Call it after the request body has been read and validated, so a slow client never
    holds the lock; objects loaded before are expired and reload on their next use.
    """
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_TAKE_WRITE_LOCK)
