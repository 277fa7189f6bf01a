"""Console sessions that hold against someone trying: the secret, log-in throttling, logout."""

from __future__ import annotations

import datetime as dt
import os
import stat
import statistics
import subprocess
import sys
import threading
import time

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from bridge import create_app, operators
from bridge.console import throttle
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import LoginThrottle, Operator, utcnow
from bridge.operators import create_operator, reset_password, set_active
from bridge.settings import Settings
from tests.bridge.console.test_console import PASSWORD, csrf_of, login
from tests.support import ROOT, use_directory

WRONG = "not-the-password"


class Clock:
    """The throttle's time, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(throttle, "clock", fake)
    return fake


@pytest.fixture
def accounts(directory):
    with directory.app_context(), new_session() as db:
        for name in ("siti", "budi", "rina"):
            create_operator(db, name, PASSWORD)
    return directory


def client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def fail(client, username="siti", times=1, clock=None, step=61.0):
    """``times`` failed log-ins, ``step`` seconds apart (longer than any back-off)."""
    for _ in range(times):
        response = login(client, username, WRONG)
        assert response.status_code == 401, response.get_data(as_text=True)
        if clock is not None:
            clock.advance(step)


def version_of(app, username: str) -> int:
    with app.app_context(), new_session() as db:
        return db.scalar(select(Operator.session_version).where(Operator.username == username))


# --- the session secret -------------------------------------------------------------------


def sqlite_app(folder, **env):
    url = f"sqlite:///{folder}/bridge.db"
    if not (folder / "bridge.db").exists() or not (folder / "bridge.db").stat().st_size:
        upgrade(url)
    settings = Settings.from_env(
        {
            "BRIDGE_DATABASE_URL": url,
            "BRIDGE_BROKER_URL": f"sqla+sqlite:///{folder}/broker.db",
            **env,
        }
    )
    app = create_app(settings=settings)
    app.config["TESTING"] = True
    return app


def forged_cookie(secret: str, operator_id: int, username: str) -> str:
    signer = Flask("forger")
    signer.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    return serializer.dumps(
        {
            "operator_id": operator_id,
            "operator": username,
            "version": 0,
            "login_at": int(time.time()),
            "csrf": "x",
        }
    )


@pytest.mark.parametrize("mode", ["BRIDGE_DEV", "BRIDGE_SANDBOX"])
def test_without_a_secret_key_one_is_generated_and_kept_private(tmp_path, monkeypatch, mode):
    monkeypatch.chdir(tmp_path)
    app = sqlite_app(tmp_path, **{mode: "1"})
    try:
        folder, secret_file = tmp_path / "instance", tmp_path / "instance" / "secret_key"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        secret = secret_file.read_text().strip()
        assert app.secret_key == secret and len(secret) >= 32
        assert app.secret_key != "sandbox-only-not-secret"
        # The next start (or another worker) uses the same secret: sessions survive restarts.
        again = sqlite_app(tmp_path, **{mode: "1"})
        assert again.secret_key == secret
        engine_of(again).dispose()

        with app.app_context(), new_session() as db:
            siti = create_operator(db, "siti", PASSWORD)
        client = app.test_client()
        # The constant the bridge used to fall back to signs nothing any more.
        client.set_cookie("session", forged_cookie("sandbox-only-not-secret", siti.id, "siti"))
        assert client.get("/ops/").status_code == 302
        # ...while a cookie signed with the real secret would work: the forgery is what failed.
        client.set_cookie("session", forged_cookie(secret, siti.id, "siti"))
        assert client.get("/ops/").status_code == 200
    finally:
        engine_of(app).dispose()


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    code = "from bridge.instance import secret_key; print(secret_key())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    secrets_seen = {child.communicate(timeout=60)[0].strip() for child in children}
    assert all(child.returncode == 0 for child in children)
    assert len(secrets_seen) == 1
    assert secrets_seen == {(tmp_path / "instance" / "secret_key").read_text().strip()}
    # No candidate files are left behind.
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == ["secret_key"]


def test_an_existing_open_instance_folder_is_tightened(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instance").mkdir(mode=0o755)
    (tmp_path / "instance").chmod(0o755)
    app = sqlite_app(tmp_path, BRIDGE_SANDBOX="1")
    engine_of(app).dispose()
    assert stat.S_IMODE((tmp_path / "instance").stat().st_mode) == 0o700


# --- throttling ---------------------------------------------------------------------------


def test_backoff_refuses_at_once_without_checking_the_password(accounts, clock, monkeypatch):
    client = accounts.test_client()
    fail(client, times=3)  # back to back: the third starts a 1 s back-off
    checked = []
    real_check = operators.check_login
    monkeypatch.setattr(
        "bridge.console.views.check_login",
        lambda *args: checked.append(1) or real_check(*args),
    )

    refused = login(client, "siti", PASSWORD)  # the right password, too early
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert (
        "Terlalu banyak percobaan masuk yang gagal. Tunggu 1 detik sebelum mencoba lagi."
        in refused.get_data(as_text=True)
    )
    assert checked == []
    assert client.get("/ops/").status_code == 302

    clock.advance(1)
    assert login(client, "siti", PASSWORD).status_code == 302
    assert checked == [1]


def test_the_backoff_doubles():
    def waits(kind, attempts):
        policy = throttle.POLICIES[kind]
        return [
            None if w is None else w.total_seconds()
            for w in map(policy.backoff, range(1, attempts + 1))
        ]

    assert waits(throttle.ACCOUNT, 10) == [None, None, 1, 2, 4, 8, 16, 32, 60, 60]
    assert waits(throttle.ADDRESS, 16)[8:] == [None, 1, 2, 4, 8, 10, 10, 10]


def test_ten_failures_lock_the_account_even_for_the_right_password(accounts, clock):
    client = accounts.test_client()
    fail(client, times=10, clock=clock)  # 61 s apart: no back-off is ever hit, 10 min in all

    locked = login(client, "siti", PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    page = locked.get_data(as_text=True)
    assert "Akun ini dikunci karena terlalu banyak percobaan masuk yang gagal." in page
    assert client.get("/ops/").status_code == 302

    clock.advance(int(locked.headers["Retry-After"]))  # the lock is temporary
    assert login(client, "siti", PASSWORD).status_code == 302


def test_the_window_forgets_old_failures(accounts, clock):
    client = accounts.test_client()
    fail(client, times=9, clock=clock, step=61)
    clock.advance(15 * 60)  # a new window: the nine are forgotten
    fail(client, times=3, clock=clock)
    assert login(client, "siti", PASSWORD).status_code == 302


def test_an_account_lock_holds_from_every_address(accounts, clock):
    fail(client_from(accounts, "203.0.113.7"), times=10, clock=clock)
    elsewhere = client_from(accounts, "198.51.100.9")
    assert login(elsewhere, "siti", PASSWORD).status_code == 429
    # Other accounts from the other address are unaffected.
    assert login(elsewhere, "budi", PASSWORD).status_code == 302


def test_an_address_lock_holds_for_every_account(accounts, clock):
    attacker = client_from(accounts, "203.0.113.66")
    for i in range(30):  # one guess per made-up account: no account ever backs off
        fail(attacker, username=f"guess{i}", clock=clock, step=10)  # the address's longest wait
    refused = login(attacker, "rina", PASSWORD)
    assert refused.status_code == 429
    assert "Percobaan masuk dari alamat Anda dikunci" in refused.get_data(as_text=True)
    assert login(client_from(accounts, "198.51.100.10"), "rina", PASSWORD).status_code == 302


def test_unknown_accounts_are_throttled_like_known_ones(accounts, clock):
    client = accounts.test_client()
    fail(client, username="nobody", times=3)
    known = client_from(accounts, "192.0.2.1")
    fail(known, username="siti", times=3)
    a = login(client, "nobody", WRONG)
    b = login(known, "siti", WRONG)
    assert a.status_code == b.status_code == 429

    def page(response, username):
        html = response.get_data(as_text=True).replace(username, "?")
        return html.replace(csrf_of(html), "?")

    assert page(a, "nobody") == page(b, "siti")


def test_a_successful_login_resets_the_account_count(accounts, clock):
    client = accounts.test_client()
    fail(client, times=2)
    assert login(client, "siti", PASSWORD).status_code == 302
    client.post("/ops/logout", data={"csrf_token": csrf_of(client.get("/ops/").text)})
    fail(client, times=2)  # would be the 3rd and 4th failure without the reset
    assert login(client, "siti", PASSWORD).status_code == 302


def test_parallel_guesses_cannot_outrun_the_count(accounts, clock):
    clients = [client_from(accounts, f"203.0.113.{i}") for i in range(12)]
    tokens = [csrf_of(c.get("/ops/login").get_data(as_text=True)) for c in clients]
    start = threading.Barrier(len(clients))
    statuses = []

    def guess(client, token):
        start.wait()
        form = {"csrf_token": token, "username": "siti", "password": WRONG}
        statuses.append(client.post("/ops/login", data=form).status_code)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Only the attempts before the back-off got their password checked.
    assert sorted(set(statuses)) == [401, 429]
    assert 1 <= statuses.count(401) <= throttle.POLICIES[throttle.ACCOUNT].free
    with accounts.app_context(), new_session() as db:
        row = db.get(LoginThrottle, (throttle.ACCOUNT, "siti"))
        assert row.failures == statuses.count(401)


def test_no_login_request_sleeps(accounts, clock, monkeypatch):
    def no_sleeping(seconds):
        raise AssertionError(f"a request slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleeping)
    client = accounts.test_client()
    fail(client, times=3)
    refused = []
    for _ in range(5):
        started = time.monotonic()
        assert login(client, "siti", WRONG).status_code == 429
        refused.append(time.monotonic() - started)
    # A refused attempt costs no password hashing and no waiting (form page fetch included).
    assert statistics.median(refused) < 0.2, refused


def test_the_client_address_behind_a_local_proxy():
    assert throttle.address_key("127.0.0.1", "198.51.100.4, 203.0.113.9") == "203.0.113.9"
    assert throttle.address_key("::1", "203.0.113.9") == "203.0.113.9"
    # A remote client cannot choose its address with a header.
    assert throttle.address_key("198.51.100.4", "203.0.113.9") == "198.51.100.4"
    assert throttle.address_key("127.0.0.1", "not-an-address") == "127.0.0.1"
    assert throttle.address_key(None, None) == "unknown"


def test_reset_password_lifts_a_lock(accounts, clock):
    client = accounts.test_client()
    fail(client, times=10, clock=clock)
    assert login(client, "siti", PASSWORD).status_code == 429
    with accounts.app_context(), new_session() as db:
        reset_password(db, "siti", "teh-manis-hangat-1")
    assert login(client, "siti", "teh-manis-hangat-1").status_code == 302


# --- logout, disable, reset end sessions --------------------------------------------------


def test_a_cookie_copied_before_logout_is_refused_after(accounts):
    client = accounts.test_client()
    assert login(client, "siti", PASSWORD).status_code == 302
    copied = client.get_cookie("session").value
    html = client.get("/ops/").get_data(as_text=True)
    assert client.post("/ops/logout", data={"csrf_token": csrf_of(html)}).status_code == 302

    thief = accounts.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/ops/")
    assert response.status_code == 302 and response.location.startswith("/ops/login")
    # Logging in again gives a working session.
    assert login(client, "siti", PASSWORD).status_code == 302
    assert client.get("/ops/").status_code == 200


@pytest.mark.parametrize("change", ["disable", "reset"])
def test_disable_and_password_reset_end_open_sessions(accounts, change):
    client = accounts.test_client()
    assert login(client, "siti", PASSWORD).status_code == 302
    assert client.get("/ops/").status_code == 200
    before = version_of(accounts, "siti")
    with accounts.app_context(), new_session() as db:
        if change == "disable":
            set_active(db, "siti", False)
            set_active(db, "siti", True)  # enabled again: the old cookie still must not work
        else:
            reset_password(db, "siti", "teh-manis-hangat-1")
    assert version_of(accounts, "siti") == before + 1
    assert client.get("/ops/").status_code == 302


def test_sessions_of_other_accounts_survive_a_logout(accounts):
    siti, budi = accounts.test_client(), accounts.test_client()
    assert login(siti, "siti", PASSWORD).status_code == 302
    assert login(budi, "budi", PASSWORD).status_code == 302
    siti.post("/ops/logout", data={"csrf_token": csrf_of(siti.get("/ops/").text)})
    assert budi.get("/ops/").status_code == 200


def test_the_sqlite_console_throttles_too(tmp_path, monkeypatch, clock):
    monkeypatch.chdir(tmp_path)
    app = sqlite_app(tmp_path, BRIDGE_SANDBOX="1")
    try:
        use_directory(app)
        with app.app_context(), new_session() as db:
            create_operator(db, "siti", PASSWORD)
        client = app.test_client()
        fail(client, times=3)
        assert login(client, "siti", PASSWORD).status_code == 429
        clock.advance(1)
        assert login(client, "siti", PASSWORD).status_code == 302
    finally:
        engine_of(app).dispose()
