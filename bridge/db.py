"""Engine and session handling: one engine per app, one session per app context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


class DatabaseError(RuntimeError):
    """The database cannot be reached or is not set up; the message says what to do."""


def make_engine(url: str) -> Engine:
    """Create an engine with settings that suit each backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the API read while a worker writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


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
