"""Engine and session handling: one engine per app, one session per app context.

When the database cannot answer, requests fail fast with a 503 (see :func:`is_unavailable`),
never after a long hang: PostgreSQL connections give up after :data:`CONNECT_TIMEOUT` seconds
and a full pool after :data:`POOL_TIMEOUT`; on SQLite a request waits at most
:data:`REQUEST_BUSY_TIMEOUT` seconds for another writer's lock, while workers, which have no
client waiting, wait :data:`WORKER_BUSY_TIMEOUT`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import ServiceUnavailable

from bridge.instance import private_dir, private_file

#: Seconds to open a PostgreSQL connection (libpq's ``connect_timeout``; a URL may set its own).
CONNECT_TIMEOUT = 3
#: Seconds to wait for a free pooled connection.
POOL_TIMEOUT = 5
#: Seconds a request waits for a SQLite write lock: well inside gunicorn's 30 s worker timeout.
REQUEST_BUSY_TIMEOUT = 3
#: Seconds a worker or command waits for a SQLite write lock.
WORKER_BUSY_TIMEOUT = 30
#: Seconds a client is asked to wait before trying again when the database is unavailable.
RETRY_AFTER = 5

# SQLite result codes (the low byte of the extended code) that mean "not now", not "wrong":
# BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 8, 10, 13, 14, 15})


class DatabaseError(RuntimeError):
    """The database cannot be reached or is not set up; the message says what to do."""


class DatabaseUnavailable(ServiceUnavailable):
    """503 with ``Retry-After``: the database did not answer; nothing was written."""

    description = "database unavailable, retry later"

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot answer now (down, unreachable, locked).

    Such errors are worth a retry later and get a 503; anything else is a bug and a 500.
    """
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is None:
        # PostgreSQL reports syntax and schema errors as ProgrammingError; its OperationalError
        # is the server or the network (refused, shut down, cancelled, deadlock).
        return True
    # SQLite reports syntax errors as OperationalError too: only these codes are "not now".
    return code & 0xFF in _SQLITE_UNAVAILABLE


def make_engine(url: str) -> Engine:
    """Create an engine with settings that suit each backend.

    Statement parameters never appear in exception messages or SQL logs (they hold reporter
    data): ``hide_parameters``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            # Created here, not by SQLite, so it is 0600 from the start; SQLite gives its -wal
            # and -shm files the database file's permissions.
            private_dir(Path(database).parent)
            private_file(Path(database))
        engine = create_engine(
            url, connect_args={"timeout": WORKER_BUSY_TIMEOUT}, hide_parameters=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the API read while a worker writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "checkout")
        def _sqlite_busy_timeout(dbapi_connection, _record, _proxy):
            # A request gives up on a held write lock quickly (503, try again); a worker waits.
            seconds = REQUEST_BUSY_TIMEOUT if has_request_context() else WORKER_BUSY_TIMEOUT
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={seconds * 1000}")
            cursor.close()

        return engine
    connect_args = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT,
        connect_args=connect_args,
        hide_parameters=True,
    )


def init_app(app: Flask) -> None:
    settings = app.config["BRIDGE_SETTINGS"]
    engine = make_engine(settings.database_url)
    app.extensions["bridge.db"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine_of(app: Flask | None = None) -> Engine:
    factory = (app or current_app).extensions["bridge.db"]
    return factory.kw["bind"]


def session() -> Session:
    """The session of the current app context, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["bridge.db"]()
    return g.db_session


@contextlib.contextmanager
def new_session(app: Flask | None = None) -> Iterator[Session]:
    """A session of its own, closed afterwards (CLI commands, background loops)."""
    factory = (app or current_app).extensions["bridge.db"]
    with factory() as db:
        yield db


def _close_session(_exc: BaseException | None) -> None:
    db = g.pop("db_session", None)
    if db is not None:
        db.close()
