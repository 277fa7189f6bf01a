"""Test services: a fresh PostgreSQL database and a throwaway redis-server per test session.

Both can be pointed elsewhere: ``BRIDGE_TEST_POSTGRES_URL`` (an admin URL on a server where
the suite may create and drop databases) and ``BRIDGE_TEST_REDIS_SERVER`` (the redis-server
binary). A missing service fails the run with a message naming the setting; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bridge import create_app
from bridge.auth import create_api_key
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import Base
from bridge.settings import Settings
from tests.fakes.fixtures import fake_fonnte, fake_telegram, fake_waha, webhook_receiver  # noqa: F401
from tests.support import ProcessGroup, RedisServer, use_directory

DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

#: Tests that start the bridge's own processes (workers, beat, servers, a browser, a private
#: PostgreSQL) and measure time across them: ``make test`` runs them on their own, after the
#: rest has run in parallel (pytest-xdist), so a busy CPU never decides a latency assertion.
SERIAL = (
    "tests/workers/",
    "tests/browser/",
    "tests/test_run.py",
    "tests/bridge/test_security_unavailable.py",
    # Unix socket paths (at most 107 bytes) under tmp_path: xdist's adds a popen-gwN/ level.
    "tests/bridge/test_security_files.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(SERIAL) or "processes" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    binary = os.environ.get("BRIDGE_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        pytest.exit(
            "redis-server not found: install Redis or set BRIDGE_TEST_REDIS_SERVER to its binary",
            returncode=3,
        )
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def postgres_url():
    """A new database on the PostgreSQL service, migrated to head, dropped at the end."""
    admin_url = os.environ.get("BRIDGE_TEST_POSTGRES_URL", DEFAULT_PG_ADMIN)
    name = f"bridge_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.exit(
            f"cannot create a test database through {make_url(admin_url).render_as_string()}"
            f" ({type(exc).__name__}: {exc}). Start PostgreSQL or set BRIDGE_TEST_POSTGRES_URL.",
            returncode=3,
        )
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bridge_env(database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    """The ``BRIDGE_*`` variables for a test app, also handed to worker subprocesses."""
    env = {
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_BROKER_URL": broker_url,
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_SECRET_KEY": "test-secret-key",
        "BRIDGE_SWEEP_INTERVAL": "1",
    }
    env.update(extra)
    return env


@pytest.fixture
def env(postgres_url, redis_server) -> dict[str, str]:
    return bridge_env(postgres_url, redis_server.url)


def _clean_database(app) -> None:
    """Empty every table but ``counters`` and start the id sequences again at 1.

    DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE of every table costs ~50 ms
    of file work in PostgreSQL against ~5 ms for DELETE, a minute over the suite.
    """
    engine = engine_of(app)
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name != "counters"]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        conn.execute(text("UPDATE counters SET value = 0"))
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
                )
            )


@pytest.fixture
def make_app(env, redis_server):
    """Build apps through the factory from ``env`` (plus overrides); clean up afterwards."""
    apps = []

    def factory(**overrides: str):
        app = create_app(settings=Settings.from_env({**env, **overrides}))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield factory
    if apps:
        _clean_database(apps[0])
    redis_server.client().flushall()
    for app in apps:
        engine_of(app).dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def directory(app):
    use_directory(app)
    return app


@pytest.fixture
def keys(directory):
    """Keys for each role: wadule, operator, and OPD keys for dpupr and dinkes."""
    made = {}
    with directory.app_context(), new_session() as db:
        made["wadule"] = create_api_key(db, name="wadule", role="wadule", opd_slug=None)
        made["operator"] = create_api_key(db, name="ops", role="operator", opd_slug=None)
        made["dpupr"] = create_api_key(db, name="dpupr", role="opd", opd_slug="dpupr")
        made["dinkes"] = create_api_key(db, name="dinkes", role="opd", opd_slug="dinkes")
    return made


@pytest.fixture
def client(directory):
    return directory.test_client()


@pytest.fixture
def processes(tmp_path):
    group = ProcessGroup({}, tmp_path)
    yield group
    group.stop_all()


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory):
    """Embedded defaults: a SQLite database and the SQLite-backed broker, in a temp folder."""
    folder = tmp_path_factory.mktemp("embedded")
    db_url = f"sqlite:///{folder}/bridge.db"
    upgrade(db_url)
    return {
        "BRIDGE_DATABASE_URL": db_url,
        "BRIDGE_BROKER_URL": f"sqla+sqlite:///{folder}/broker.db",
        "BRIDGE_SANDBOX": "1",
    }
