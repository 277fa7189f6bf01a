"""Nothing committed is lost: no worker, a dead broker, a wiped broker, a worker killed mid-batch.

Real processes: ``wadule-bridge worker`` and ``beat`` against the session's PostgreSQL and
redis-server, in sandbox mode (every send lands in the sandbox inbox, atomically with the row's
``sent``, so the inbox counts what was delivered).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.db import new_session
from bridge.models import Delivery, SandboxMessage
from bridge.statuses import DeliveryStatus
from tests.fakes.waha import FakeWaha
from tests.support import auth, free_port, use_directory

URL = "/api/v1/complaints"
FAST = {"BRIDGE_RATE_LIMITS": "whatsapp_group=1000/1,telegram=1000/1,webhook=1000/1"}
ONE_GROUP = {
    "triage": "umum",
    "opds": [
        {
            "slug": "umum",
            "name": "Bagian Umum",
            "categories": ["umum"],
            "channels": [{"kind": "whatsapp_group", "target": "120363000000000077@g.us"}],
        }
    ],
}


def post_many(client, key, count, prefix="WDL-D"):
    started = time.monotonic()
    for i in range(count):
        body = {
            "wadule_id": f"{prefix}-{i:04d}",
            "title": f"Aduan nomor {i}",
            "body": "Lampu jalan mati sejak minggu lalu.",
            "category": ["lampu-jalan", "kesehatan", "jalan", "pupuk"][i % 4],
        }
        response = client.post(URL, json=body, headers=auth(key))
        assert response.status_code == 202, response.get_json()
    return time.monotonic() - started


def private_rows(app) -> dict[str, int]:
    with app.app_context(), new_session() as db:
        rows = db.execute(
            select(Delivery.status, func.count())
            .where(Delivery.kind.in_(["whatsapp_group", "telegram", "webhook"]))
            .group_by(Delivery.status)
        ).all()
    return dict(rows)


def wait_until_settled(app, total: int, timeout: float, processes) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = private_rows(app)
        done = sum(counts.get(s, 0) for s in (DeliveryStatus.SENT, DeliveryStatus.NEEDS_REVIEW))
        if done == total:
            return counts
        if time.monotonic() > deadline:
            logs = {
                name: processes.log(name)[-2000:]
                for name in ("worker", "beat")
                if (processes.logdir / f"{name}.log").exists()
            }
            pytest.fail(f"not settled after {timeout}s: {counts}\n{logs}")
        time.sleep(0.5)


def inbox(app) -> tuple[int, int]:
    """Sandbox messages of private channels, and how many distinct deliveries they belong to."""
    private = SandboxMessage.kind.in_(["whatsapp_group", "telegram", "webhook"])
    with app.app_context(), new_session() as db:
        messages = db.scalar(select(func.count()).select_from(SandboxMessage).where(private))
        distinct = db.scalar(
            select(func.count(func.distinct(SandboxMessage.delivery_id))).where(private)
        )
    return messages, distinct


def test_broker_down_at_ingest_delays_but_loses_nothing(make_app, env, keys, processes):
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(BRIDGE_BROKER_URL=dead_broker, **FAST)
    client = app.test_client()
    elapsed = post_many(client, keys["wadule"], 30)
    assert elapsed < 30, "a dead broker must not stall ingest"
    total = private_rows(app)[DeliveryStatus.PENDING]
    assert private_rows(app) == {DeliveryStatus.PENDING: total}

    processes.env.update(env | FAST)
    processes.start("worker", "worker", "--lane", "private", "--concurrency", "2")
    processes.start("beat", "beat")
    counts = wait_until_settled(app, total, 90, processes)
    assert counts == {DeliveryStatus.SENT: total}
    assert inbox(app) == (total, total)


def test_wiped_broker_only_delays(make_app, env, keys, processes, redis_server):
    app = make_app(**FAST)
    post_many(app.test_client(), keys["wadule"], 20)
    total = sum(private_rows(app).values())
    app.extensions["bridge.doorbell"].flush()  # what it gathered (bridge.queue.Doorbell)
    assert redis_server.client().llen("bridge.private") >= 1  # doorbells were rung...
    redis_server.client().flushall()  # ...and are gone

    processes.env.update(env | FAST)
    processes.start("worker", "worker", "--lane", "private", "--concurrency", "2")
    processes.start("beat", "beat")
    counts = wait_until_settled(app, total, 90, processes)
    assert counts == {DeliveryStatus.SENT: total}
    assert inbox(app) == (total, total)


def test_worker_killed_mid_batch_loses_nothing(make_app, env, keys, processes):
    batch = 3
    fault_env = env | FAST | {"BRIDGE_TASK_TIME_LIMIT": "5", "BRIDGE_DELIVERY_BATCH": str(batch)}
    app = make_app(**fault_env)
    processes.env.update(fault_env)
    processes.start("worker", "worker", "--lane", "private", "--concurrency", "2")
    post_many(app.test_client(), keys["wadule"], 200)
    total = sum(private_rows(app).values())

    deadline = time.monotonic() + 60
    while private_rows(app).get(DeliveryStatus.SENT, 0) < 20:
        assert time.monotonic() < deadline, processes.log("worker")[-2000:]
        time.sleep(0.05)
    processes.kill("worker")
    stopped_at = private_rows(app)
    assert stopped_at.get(DeliveryStatus.SENT, 0) < total, "the batch finished before the kill"

    processes.start("worker", "worker", "--lane", "private", "--concurrency", "2")
    processes.start("beat", "beat")
    counts = wait_until_settled(app, total, 120, processes)
    sent = counts.get(DeliveryStatus.SENT, 0)
    review = counts.get(DeliveryStatus.NEEDS_REVIEW, 0)
    # Rows a killed worker held are never re-posted blindly: a person decides. Each of its two
    # pool processes held at most one batch.
    assert review <= 2 * batch, counts
    assert sent + review == total
    assert inbox(app) == (sent, sent)


def pool_processes(parent: int) -> list[int]:
    """The pids whose parent is ``parent`` (a worker's pool processes), from ``/proc``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = (Path("/proc") / entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
                found.append(int(entry))
    return found


def test_a_pool_process_terminated_mid_batch_ends_its_call_and_hands_back_the_rest(
    make_app, env, keys, processes
):
    with FakeWaha() as waha:
        app, fault_env = _five_rows_to_one_group(make_app, env, keys, waha)
        waha.delay_next(1.5)  # the batch's first call is still out when the SIGTERM comes

        processes.env.update(fault_env)
        worker = processes.start("worker", "worker", "--lane", "private", "--concurrency", "1")
        waha.wait_for_requests(1, timeout=60)
        # What Celery does to a pool process when it cancels its task (broker connection lost)
        # or at a cold shutdown.
        (child,) = pool_processes(worker.pid)
        os.kill(child, signal.SIGTERM)

        # Lease is 70 s: a batch left to expire would not settle in time, and in needs_review.
        counts = wait_until_settled(app, 5, 45, processes)
        assert counts == {DeliveryStatus.SENT: 5}
        assert sorted(m.text.split("\n")[0] for m in waha.messages) == sorted(
            {m.text.split("\n")[0] for m in waha.messages}
        )
        assert len(waha.messages) == 5
    assert child not in pool_processes(worker.pid), "the terminated process did not end"
    assert "4 deliveries handed back unattempted (stop requested)" in processes.log("worker")


def _five_rows_to_one_group(make_app, env, keys, waha):
    """Five complaints for one WhatsApp group, and a batch that takes all five; the app and
    the settings for the worker."""
    batch_env = env | {
        **waha.bridge_settings(),
        "BRIDGE_RATE_LIMITS": "whatsapp_group=1000/1",
        "BRIDGE_DELIVERY_BATCH": "5",
        "BRIDGE_TASK_TIME_LIMIT": "60",
        "BRIDGE_HTTP_TIMEOUT": "5",
    }
    app = make_app(**batch_env)
    use_directory(app, ONE_GROUP)
    client = app.test_client()
    for n in range(5):
        body = {"wadule_id": f"WDL-T-{n}", "title": "Judul", "body": "Isi.", "category": "umum"}
        assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
    return app, batch_env


def test_a_worker_told_to_stop_hands_back_its_batch_after_the_call_in_flight(
    make_app, env, keys, processes
):
    # SIGTERM to the worker's main process only, as `docker stop` sends it: Celery's warm
    # shutdown waits for the running task, which used to go on through its whole batch.
    with FakeWaha() as waha:
        app, stop_env = _five_rows_to_one_group(make_app, env, keys, waha)
        waha.latency = 1.5  # the whole batch would take 7.5 s
        processes.env.update(stop_env)
        worker = processes.start("worker", "worker", "--lane", "private", "--concurrency", "1")
        waha.wait_for_requests(1, timeout=60)
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
        assert private_rows(app) == {DeliveryStatus.SENT: 1, DeliveryStatus.PENDING: 4}
        assert len(waha.requests) == 1
    log = processes.log("worker")
    assert "4 deliveries handed back unattempted (stop requested)" in log
    assert "exited with 'signal" not in log


def test_stopping_the_worker_command_ends_both_lanes_in_order(make_app, env, keys, processes):
    # `wadule-bridge worker` supervises one worker per lane. It used to SIGTERM each lane's
    # whole process group: the idle pool processes died under their worker, which logged an
    # error for each, started new ones in the middle of its shutdown and was killed at 8 s.
    with FakeWaha() as waha:
        app, stop_env = _five_rows_to_one_group(make_app, env, keys, waha)
        waha.latency = 1.5  # the whole batch would take 7.5 s
        processes.env.update(stop_env)
        worker = processes.start("worker", "worker", "--concurrency", "2")
        waha.wait_for_requests(1, timeout=60)
        asked = time.monotonic()
        os.kill(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        took = time.monotonic() - asked
        assert private_rows(app) == {DeliveryStatus.SENT: 1, DeliveryStatus.PENDING: 4}
    log = processes.log("worker")
    assert "did not stop within" not in log and took < 8, (took, log[-3000:])
    assert (
        "exited with 'signal" not in log
        and "calling self.run()" not in log.split("SIGTERM received")[1]
    )
