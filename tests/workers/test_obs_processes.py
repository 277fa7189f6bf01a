"""Logs and metrics across real processes: gunicorn's and Celery's, started as in production.

A complaint posted to ``wadule-bridge serve`` with an ``X-Request-ID`` is delivered by
``wadule-bridge worker`` to the fake WAHA; the worker's log line for it carries the request id,
every line both write is one JSON object, and the API's /metrics shows what the gunicorn worker
and the Celery pool process counted, each under its process tree.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from bridge.metrics import tree_name
from tests.bridge.obs import parse, value
from tests.fakes.waha import FakeWaha
from tests.support import free_port, use_directory

GROUP = "120363000000000001@g.us"
DIRECTORY = {
    "triage": "diskominfo",
    "opds": [
        {
            "slug": "diskominfo",
            "name": "Dinas Komunikasi dan Informatika",
            "categories": ["jalan"],
            "channels": [{"kind": "whatsapp_group", "target": GROUP}],
        }
    ],
}


def wait_for(predicate, timeout: float, what: str, processes):
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = predicate()
        except requests.RequestException:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            logs = {n: processes.log(n)[-3000:] for n in list(processes.processes)}
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.3)


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # fails on any line that is not JSON


@pytest.mark.timeout(300)
def test_the_request_id_reaches_the_workers_log_and_both_trees_reach_metrics(
    make_app, env, keys, processes
):
    with FakeWaha() as waha:
        run_env = env | {
            **waha.bridge_settings(),
            "BRIDGE_LOG_FORMAT": "json",
            "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1",
        }
        app = make_app(**run_env)
        use_directory(app, DIRECTORY)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes.env.update(run_env)
        processes.start("serve", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2")
        processes.start("worker", "worker", "--lane", "private", "--concurrency", "1")
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=2).ok, 60, "serve", processes)
        wait_for(lambda: "ready." in processes.log("worker"), 90, "the worker", processes)

        body = {"wadule_id": "WDL-E2E-1", "title": "Jalan rusak", "body": "Lubang."}
        body["category"] = "jalan"
        response = requests.post(
            f"{base}/api/v1/complaints?secret=not-for-logs",
            json=body,
            headers={"Authorization": f"Bearer {keys['wadule']}", "X-Request-ID": "e2e-req-1"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        assert response.headers["X-Request-ID"] == "e2e-req-1"
        wait_for(lambda: waha.texts(GROUP), 60, "the message at the fake WAHA", processes)

        def delivered_line():
            return [
                line
                for line in json_lines(processes.log("worker"))
                if line["logger"] == "bridge.outbox.engine" and " sent" in line["message"]
            ]

        (line,) = wait_for(delivered_line, 30, "the worker's log line", processes)
        assert line["request_id"] == "e2e-req-1" and line["process"] == "worker"
        assert line["message"].endswith("(whatsapp_group) sent")

        def access_line():
            return [
                line
                for line in json_lines(processes.log("serve"))
                if line["logger"] == "gunicorn.access" and "POST" in line["message"]
            ]

        (access,) = wait_for(access_line, 30, "the access log line", processes)
        assert access["request_id"] == "e2e-req-1" and access["process"] == "api"
        assert '"POST /api/v1/complaints" 202' in access["message"]
        assert "not-for-logs" not in processes.log("serve")

        host = socket.gethostname()
        api_tree, worker_tree = tree_name(f"api-{port}", host), f"private@{host}"
        samples = parse(requests.get(f"{base}/metrics", timeout=10).text)
        posted = {"endpoint": "/api/v1/complaints", "method": "POST", "status": "202"}
        assert value(samples, "bridge_http_requests_total", **posted, process=api_tree) == 1
        sent = {"kind": "whatsapp_group", "outcome": "sent", "process": worker_tree}
        assert value(samples, "bridge_deliveries_finished_total", **sent) == 1
        assert value(samples, "bridge_provider_calls_total", **sent) == 1
        # The gunicorn workers answered /healthz and /metrics too, counted together.
        health = {"endpoint": "/healthz", "method": "GET", "status": "200", "process": api_tree}
        assert value(samples, "bridge_http_requests_total", **health) >= 1

        # Every line either process wrote is one JSON object (json_lines fails otherwise).
        for name in ("serve", "worker"):
            assert {line["process"] for line in json_lines(processes.log(name))} == {
                "api" if name == "serve" else "worker"
            }

        # A worker that starts again empties its own folder, and only its own.
        processes.stop("worker")
        processes.start("worker-2", "worker", "--lane", "private", "--concurrency", "1")
        wait_for(lambda: "ready." in processes.log("worker-2"), 90, "the new worker", processes)
        samples = parse(requests.get(f"{base}/metrics", timeout=10).text)
        assert value(samples, "bridge_deliveries_finished_total", **sent) == 0
        assert value(samples, "bridge_http_requests_total", **posted, process=api_tree) == 1
