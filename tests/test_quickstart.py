"""The newcomer's path on embedded defaults: quickstart, `wadule-bridge run`, the printed curl,
the console log-in it prints, `samples load`, and links that follow --bind."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time

import pytest
import requests

from tests.support import ROOT, free_port, newcomer_env, quickstart


def test_quickstart_then_run_then_the_printed_curl(tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is needed for this test: install it (apt-get install curl)")
    port = free_port()
    bind = f"127.0.0.1:{port}"
    env = newcomer_env(BRIDGE_SWEEP_INTERVAL="2")
    setup = quickstart(tmp_path, bind, env)
    assert setup.returncode == 0, setup.stderr
    printed = setup.stdout
    assert f"http://{bind}/api/v1/docs" in printed
    console = re.search(rf"console: +http://{bind}/ops/ +user (\S+), password (\S+)", printed)
    assert console, printed
    user, password = console.groups()
    lines = [line.strip() for line in printed.splitlines() if line.strip().startswith("curl ")]
    post, get = lines
    assert (tmp_path / "instance" / "bridge.db").exists()
    for kept in ("sandbox-wadule.key", "sandbox-operator.password"):
        mode = stat.S_IMODE((tmp_path / "instance" / kept).stat().st_mode)
        assert mode == 0o600, (kept, oct(mode))
    assert (tmp_path / "instance" / "sandbox-operator.password").read_text().strip() == password
    assert f"make samples BIND={bind}" in printed

    # Run again: the same key and account are kept, not multiplied.
    again = quickstart(tmp_path, bind, env)
    assert again.returncode == 0, again.stderr
    assert f"user {user}, password {password}" in again.stdout

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

        _log_in(f"http://{bind}", user, password)
        _links_follow_the_bind(bind, tmp_path, env, wadule_id)
        _samples_load(bind, tmp_path, env)
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


def _log_in(base: str, user: str, password: str) -> None:
    """The printed console account logs in (the dashboard answers, not the log-in form)."""
    with requests.Session() as browser:
        form = browser.get(f"{base}/ops/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = browser.post(
            f"{base}/ops/login",
            data={"csrf_token": token, "username": user, "password": password, "next": "/ops/"},
            timeout=10,
        )
        assert answer.status_code == 200 and answer.url == f"{base}/ops/", answer.url
        assert 'name="password"' not in answer.text


def _cli(folder, env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _links_follow_the_bind(bind: str, folder, env, wadule_id: str) -> None:
    """No BRIDGE_PUBLIC_URL is set: the Instagram card the public worker (started by `run`)
    rendered points at the port the bridge listens on, not the default :8000."""
    made = _cli(folder, env, "api-key", "create", "--name", "ops", "--role", "operator")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 60
    while True:
        inbox = requests.get(
            f"http://{bind}/api/v1/sandbox/messages",
            params={"wadule_id": wadule_id, "channel": "instagram"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ).json()["items"]
        if inbox:
            break
        assert time.monotonic() < deadline, "no Instagram post reached the sandbox"
        time.sleep(0.5)
    image = inbox[0]["payload"]["image_url"]
    assert image == f"http://{bind}/public/cards/{wadule_id}.jpg"
    card = requests.get(image, timeout=10)
    assert (card.status_code, card.headers["Content-Type"]) == (200, "image/jpeg")


def _samples_load(bind: str, folder, env) -> None:
    """`wadule-bridge samples load` sends the 20 samples with the sandbox key; again: all known."""
    first = _cli(
        folder,
        env,
        "samples",
        "load",
        str(ROOT / "examples/pacitan/complaints.jsonl"),
        "--url",
        f"http://{bind}",
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().endswith("20 complaints: 20 new, 0 already there, 0 failed")
    assert "Sutrisno" not in first.stdout  # ids and outcomes only, never a reporter
    again = _cli(
        folder,
        env,
        "samples",
        "load",
        str(ROOT / "examples/pacitan/complaints.jsonl"),
        "--url",
        f"http://{bind}",
    )
    assert again.stdout.strip().endswith("20 complaints: 0 new, 20 already there, 0 failed")


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
