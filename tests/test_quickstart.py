"""The newcomer's path on embedded defaults: quickstart, `wadule-bridge run`, the printed curl."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest
import requests

from tests.support import ROOT, free_port


def test_quickstart_then_run_then_the_printed_curl(tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is needed for this test: install it (apt-get install curl)")
    port = free_port()
    bind = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")} | {
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_SWEEP_INTERVAL": "2",
        "PYTHONUNBUFFERED": "1",
    }
    setup = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "quickstart.py"), bind],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    printed = setup.stdout
    assert f"http://{bind}/api/v1/docs" in printed
    lines = [line.strip() for line in printed.splitlines() if line.strip().startswith("curl ")]
    post, get = lines
    assert (tmp_path / "instance" / "bridge.db").exists()

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
        posted = subprocess.run(shlex.split(post), capture_output=True, text=True, timeout=30)
        assert posted.stdout.rstrip().endswith("HTTP 202"), posted.stdout
        wadule_id = re.search(r"/complaints/(\S+)", get).group(1)
        assert f'"wadule_id":"{wadule_id}"' in posted.stdout.replace(" ", "")

        deadline = time.monotonic() + 60
        while True:
            read = subprocess.run(shlex.split(get), capture_output=True, text=True, timeout=30)
            assert f'"wadule_id":"{wadule_id}"' in read.stdout.replace(" ", "")
            if '"status":"forwarded"' in read.stdout.replace(" ", ""):
                break
            assert time.monotonic() < deadline, (read.stdout, (tmp_path / "run.log").read_text())
            time.sleep(0.5)
        ready = requests.get(f"http://{bind}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready"}  # the checks are for operators' keys
    finally:
        runner.send_signal(2)  # Ctrl-C stops serve, worker and beat
        try:
            runner.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, 9)
            runner.wait()
            pytest.fail("wadule-bridge run did not stop on Ctrl-C")
        log.close()
    assert runner.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    leftovers = subprocess.run(
        ["pgrep", "-g", str(runner.pid)], capture_output=True, text=True
    ).stdout.strip()
    assert leftovers == "", "children outlived `run`"


def _wait_for(url: str, process: subprocess.Popen, folder) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("run exited early:\n" + (folder / "run.log").read_text()[-3000:])
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or gunicorn's worker still booting
        time.sleep(0.3)
    pytest.fail("the API did not come up:\n" + (folder / "run.log").read_text()[-3000:])
