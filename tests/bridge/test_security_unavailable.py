"""A database that is down or locked gets 503 with Retry-After, fast, on every endpoint.

PostgreSQL is stopped for real: a private cluster of the test's own (initdb and pg_ctl on a free
port in a folder the ``postgres`` user owns; both refuse to run as root, hence ``runuser``).
SQLite is locked for real: another connection holds ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge import create_app
from bridge.auth import create_api_key
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import Complaint, Delivery
from bridge.operators import create_operator
from bridge.settings import Settings
from tests.conftest import bridge_env
from tests.support import auth, free_port, use_directory

UNAVAILABLE = {"code": 503, "message": "database unavailable, retry later"}
#: The contract says "within a few seconds"; the bridge gives up after 3.
PATIENCE = 5.0
PASSWORD = "kopi-tubruk-pacitan"
TELEGRAM_SECRET = "telegram-webhook-secret-for-tests"


class PrivatePostgres:
    """A PostgreSQL cluster of one test module: started, stopped and started again at will."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins and not shutil.which("pg_ctl"):
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bindir = Path(bins[-1]) if bins else Path(shutil.which("pg_ctl")).parent
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are private to the user running the tests.
        self.folder = Path(tempfile.mkdtemp(prefix="bridge-pg-"))
        self.data = self.folder / "data"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bindir / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres():
    server = PrivatePostgres()
    try:
        server.start()
        upgrade(server.url)
        yield server
    finally:
        server.remove()


def complaint(wadule_id: str) -> dict:
    return {"wadule_id": wadule_id, "title": "Jalan rusak", "body": "Lubang.", "category": "jalan"}


def login(client) -> None:
    page = client.get("/ops/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": token, "username": "siti", "password": PASSWORD}
    assert client.post("/ops/login", data=form).status_code == 302


def telegram_update(update_id: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10,
            "chat": {"id": -1001000000000101, "type": "supergroup", "title": "OPD"},
            "from": {"id": 5, "is_bot": False, "first_name": "Sri"},
            # A command: only those need the database (chatter is answered from memory).
            "text": "#WDL-PG-1 terima",
            "date": int(time.time()),
        },
    }


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_unavailable(response, elapsed: float, *, json: bool = True) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"] == "5"
    assert elapsed < PATIENCE, f"answered after {elapsed:.1f} s"
    if json:
        assert response.get_json() == UNAVAILABLE


def count(app, model) -> int:
    with app.app_context(), new_session() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_every_endpoint_answers_503_while_postgresql_is_down(private_postgres, redis_server):
    env = bridge_env(
        private_postgres.url, redis_server.url, BRIDGE_TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET
    )
    app = create_app(settings=Settings.from_env(env))
    app.config["TESTING"] = True
    try:
        use_directory(app)
        with app.app_context(), new_session() as db:
            wadule = create_api_key(db, name="wadule", role="wadule", opd_slug=None)
            operator = create_api_key(db, name="ops", role="operator", opd_slug=None)
            create_operator(db, "siti", PASSWORD)
        client = app.test_client()
        key = auth(wadule)
        assert (
            client.post("/api/v1/complaints", json=complaint("WDL-PG-1"), headers=key).status_code
            == 202
        )
        login(client)
        telegram = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        deliveries_before = count(app, Delivery)

        private_postgres.stop()
        try:
            response, elapsed = timed(
                lambda: client.post("/api/v1/complaints", json=complaint("WDL-PG-2"), headers=key)
            )
            assert_unavailable(response, elapsed)
            for call in (
                lambda: client.get("/api/v1/complaints/WDL-PG-1", headers=key),
                lambda: client.get("/api/v1/complaints", headers=key),
                lambda: client.get("/api/v1/events", headers=key),
                lambda: client.get("/metrics"),
                lambda: client.post(
                    "/webhooks/telegram", json=telegram_update(1), headers=telegram
                ),
            ):
                assert_unavailable(*timed(call))
            assert_unavailable(*timed(lambda: client.get("/ops/")), json=False)
            assert "Basis data sedang tidak menjawab" in client.get("/ops/").get_data(as_text=True)
            for headers in ({}, auth(operator)):
                response, elapsed = timed(lambda h=headers: client.get("/readyz", headers=h))
                assert (response.status_code, response.get_json()) == (503, {"status": "not ready"})
                assert elapsed < PATIENCE
        finally:
            private_postgres.start()

        # The refused complaint was not half-written: it is new now, and stored once.
        response = client.post("/api/v1/complaints", json=complaint("WDL-PG-2"), headers=key)
        assert response.status_code == 202
        assert count(app, Complaint) == 2
        assert count(app, Delivery) == 2 * deliveries_before
        assert client.get("/readyz").get_json() == {"status": "ready"}
    finally:
        engine_of(app).dispose()


def test_a_sqlite_write_lock_answers_503_within_seconds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bridge.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    env = {
        "BRIDGE_DATABASE_URL": url,
        "BRIDGE_BROKER_URL": f"sqla+sqlite:///{tmp_path}/broker.db",
        "BRIDGE_SANDBOX": "1",
    }
    app = create_app(settings=Settings.from_env(env))
    app.config["TESTING"] = True
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        use_directory(app)
        with app.app_context(), new_session() as db:
            key = auth(create_api_key(db, name="wadule", role="wadule", opd_slug=None))
        client = app.test_client()
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        response, elapsed = timed(
            lambda: client.post("/api/v1/complaints", json=complaint("WDL-SQ-1"), headers=key)
        )
        assert_unavailable(response, elapsed)
        assert elapsed >= 2.5  # it did wait for the lock a little, as a busy database deserves
        # Readers are not blocked by a writer (WAL).
        assert client.get("/api/v1/complaints/WDL-SQ-1", headers=key).status_code == 404
        blocker.execute("ROLLBACK")

        response = client.post("/api/v1/complaints", json=complaint("WDL-SQ-1"), headers=key)
        assert response.status_code == 202
        assert count(app, Complaint) == 1
    finally:
        blocker.close()
        engine_of(app).dispose()


def test_workers_wait_longer_for_a_sqlite_lock_than_requests(tmp_path, monkeypatch):
    # Outside a request (workers, commands) there is no client waiting: 30 s, not 3 s.
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/bridge.db"
    upgrade(url)
    app = create_app(
        settings=Settings.from_env({"BRIDGE_DATABASE_URL": url, "BRIDGE_SANDBOX": "1"})
    )
    try:
        with app.app_context(), new_session() as db:
            assert db.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        with app.test_request_context("/"), new_session() as db:
            assert db.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000
    finally:
        engine_of(app).dispose()
