"""Benchmark (not part of the suite): median seconds from a group command to Wadule's 2xx.

Real worker process, real PostgreSQL and Redis, fake WAHA and a fake Wadule that answers at
once. Run it with the suite's fixtures:

    PYTHONPATH=. .venv/bin/pytest -p tests.conftest bench/command_latency.py -s -q
"""

from __future__ import annotations

import statistics
import time

import pytest

from tests.fakes.waha import FakeWaha
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver
from tests.support import auth, use_directory
from tests.workers.test_status_loop import HMAC_KEY, command, statuses


@pytest.mark.timeout(120)
def test_command_to_wadule_latency(make_app, env, keys, processes):
    """Prints the median seconds from a group command to Wadule's 2xx over 15 commands."""
    with FakeWaha() as waha, FakeWebhookReceiver() as wadule:
        loop_env = env | {
            **waha.bridge_settings(),
            "BRIDGE_WAHA_WEBHOOK_HMAC_KEY": HMAC_KEY,
            "BRIDGE_WADULE_CALLBACK_URL": wadule.url_for("/e"),
            "BRIDGE_WADULE_WEBHOOK_SECRET": DEFAULT_SECRET,
            "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1",
        }
        app = make_app(**loop_env)
        use_directory(app)
        processes.env.update(loop_env)
        processes.start("worker", "worker", "--concurrency", "2")
        client = app.test_client()
        latencies = []
        for n, word in enumerate(("terima", "proses", "selesai") * 1):
            for i in range(5):
                wadule_id = f"WDL-LAT-{i}"
                if n == 0:
                    body = {
                        "wadule_id": wadule_id,
                        "title": "t",
                        "body": "b",
                        "category": "jalan",
                        "confidential": True,
                    }
                    client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"]))
                    wadule.wait_until(
                        lambda w=wadule_id: (
                            ("complaint.status_changed", "forwarded") in statuses(wadule, w)
                        ),
                        30,
                        "forwarded",
                    )
                before = len(statuses(wadule, wadule_id))
                started = time.monotonic()
                command(client, f"#{wadule_id} {word}", 100 + n * 10 + i)
                wadule.wait_until(
                    lambda w=wadule_id, b=before: len(statuses(wadule, w)) > b, 30, "the callback"
                )
                latencies.append(time.monotonic() - started)
    print(
        f"\ncommand -> Wadule 2xx: median {statistics.median(latencies):.3f}s, "
        f"max {max(latencies):.3f}s over {len(latencies)} commands"
    )
    assert len(latencies) == 15
