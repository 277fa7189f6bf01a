"""Fault tests with real worker processes, real Redis and PostgreSQL, and fake providers.

A few hundred complaints go through while a worker is killed with SIGKILL, Redis is killed and
restarted empty, and the fake WAHA fails with 500s, then throttles, then hangs. Afterwards the
fakes' own logs must show every (complaint, channel) at most once, every row settled, and the
ambiguous sends in ``needs_review`` instead of posted twice.
"""

from __future__ import annotations

import collections
import re
import time

import pytest
from sqlalchemy import func, select

from bridge.db import new_session
from bridge.models import Complaint, Delivery
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import FakeWaha
from tests.support import auth, use_directory

TELEGRAM_TOKEN = "123456:fault-test-token"
GROUPS = [f"1203630000000001{i:02d}@g.us" for i in range(6)]
DIRECTORY = {
    "triage": "opd0",
    "opds": [
        {
            "slug": f"opd{i}",
            "name": f"Dinas Uji {i}",
            "categories": [f"kat{i}"],
            "channels": [{"kind": "whatsapp_group", "target": GROUPS[i]}]
            + ([{"kind": "telegram", "target": f"-10010000000{i}"}] if i < 2 else []),
        }
        for i in range(6)
    ],
}
ID_IN_TEXT = re.compile(r"#(WDL-F-\d{4})")


def settled(app) -> dict[str, int]:
    with app.app_context(), new_session() as db:
        return dict(
            db.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )


def wait_for(predicate, timeout: float, what: str, processes) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            logs = {n: processes.log(n)[-3000:] for n in list(processes.processes)}
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


@pytest.mark.timeout(400)
def test_kill_worker_wipe_redis_and_failing_provider_lose_nothing_and_post_nothing_twice(
    make_app, env, keys, processes, redis_server
):
    with FakeWaha() as waha, FakeTelegram(token=TELEGRAM_TOKEN) as telegram:
        fault_env = env | {
            **waha.bridge_settings(),
            "BRIDGE_TELEGRAM_API_URL": telegram.url,
            "BRIDGE_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            # Six groups at 8/s each: the batch takes long enough for every fault to land on it.
            "BRIDGE_RATE_LIMITS": "whatsapp_group=8/1,telegram=100/1",
            "BRIDGE_DELIVERY_RETRY_SCHEDULE": "1,1,2,2,3,3,4,4,5,5,5,5,5,5,5,5",
            "BRIDGE_TASK_TIME_LIMIT": "6",
            "BRIDGE_HTTP_TIMEOUT": "1",
            "BRIDGE_SWEEP_INTERVAL": "1",
            "BRIDGE_DELIVERY_BATCH": "2",
        }
        app = make_app(**fault_env)
        use_directory(app, DIRECTORY)
        client = app.test_client()
        for n in range(300):
            body = {
                "wadule_id": f"WDL-F-{n:04d}",
                "title": f"Aduan uji {n}",
                "body": "Isi aduan untuk uji ketahanan.",
                "category": f"kat{n % 6}",
            }
            assert (
                client.post(
                    "/api/v1/complaints", json=body, headers=auth(keys["wadule"])
                ).status_code
                == 202
            )
        total = sum(settled(app).values())

        processes.env.update(fault_env)
        processes.start("worker-a", "worker", "--lane", "private", "--concurrency", "2")
        processes.start("worker-b", "worker", "--lane", "private", "--concurrency", "2")
        processes.start("beat", "beat")

        def sent() -> int:
            return settled(app).get("sent", 0)

        wait_for(lambda: sent() >= 40, 90, "the first 40 sends", processes)
        processes.kill("worker-a")  # SIGKILL mid-batch, pool processes included
        processes.start("worker-c", "worker", "--lane", "private", "--concurrency", "2")

        wait_for(lambda: sent() >= 80, 90, "80 sends", processes)
        redis_server.kill()  # everything queued in Redis is gone
        time.sleep(2)
        redis_server.start()

        wait_for(lambda: sent() >= 120, 120, "120 sends after the Redis restart", processes)
        waha.fail_next(30, status=500, body={"statusCode": 500, "message": "Internal error"})
        # Then throttling with a wait hint, then hanging past the read timeout.
        waha.fail_next(
            30, status=429, body={"message": "Too Many Requests"}, headers={"Retry-After": "1"}
        )
        waha.hang_next(4, seconds=3)
        telegram.flood(retry_after=1, times=5)

        def done() -> bool:
            counts = settled(app)
            return counts.get("sent", 0) + counts.get("needs_review", 0) == total

        wait_for(done, 240, "every delivery to settle", processes)
        assert waha.pending_script == 0, "the provider's faults were not all exercised"

    counts = settled(app)
    with app.app_context(), new_session() as db:
        rows = db.execute(
            select(Complaint.wadule_id, Delivery.kind, Delivery.status, Delivery.target).join(
                Complaint, Delivery.complaint_id == Complaint.id
            )
        ).all()
    accepted = collections.Counter()
    for message in waha.messages:
        accepted[(ID_IN_TEXT.search(message.text).group(1), "whatsapp_group")] += 1
    for message in telegram.messages:
        accepted[(ID_IN_TEXT.search(message.text).group(1), "telegram")] += 1

    twice = {key: n for key, n in accepted.items() if n > 1}
    assert twice == {}, f"posted more than once: {twice}"
    sent_keys = {(w, k) for w, k, status, _ in rows if status == "sent"}
    review_keys = {(w, k) for w, k, status, _ in rows if status == "needs_review"}
    assert sent_keys <= set(accepted), "a row says sent but the provider never accepted it"
    assert set(accepted) <= sent_keys | review_keys, "the provider has a message the bridge lost"
    # The 4 hung requests, plus at most the batches (2 rows each) of the killed worker's 2 pool
    # processes, plus at most those of the 4 tasks running when Redis vanished (they are
    # cancelled on connection loss).
    assert 4 <= len(review_keys) <= 4 + 2 * 2 + 4 * 2, counts
    assert len(sent_keys) + len(review_keys) == total
    for group in GROUPS:
        assert waha.received(group), f"nothing reached {group}"
