"""Files the bridge creates are its own: the SQLite database and instance/ private, and
gunicorn's control socket one per instance."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from bridge.db import make_engine
from bridge.server import control_socket
from tests.support import ROOT, free_port


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_and_its_folder_are_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The usual umask: files 0644 and folders 0755 unless the bridge says otherwise.
    umask = os.umask(0o022)
    engine = make_engine("sqlite:///instance/bridge.db")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('Budi 081234567890')"))
        folder = tmp_path / "instance"
        assert mode(folder) == 0o700
        files = sorted(p.name for p in folder.iterdir())
        assert files == ["bridge.db", "bridge.db-shm", "bridge.db-wal"]
        for name in files:
            assert mode(folder / name) == 0o600, name
    finally:
        engine.dispose()
        os.umask(umask)


def test_an_existing_database_in_instance_is_made_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instance").mkdir()
    database = tmp_path / "instance" / "bridge.db"
    database.touch()
    database.chmod(0o644)
    make_engine("sqlite:///instance/bridge.db").dispose()
    assert mode(database) == 0o600


def test_a_database_elsewhere_keeps_its_folder_as_the_operator_made_it(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)  # e.g. readable by a backup group
    make_engine(f"sqlite:///{shared}/bridge.db").dispose()
    assert mode(shared) == 0o750
    assert mode(shared / "bridge.db") == 0o600  # the file is new: created private


def _serve(folder: Path, port: int, home: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "BRIDGE_DATABASE_URL": f"sqlite:///{folder}/bridge.db",
        "BRIDGE_BROKER_URL": f"sqla+sqlite:///{folder}/broker.db",
        "BRIDGE_SANDBOX": "1",
    }
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "serve", "--bind", f"127.0.0.1:{port}"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def test_each_server_has_its_own_control_socket(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    ports = [free_port(), free_port()]
    servers = [_serve(tmp_path, port, home) for port in ports]
    try:
        sockets = [tmp_path / "instance" / f"gunicorn-127.0.0.1-{port}.ctl" for port in ports]
        for path in sockets:
            _wait_for(path)
            assert stat.S_ISSOCK(path.stat().st_mode) and mode(path) == 0o600
        assert not (home / ".gunicorn").exists()  # gunicorn's shared default is not used

        servers[0].send_signal(signal.SIGTERM)
        servers[0].wait(timeout=30)
        assert not sockets[0].exists()
        # Stopping one instance leaves the other's socket alone, and it still answers.
        assert sockets[1].exists() and _answers(sockets[1])
    finally:
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()


def test_a_control_socket_path_too_long_for_unix_is_not_used(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert control_socket("127.0.0.1:8000") is None
    monkeypatch.chdir(tmp_path)
    assert control_socket("127.0.0.1:8000") == str(
        tmp_path / "instance" / "gunicorn-127.0.0.1-8000.ctl"
    )


def test_the_embedded_broker_and_the_beat_schedule_are_private(tmp_path):
    """The files libraries create for the worker and beat (the embedded broker's SQLite file,
    beat's schedule shelve, their journals) follow the processes' umask: the bridge makes it
    private, whatever the operator's shell had."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRIDGE_DATABASE_URL": "sqlite:///instance/bridge.db",
        "BRIDGE_SANDBOX": "1",
    }
    env.pop("BRIDGE_BROKER_URL", None)  # the embedded default: sqla+sqlite:///instance/broker.db
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", *command],
            cwd=tmp_path,
            env=env,
            umask=0o022,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for command in (["worker", "--lane", "private", "--concurrency", "1"], ["beat"])
    ]
    folder = tmp_path / "instance"
    try:
        _wait_for(folder / "broker.db", timeout=60)
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("celerybeat-schedule") for p in folder.iterdir()):
            assert time.monotonic() < deadline, sorted(p.name for p in folder.iterdir())
            time.sleep(0.2)
        time.sleep(2)  # the worker and beat have used the broker by now
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert mode(folder) == 0o700
    made = {p: 0o700 if p.is_dir() else 0o600 for p in folder.rglob("*") if not p.is_socket()}
    assert folder / "broker.db" in made, made
    assert {str(p): oct(mode(p)) for p in made} == {str(p): oct(m) for p, m in made.items()}
