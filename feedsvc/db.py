"""Engine and per-request session wiring.

`make_engine` knows nothing of Flask and is what the CLI, tests and benchmarks
use; `init_app` hooks a session-per-request into a Flask app. The session's
lifecycle stays here, outside the store functions ("separate and external").
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

_EXTENSION_KEY = "feedsvc.sessionmaker"
CONNECT_TIMEOUT = 5  # seconds
# Bounded waits on PostgreSQL (FEEDSVC_DB_STATEMENT_TIMEOUT / FEEDSVC_DB_LOCK_TIMEOUT when set,
# in seconds): a statement that runs longer, or a write that waits longer for a lock (a long
# import holding it), fails with an error `is_outage` recognises, and the request answers 503
# with Retry-After well before gunicorn's 30 s timeout would end it with a 500.
STATEMENT_TIMEOUT = 20.0
LOCK_TIMEOUT = 5.0
# A host that froze (neither answers nor refuses): libpq gives up on data not acknowledged
# within this time, and keepalives find a silent connection, so no request waits on it forever.
TCP_USER_TIMEOUT = 10.0


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pollers read while a writer writes; busy_timeout makes a second
    # writer wait instead of failing at once; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # pysqlite starts no transaction for SELECTs, so reads would not share a
    # snapshot; the SQLAlchemy docs' recipe: let SQLAlchemy emit BEGIN itself.
    connection.exec_driver_sql("BEGIN")


# Writes nothing, but as a write it makes SQLite take (or wait for) the write lock.
_TAKE_WRITE_LOCK = text("UPDATE releases SET id = id WHERE 0")


def begin_writing(db_session: Session) -> None:
    """Ends the session's transaction and starts one that, on SQLite, holds the write lock.

    SQLite transactions begin deferred (so that reads share a snapshot). One that
    has read and then writes must upgrade to the write lock; if another writer
    committed since its first read, SQLite refuses at once ("database is
    locked") instead of waiting for busy_timeout. A transaction whose first
    statement writes waits its turn like any writer, and reads after it are
    current. Call it after validating input, so a slow client never holds the
    lock; objects loaded before are expired and reload on next use. PostgreSQL
    needs none of this: row locks and unique constraints settle writers there.
    """
    db_session.rollback()
    if db_session.get_bind().dialect.name == "sqlite":
        db_session.execute(_TAKE_WRITE_LOCK)


def make_engine(
    url: str, *, pool_size: int = 5, statement_timeout: float | None = None, lock_timeout: float | None = None
) -> Engine:
    """An engine for `url`. On PostgreSQL, `statement_timeout` and `lock_timeout` (seconds)
    bound what one statement may take; the app sets them (`init_app`), commands need not."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, isolation_level=None)
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    # libpq waits for an unreachable host as long as TCP does: fail within seconds instead, so
    # requests answer 503 (feeds: their cached copy) while the database is down. The URL's
    # own connect_timeout wins.
    query = make_url(url).query
    connect_args: dict[str, Any] = {} if "connect_timeout" in query else {"connect_timeout": CONNECT_TIMEOUT}
    if "tcp_user_timeout" not in query:
        connect_args["tcp_user_timeout"] = int(TCP_USER_TIMEOUT * 1000)
    connect_args.update(keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=2)
    options = [
        f"-c {name}={int(seconds * 1000)}"
        for name, seconds in (("statement_timeout", statement_timeout), ("lock_timeout", lock_timeout))
        if seconds
    ]
    if options and "options" not in query:
        connect_args["options"] = " ".join(options)
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size * 2, connect_args=connect_args
    )


def snapshot(db_session: Session) -> Connection:
    """The session's connection in a new transaction whose reads all see one snapshot.

    Ends the session's current transaction first (and so expires its objects).
    SQLite's transactions are snapshots already; PostgreSQL needs REPEATABLE READ.
    """
    db_session.rollback()
    if db_session.get_bind().dialect.name == "postgresql":
        return db_session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return db_session.connection()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        pool_size=app.config["DB_POOL_SIZE"],
        statement_timeout=app.config.get("DB_STATEMENT_TIMEOUT", STATEMENT_TIMEOUT),
        lock_timeout=app.config.get("DB_LOCK_TIMEOUT", LOCK_TIMEOUT),
    )
    app.extensions[_EXTENSION_KEY] = make_sessionmaker(engine)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    factory: sessionmaker[Session] = current_app.extensions[_EXTENSION_KEY]
    bound = factory.kw["bind"]
    assert isinstance(bound, Engine)
    return bound


def session() -> Session:
    """The session of the current request or CLI command, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[_EXTENSION_KEY]()
    db_session: Session = g.db_session
    return db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


# SQLite raises OperationalError for missing tables too; only these mean "try again".
# A full disk is no bug either: the write is rolled back whole, and can succeed once there is room.
_SQLITE_TRANSIENT = (
    "database is locked",
    "unable to open database",
    "disk i/o error",
    "database or disk is full",
)
# PostgreSQL SQLSTATEs of bounded waits: query_canceled (statement_timeout), lock_not_available
# (lock_timeout), disk_full, insufficient_resources.
_PG_BUSY = ("57014", "55P03")
_PG_FULL = ("53100", "53000")


def outage_reason(error: SQLAlchemyError) -> str:
    """Why an outage-like error (`is_outage`) happened, in words for a 503's detail and /healthz."""
    orig = getattr(error, "orig", None)
    message = str(orig).lower()
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if "database or disk is full" in message or state in _PG_FULL:
        return "the database's disk is full; try again later"
    if "database is locked" in message or state in _PG_BUSY or isinstance(error, PoolTimeoutError):
        return "the database is busy (a wait for it ran out); try again shortly"
    if "timeout" in message or "timed out" in message:
        return "the database did not answer in time; try again shortly"
    return "the database is unreachable; try again shortly"


def is_outage(error: SQLAlchemyError, dialect: str | None = None) -> bool:
    """Whether an error means "the database cannot be reached now" rather than a bug.

    `dialect` defaults to the current app's database (inside a Flask context)."""
    if isinstance(error, PoolTimeoutError):
        return True  # every connection busy: overloaded, not broken
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    if (dialect or engine().dialect.name) != "sqlite":
        return True
    return any(part in str(error.orig).lower() for part in _SQLITE_TRANSIENT)
