"""Throwaway services for a benchmark run: a database, a redis-server, gunicorn servers.

Each one is a context manager that removes what it created on exit, also on Ctrl-C or an
exception, so a run leaves no database, process or port behind. :func:`start_services` sets up
the database and broker the benchmark scripts need.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench import reference_app
from bridge import create_app
from bridge.auth import create_api_key
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.settings import Settings
from tests import support

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIRECTORY = ROOT / "examples" / "pacitan" / "opds.yaml"
SAMPLE_COMPLAINTS = ROOT / "examples" / "pacitan" / "complaints.jsonl"
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class ServiceError(RuntimeError):
    """A service could not be set up; the message says which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresDatabase(contextlib.AbstractContextManager):
    """A new database on the server behind ``admin_url``, dropped (with FORCE) on exit.

    No connection stays open between queries (``NullPool``), so forked load processes inherit
    no database sockets.
    """

    def __init__(self, admin_url: str, prefix: str = "bridge_bench"):
        self.admin_url = admin_url
        self.name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> PostgresDatabase:
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception as exc:
            self.admin.dispose()
            shown = make_url(self.admin_url).render_as_string()
            raise ServiceError(
                f"cannot create a database through {shown} ({type(exc).__name__}: {exc});"
                " start PostgreSQL or pass --pg-admin-url / BRIDGE_BENCH_POSTGRES_URL"
            ) from None
        return self

    def __exit__(self, *exc_info) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()

    def scalar(self, sql: str):
        """One value from a query in the benchmark database."""
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()

    def backend_pids(self) -> set[int]:
        """Server processes currently connected to this database."""
        with self.admin.connect() as conn:
            rows = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": self.name},
            )
            return {row[0] for row in rows}


class RedisServer(support.RedisServer, contextlib.AbstractContextManager):
    """The test suite's private redis-server (free port, no persistence), killed on exit, with
    the counters the benchmark reports."""

    def __enter__(self) -> RedisServer:
        try:
            self.start()
        except RuntimeError as exc:
            self.kill()
            raise ServiceError(str(exc)) from None
        return self

    def __exit__(self, *exc_info) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        return self.process.pid

    def info(self, field: str) -> str:
        """One field of ``INFO`` (e.g. ``redis_version``)."""
        with redis.Redis(port=self.port) as client:
            return str(client.info().get(field))

    def reset_stats(self) -> None:
        """Zero the command counters (``CONFIG RESETSTAT``)."""
        with redis.Redis(port=self.port) as client:
            client.config_resetstat()

    def command_count(self) -> int:
        """Commands served since :meth:`reset_stats`, not counting this query itself."""
        with redis.Redis(port=self.port) as client:
            stats = client.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_config|resetstat")

    def queue_length(self, queue: str) -> int:
        """Messages waiting in a kombu queue (a Redis list named after the queue)."""
        with redis.Redis(port=self.port) as client:
            return client.llen(queue)


class GunicornServer(contextlib.AbstractContextManager):
    """A gunicorn (or any HTTP server) process group: started, awaited, stopped on exit."""

    def __init__(
        self, name: str, argv: list[str], *, env: dict, cwd: Path, log: Path, port: int, probe: str
    ):
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = log
        self.port = port
        self.probe = probe
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> GunicornServer:
        with open(self.log_path, "ab") as log:
            # A session of its own: Ctrl-C reaches only the benchmark, which stops us in order.
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", self.probe)
                if conn.getresponse().status < 500:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def __exit__(self, *exc_info) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: workers finish, then exit
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text_ = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text_.splitlines()[-lines:])


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """``--pg-admin-url`` and ``--redis-server``, with their environment variables."""
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BRIDGE_BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN),
        help="a PostgreSQL URL allowed to create and drop databases"
        " (env BRIDGE_BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--redis-server",
        default=os.environ.get("BRIDGE_BENCH_REDIS_SERVER") or shutil.which("redis-server"),
        help="the redis-server binary (env BRIDGE_BENCH_REDIS_SERVER)",
    )


@dataclasses.dataclass(frozen=True)
class Services:
    """What :func:`start_services` set up."""

    workdir: Path
    db: PostgresDatabase
    broker: RedisServer
    #: The ``BRIDGE_*`` settings of the run (database, broker, sandbox, secret key).
    env: dict[str, str]
    #: A ``wadule`` API key, sent by the clients of both targets.
    key: str


def start_services(
    stack: contextlib.ExitStack, *, pg_admin_url: str, redis_server: str | None
) -> Services:
    """A migrated database with the sample directory, a ``wadule`` key and the reference table,
    and a private redis-server; all removed when ``stack`` closes."""
    if not redis_server:
        raise ServiceError("redis-server not found: install Redis or pass --redis-server")
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bridge-bench-")))
    db = stack.enter_context(PostgresDatabase(pg_admin_url))
    broker = stack.enter_context(RedisServer(redis_server, workdir))
    env = {
        "BRIDGE_DATABASE_URL": db.url,
        "BRIDGE_BROKER_URL": broker.url,
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_SECRET_KEY": "bench",
    }
    key = _prepare_bridge_database(env)
    reference_app.create_schema(db.url)
    return Services(workdir, db, broker, env, key)


def _prepare_bridge_database(env: dict[str, str]) -> str:
    """Migrate, import the sample directory, create a ``wadule`` key and return it."""
    upgrade(env["BRIDGE_DATABASE_URL"])
    app = create_app(settings=Settings.from_env(env))
    try:
        support.use_directory(app)
        with app.app_context(), new_session() as db:
            return create_api_key(db, name="wadule", role="wadule", opd_slug=None)
    finally:
        engine_of(app).dispose()


def sample_bodies() -> list[dict]:
    """The sample complaints, used in rotation as request bodies."""
    return [json.loads(line) for line in SAMPLE_COMPLAINTS.read_text().splitlines() if line]
