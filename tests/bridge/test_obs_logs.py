"""One log format for every process, and the request id from the API into its tasks."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from bridge import logs
from bridge.settings import Settings, SettingsError
from tests.support import ROOT, auth

#: 2026-11-28 03:00:00.123 UTC
CREATED = 1795834800.123
PHONE = "081234567890"


def record(message="delivery %s sent", args=(12,), *, name="bridge.outbox.engine", exc=None):
    made = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, exc)
    made.created, made.process = CREATED, 4242
    return made


@pytest.fixture
def restored_logging():
    """configure_logging changes the process's logging: put it back afterwards."""
    watched = [logging.getLogger(), logging.getLogger("multiprocessing")]
    watched += [logging.getLogger(name) for name in logs.ROUTINE]
    saved = [(logger, logger.handlers[:], logger.filters[:], logger.level) for logger in watched]
    process = logs.process_role()
    yield
    for logger, handlers, filters, level in saved:
        logger.handlers[:], logger.filters[:] = handlers, filters
        logger.setLevel(level)
    logs._process = process
    logging.captureWarnings(False)


def configured(log_format: str, process: str = "worker") -> io.StringIO:
    stream = io.StringIO()
    settings = Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_LOG_FORMAT": log_format})
    logs.configure_logging(settings, process=process, stream=stream)
    return stream


def test_text_line_known_answer(restored_logging):
    configured("text", "worker")
    line = logging.getLogger().handlers[-1].format(record())
    assert line == (
        "2026-11-28T03:00:00.123Z INFO worker[4242] bridge.outbox.engine [-] delivery 12 sent"
    )
    with logs.request_id_scope("9f1c2d"):
        line = logging.getLogger().handlers[-1].format(record())
    assert line.endswith(" bridge.outbox.engine [9f1c2d] delivery 12 sent")


def test_json_line_known_answer(restored_logging):
    configured("json", "api")
    with logs.request_id_scope("req-7"):
        line = logging.getLogger().handlers[-1].format(record())
    assert json.loads(line) == {
        "time": "2026-11-28T03:00:00.123Z",
        "level": "INFO",
        "process": "api",
        "pid": 4242,
        "logger": "bridge.outbox.engine",
        "request_id": "req-7",
        "message": "delivery 12 sent",
    }
    assert list(json.loads(line)) == list(logs.JSON_KEYS)
    assert "\n" not in line
    without = json.loads(logging.getLogger().handlers[-1].format(record()))
    assert without["request_id"] is None


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_exception_is_logged_by_type_and_place_never_by_what_it_says(
    restored_logging, log_format
):
    stream = configured(log_format)
    try:
        try:
            raise KeyError(f"reporter {PHONE}")
        except KeyError as inner:
            raise RuntimeError(f"Failing row contains ({PHONE})") from inner
    except RuntimeError:
        logging.getLogger("bridge.test").exception("insert failed")
    written = stream.getvalue()
    assert PHONE not in written
    assert "builtins.RuntimeError <- builtins.KeyError" in written
    assert "test_obs_logs.py" in written
    if log_format == "json":
        (entry,) = [json.loads(line) for line in written.splitlines()]
        assert entry["message"] == "insert failed"
        assert entry["exception"].startswith("builtins.RuntimeError <- builtins.KeyError")


def test_routine_celery_lines_go_to_debug_and_the_rest_stays(restored_logging):
    stream = configured("text", "beat")
    beat = logging.getLogger("celery.beat")
    beat.info("Scheduler: Sending due task %s (%s)", "wake-outbox", "bridge.wake_outbox")
    beat.info("beat: Starting...")
    beat.warning("Scheduler: Sending due task %s (%s)", "x", "y")  # not INFO: kept
    trace = logging.getLogger("celery.app.trace")
    trace.info(
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        {"name": "bridge.wake_outbox", "id": "1", "runtime": 0.01, "return_value": 0},
    )
    trace.error(
        "Task %(name)s[%(id)s] %(description)s: %(exc)s",
        {"name": "bridge.deliver", "id": "2", "description": "raised unexpected", "exc": "X"},
    )
    logging.getLogger("bridge.outbox.sweeper").debug("wake: %d due deliveries rung", 3)
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 4)[-1] for line in lines] == [
        "[-] beat: Starting...",
        "[-] Scheduler: Sending due task x (y)",
        "[-] Task bridge.deliver[2] raised unexpected: X",
    ]
    beat.setLevel(logging.DEBUG)  # an operator who asks for them gets them, marked DEBUG
    beat.info("Scheduler: Sending due task %s (%s)", "wake-outbox", "bridge.wake_outbox")
    assert " DEBUG beat[" in stream.getvalue().splitlines()[-1]


def test_configuring_again_replaces_the_handler(restored_logging):
    first = configured("text")
    second = configured("json")
    logging.getLogger("bridge.test").warning("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["message"] == "once"
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]
    assert len(ours) == 1


def test_bad_log_format_is_a_settings_error():
    with pytest.raises(SettingsError, match="BRIDGE_LOG_FORMAT must be text or json"):
        Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_LOG_FORMAT": "xml"})
    assert Settings.from_env({"BRIDGE_SANDBOX": "1"}).log_format == "text"


def test_the_cli_writes_json_lines(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_LOG_FORMAT": "json",
        "BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/bridge.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines and all(list(line) == list(logs.JSON_KEYS) for line in lines)
    assert {line["process"] for line in lines} == {"cli"}
    assert any("Running upgrade" in line["message"] for line in lines)
    assert not any("setup plugin" in line["message"] for line in lines)  # alembic's routine


# The request id


def test_a_plain_request_id_is_kept_and_sent_back(client):
    response = client.get("/healthz", headers={"X-Request-ID": "wadule-7f3c.2_A"})
    assert response.headers["X-Request-ID"] == "wadule-7f3c.2_A"


@pytest.mark.parametrize(
    "given", [None, "", "has space", "x" * 65, "semi;colon", "ünï", "a\tb", "../etc"]
)
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client, given):
    headers = {"X-Request-ID": given} if given is not None else {}
    made = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    again = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0 and made != again


def test_an_error_answer_carries_the_request_id_too(client):
    response = client.get("/no/such/page", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers.getlist("X-Request-ID") == ["req-404"]


def test_every_line_a_request_logs_carries_its_id(client, keys, restored_logging):
    stream = configured("json", "api")
    body = {"wadule_id": "WDL-RQ1", "title": "t", "body": "b", "category": "jalan"}
    headers = {**auth(keys["wadule"]), "X-Request-ID": "req-ingest-1"}
    assert client.post("/api/v1/complaints", json=body, headers=headers).status_code == 202
    logging.getLogger("bridge.test").info("after the request")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    during = [line for line in lines if line["message"].startswith("complaint WDL-RQ1")]
    assert during and all(line["request_id"] == "req-ingest-1" for line in during)
    assert lines[-1]["request_id"] is None  # the id ends with its request


def test_the_request_id_travels_in_the_headers_of_the_tasks_it_publishes(
    client, keys, directory, monkeypatch
):
    sent = []
    celery_app = directory.extensions["celery"]
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, **options: sent.append((name, options))
    )
    body = {"wadule_id": "WDL-RQ2", "title": "t", "body": "b", "category": "jalan"}
    headers = {**auth(keys["wadule"]), "X-Request-ID": "req-ingest-2"}
    assert client.post("/api/v1/complaints", json=body, headers=headers).status_code == 202
    assert sent, "nothing was published"
    assert {name for name, _ in sent} == {"bridge.deliver"}
    assert all(o["headers"] == {"bridge_request_id": "req-ingest-2"} for _, o in sent)
    # Outside a request (beat's sweeper, the CLI) there is no id to carry.
    assert logs.task_headers() is None
