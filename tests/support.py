"""Helpers shared by the tests: service processes, auth headers, sample data."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIRECTORY = ROOT / "examples" / "pacitan" / "opds.yaml"
SAMPLE_COMPLAINTS = ROOT / "examples" / "pacitan" / "complaints.jsonl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server on a free port; fault tests kill and restart it."""

    def __init__(self, binary: str, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C meant for the runner does not kill it mid-teardown.
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.binary} did not start on port {self.port}") from None
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL: everything in memory is gone (no persistence is configured)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart_empty(self) -> None:
        self.kill()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


def newcomer_env(**extra: str) -> dict[str, str]:
    """The environment of someone trying the bridge: no BRIDGE_* of ours, the sandbox on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    return env | {"BRIDGE_SANDBOX": "1", "PYTHONUNBUFFERED": "1"} | extra


def quickstart(folder: Path, bind: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``scripts/quickstart.py`` as ``make run`` calls it, in ``folder``."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "quickstart.py"), bind],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sample_complaints() -> list[dict]:
    return [json.loads(line) for line in SAMPLE_COMPLAINTS.read_text().splitlines() if line]


def use_directory(app, source: dict | Path = SAMPLE_DIRECTORY) -> None:
    """Import an OPD directory into ``app``'s database: a YAML file, or a dict validated as
    ``wadule-bridge directory import`` validates one."""
    from bridge.db import new_session
    from bridge.directory import import_directory, load_directory_file
    from schemas.directory import DirectorySchema

    if isinstance(source, dict):
        source = DirectorySchema().load(source)
    else:
        source = load_directory_file(source)
    with app.app_context(), new_session() as db:
        import_directory(db, source)
        db.commit()


class ProcessGroup:
    """Bridge processes started like production (``wadule-bridge worker`` etc.) for a test."""

    def __init__(self, env: dict[str, str], logdir: Path):
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.logdir = logdir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.logdir,
            start_new_session=True,
        )
        process.log = log
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.logdir / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group (the worker and its pool processes)."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.log.close()

    def stop(self, name: str, timeout: float = 12.0) -> int | None:
        """SIGTERM, as an operator would stop it (a supervisor then stops its own children);
        SIGKILL the group if it has not ended within ``timeout``. Returns the exit code."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
        self.kill(name)
        return process.returncode

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
