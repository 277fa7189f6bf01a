"""Per-group spacing holds across worker processes: the limiter lives in the database."""

from __future__ import annotations

import time

import pytest

from tests.fakes.waha import FakeWaha
from tests.support import auth, use_directory

GROUPS = ["120363000000000201@g.us", "120363000000000202@g.us"]


@pytest.mark.timeout(180)
def test_no_two_messages_reach_a_group_less_than_two_seconds_apart(make_app, env, keys, processes):
    with FakeWaha() as waha:
        limit_env = env | {
            **waha.bridge_settings(),
            "BRIDGE_RATE_LIMITS": "whatsapp_group=1/2",
        }
        app = make_app(**limit_env)
        directory = {
            "triage": "a",
            "opds": [
                {
                    "slug": slug,
                    "name": slug.upper(),
                    "categories": [slug],
                    "channels": [{"kind": "whatsapp_group", "target": group}],
                }
                for slug, group in zip(("a", "b"), GROUPS, strict=True)
            ],
        }
        use_directory(app, directory)
        processes.env.update(limit_env)
        for name in ("w1", "w2", "w3"):
            processes.start(name, "worker", "--lane", "private", "--concurrency", "2")
        processes.start("beat", "beat")
        # Slow answers make the race harder: a send counts from the provider's answer.
        waha.delay_next(0.3, times=4)
        client = app.test_client()
        for n in range(12):
            body = {"wadule_id": f"WDL-R-{n}", "title": "t", "body": "b", "category": "ab"[n % 2]}
            assert (
                client.post(
                    "/api/v1/complaints", json=body, headers=auth(keys["wadule"])
                ).status_code
                == 202
            )
        started = time.monotonic()
        waha.wait_for_messages(12, timeout=120)
        elapsed = time.monotonic() - started

    for group in GROUPS:
        gaps = waha.gaps(group)
        assert len(gaps) == 5
        assert min(gaps) >= 2.0, f"{group}: gaps {gaps}"
    # Both groups proceed in parallel: six messages each at 2 s spacing, not twelve in a row.
    assert elapsed < 2 * 12, elapsed
