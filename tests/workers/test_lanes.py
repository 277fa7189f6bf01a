"""The delivery engine's lanes with real worker processes (issue 11).

An office with a WhatsApp group, a Facebook page, an Instagram account and X: Meta takes 10 s
to process each Instagram card, and the WhatsApp group still gets every complaint at once,
because private deliveries have a queue and a pool of their own and nothing in a worker waits
for Meta. Then Redis is stopped and started again, empty and not, while rows wait for their
rate limit: the worker keeps running and everything goes out, once.
"""

from __future__ import annotations

import collections
import threading
import time

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bridge.db import new_session
from bridge.models import Delivery
from tests.fakes.graph import FB_TOKEN, IG_TOKEN, FakeGraph
from tests.fakes.server import free_port
from tests.fakes.waha import FakeWaha
from tests.fakes.x_api import X_CONSUMER_KEY, X_CONSUMER_SECRET, X_SECRET, X_TOKEN, FakeX
from tests.support import auth, use_directory

GROUP = "120363000000000201@g.us"
PAGE = "100000000000201"
IG_USER = "17841400000000201"
DIRECTORY = {
    "triage": "dpupr",
    "opds": [
        {
            "slug": "dpupr",
            "name": "Dinas Pekerjaan Umum dan Penataan Ruang",
            "categories": ["jalan"],
            "channels": [
                {"kind": "whatsapp_group", "target": GROUP},
                {"kind": "facebook_page", "target": PAGE, "token_env": "FB_TOKEN_DPUPR"},
                {"kind": "instagram", "target": IG_USER, "token_env": "IG_TOKEN_DPUPR"},
                {
                    "kind": "x",
                    "target": "dpupr_pacitan",
                    "auth": "oauth1",
                    "token_env": "X_TOKEN_DPUPR",
                    "secret_env": "X_SECRET_DPUPR",
                },
            ],
        }
    ],
}
URL = "/api/v1/complaints"


def statuses(app) -> dict[tuple[str, str], int]:
    with app.app_context(), new_session() as db:
        return {
            (kind, status): count
            for kind, status, count in db.execute(
                select(Delivery.kind, Delivery.status, func.count()).group_by(
                    Delivery.kind, Delivery.status
                )
            )
        }


def wait_for(predicate, timeout: float, what: str, processes) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            logs = {n: processes.log(n)[-3000:] for n in list(processes.processes)}
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.1)


def submit(client, key, wadule_id: str) -> float:
    body = {"wadule_id": wadule_id, "title": "Jalan berlubang", "body": "Isi.", "category": "jalan"}
    response = client.post(URL, json=body, headers=auth(key))
    assert response.status_code == 202, response.get_json()
    return time.monotonic()


@pytest.mark.timeout(300)
def test_whatsapp_never_waits_behind_an_instagram_card_that_takes_10_s(
    make_app, env, keys, processes
):
    with FakeWaha() as waha, FakeGraph(processing_seconds=10) as graph, FakeX() as x_api:
        port = free_port()
        settings = {
            **waha.bridge_settings(),
            "BRIDGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "BRIDGE_GRAPH_URL": graph.url,
            "BRIDGE_X_API_URL": x_api.url,
            "BRIDGE_X_CONSUMER_KEY": X_CONSUMER_KEY,
            "BRIDGE_X_CONSUMER_SECRET": X_CONSUMER_SECRET,
            "BRIDGE_RATE_LIMITS": (
                "whatsapp_group=100/1,facebook_page=100/1,instagram=100/1,x=100/1"
            ),
            "FB_TOKEN_DPUPR": FB_TOKEN,
            "IG_TOKEN_DPUPR": IG_TOKEN,
            "X_TOKEN_DPUPR": X_TOKEN,
            "X_SECRET_DPUPR": X_SECRET,
        }
        app = make_app(**settings)
        use_directory(app, DIRECTORY)
        # The bridge's card route, which Meta's fetcher reads when a container is made.
        cards = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=cards.serve_forever, daemon=True).start()
        try:
            processes.env.update(env | settings)
            processes.start("worker", "worker")  # both lanes, as `wadule-bridge worker` runs
            processes.start("beat", "beat")
            client = app.test_client()
            submit(client, keys["wadule"], "WDL-WARM")
            wait_for(lambda: len(waha.messages) == 1, 90, "the workers to start", processes)

            sent_at = {}
            for n in range(10):
                sent_at[f"WDL-L{n}"] = submit(client, keys["wadule"], f"WDL-L{n}")
                time.sleep(0.5)
            wait_for(lambda: len(waha.messages) == 11, 30, "every WhatsApp message", processes)
            arrived = {m.text.split("#", 1)[1].split("*", 1)[0]: m.at for m in waha.messages}
            latency = {wadule_id: arrived[wadule_id] - at for wadule_id, at in sent_at.items()}
            # Meanwhile the Instagram cards are still being processed at Meta.
            assert len(graph.published(IG_USER)) < 11
            assert max(latency.values()) < 2.0, latency

            everything = {
                ("whatsapp_group", "sent"): 11,
                ("facebook_page", "sent"): 11,
                ("instagram", "sent"): 11,
                ("x", "sent"): 11,
            }
            wait_for(lambda: statuses(app) == everything, 120, "every post recorded", processes)
            # Each container was published once, no sooner than Meta had it ready.
            containers = graph.containers_of(IG_USER)
            assert len(containers) == 11 and all(c.status == "PUBLISHED" for c in containers)
            assert len(graph.page_posts(PAGE)) == 11 and len(x_api.tweets) == 11
            assert len({m.text for m in waha.messages}) == 11
        finally:
            cards.shutdown()


MESSAGES = 7


@pytest.mark.timeout(300)
def test_a_worker_outlives_redis_restarts_while_rows_wait_for_their_rate_limit(
    make_app, env, keys, processes, redis_server
):
    with FakeWaha() as waha:
        settings = {
            **waha.bridge_settings(),
            "BRIDGE_RATE_LIMITS": "whatsapp_group=1/2",
        }
        directory = {
            "triage": "dpupr",
            "opds": [{**DIRECTORY["opds"][0], "channels": DIRECTORY["opds"][0]["channels"][:1]}],
        }
        app = make_app(**settings)
        use_directory(app, directory)
        client = app.test_client()
        for n in range(MESSAGES):
            submit(client, keys["wadule"], f"WDL-R{n:02d}")
        processes.env.update(env | settings)
        worker = processes.start("worker", "worker", "--lane", "private", "--concurrency", "2")
        beat = processes.start("beat", "beat")
        # Seven messages to one group, one per 2 s: the rest wait in their rows. WAHA takes 1.5 s
        # to answer, so Redis goes away while a task is running, its message unacknowledged
        # (the case that used to stop the worker inside kombu: see workers/broker_fixes.py).
        waha.latency = 1.5
        waha.wait_for_requests(3, timeout=60)
        redis_server.kill()  # stopped, and everything in it gone
        time.sleep(3)
        redis_server.start()
        wait_for(lambda: len(waha.requests) >= 5, 60, "sending after an empty restart", processes)

        redis_server.client().shutdown(save=True)  # stopped, its data kept
        redis_server.process.wait()
        time.sleep(2)
        redis_server.start()
        wait_for(lambda: len(waha.messages) == MESSAGES, 90, "every message", processes)

        assert worker.poll() is None, processes.log("worker")[-3000:]
        assert beat.poll() is None, processes.log("beat")[-3000:]
        texts = collections.Counter(m.text.split("#", 1)[1].split("*", 1)[0] for m in waha.messages)
        assert texts == {f"WDL-R{n:02d}": 1 for n in range(MESSAGES)}
        gaps = [b.at - a.at for a, b in zip(waha.messages, waha.messages[1:], strict=False)]
        assert min(gaps) >= 1.9, gaps  # the rate limit held through the restarts
        # The last message has reached WAHA; its row is recorded right after the answer.
        wait_for(
            lambda: statuses(app) == {("whatsapp_group", "sent"): MESSAGES},
            30,
            "every row recorded as sent",
            processes,
        )
