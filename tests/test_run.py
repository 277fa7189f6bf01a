"""``wadule-bridge run`` supervises its children (contract section 1; issue 11): a child that
dies is started again, and Ctrl-C stops everything within 10 s, leaving no process behind and
the port free for the next ``make run``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support import free_port, newcomer_env, quickstart
from tests.test_quickstart import _wait_for


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (children, grandchildren...), with its command line."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                found[child] = (
                    Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                ).decode()
            except OSError:
                continue
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def lane_worker(run_pid: int) -> int | None:
    for pid, command in descendants(run_pid).items():
        if "bridge.cli worker --lane private" in command:
            return pid
    return None


@pytest.mark.timeout(240)
def test_run_restarts_a_killed_worker_and_ctrl_c_leaves_nothing_behind(tmp_path):
    port = free_port()
    bind = f"127.0.0.1:{port}"
    env = newcomer_env()
    setup = quickstart(tmp_path, bind, env)
    assert setup.returncode == 0, setup.stderr
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    runner = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--bind", bind],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://{bind}/healthz", runner, tmp_path)
        deadline = time.monotonic() + 60
        while (first := lane_worker(runner.pid)) is None:
            assert time.monotonic() < deadline, "no private-lane worker under run"
            time.sleep(0.2)
        time.sleep(3)  # let it boot its pool

        # A worker that dies (here: killed with its pool) is started again, and logged.
        os.killpg(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while lane_worker(runner.pid) in (None, first):
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(0.2)
        # The log line is written by the supervisor, which may be scheduled after the new child.
        while not (
            "worker-private exited with -9" in (text := (tmp_path / "run.log").read_text())
            and "restarting in 1 s" in text
        ):
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(0.2)
        assert requests.get(f"http://{bind}/healthz", timeout=5).status_code == 200

        everything = descendants(runner.pid)
        assert any("gunicorn" in c or "bridge.cli serve" in c for c in everything.values())
        started = time.monotonic()
        runner.send_signal(signal.SIGINT)  # Ctrl-C
        runner.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
        log.close()
    assert runner.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert took < 10, f"Ctrl-C took {took:.1f} s"
    left = {pid: c for pid, c in everything.items() if alive(pid)}
    assert left == {}, f"processes outlived run: {left}"
    with socket.socket() as sock:  # the next `make run` can listen here
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
