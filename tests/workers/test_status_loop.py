"""End to end with real workers: group commands move a complaint, Wadule hears every change.

The fake Wadule verifies each callback with ``standardwebhooks`` and records it; it answers 500,
then 429 with ``Retry-After``, and is down for a while, and still sees each event exactly once,
in order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.fakes.waha import FakeWaha
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver
from tests.support import auth, use_directory

HMAC_KEY = "loop-hmac-key"
DPUPR = "120363000000000101@g.us"


def command(client, text: str, n: int):
    body = {
        "id": f"evt_loop_{n}",
        "timestamp": int(time.time() * 1000),
        "event": "message",
        "session": "default",
        "payload": {
            "id": f"false_{DPUPR}_{n}",
            "from": DPUPR,
            "fromMe": False,
            "participant": "6281200000101@c.us",
            "body": text,
        },
    }
    raw = json.dumps(body).encode()
    signature = hmac.new(HMAC_KEY.encode(), raw, hashlib.sha512).hexdigest()
    response = client.post(
        "/webhooks/waha",
        data=raw,
        headers={"Content-Type": "application/json", "X-Webhook-Hmac": signature},
    )
    assert response.get_json()["status"] == "handled"


def statuses(receiver, wadule_id):
    return [
        (d.payload["type"], d.payload["data"]["status"])
        for d in receiver.verified
        if d.payload["data"]["wadule_id"] == wadule_id
    ]


@pytest.mark.timeout(300)
def test_group_commands_reach_wadule_once_each_in_order_through_failures(
    make_app, env, keys, processes
):
    with FakeWaha() as waha, FakeWebhookReceiver() as wadule:
        loop_env = env | {
            **waha.bridge_settings(),
            "BRIDGE_WAHA_WEBHOOK_HMAC_KEY": HMAC_KEY,
            "BRIDGE_WADULE_CALLBACK_URL": wadule.url_for("/wadule/events"),
            "BRIDGE_WADULE_WEBHOOK_SECRET": DEFAULT_SECRET,
            "BRIDGE_CALLBACK_RETRY_SCHEDULE": "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
            "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1",
        }
        app = make_app(**loop_env)
        use_directory(app)
        processes.env.update(loop_env)
        processes.start("worker", "worker", "--concurrency", "2")
        processes.start("beat", "beat")
        client = app.test_client()
        body = {
            "wadule_id": "WDL-LOOP",
            "title": "Jalan rusak",
            "body": "Lubang besar.",
            "category": "jalan",
            "confidential": True,
        }
        assert (
            client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"])).status_code
            == 202
        )
        wadule.wait_until(
            lambda: ("complaint.status_changed", "forwarded") in statuses(wadule, "WDL-LOOP"),
            30,
            "forwarded",
        )

        wadule.fail_next(2, status=500)
        wadule.fail_next(2, status=429, headers={"Retry-After": "1"})
        command(client, "#WDL-LOOP terima Kami cek", 1)
        command(client, "#WDL-LOOP proses", 2)
        wadule.wait_until(lambda: len(statuses(wadule, "WDL-LOOP")) == 4, 60, "in_progress")

        port = wadule.port
        wadule.stop()  # Wadule is down for a while
        command(client, "#WDL-LOOP selesai Sudah ditambal", 3)
        time.sleep(4)
        wadule.start(port=port)
        wadule.wait_until(lambda: len(statuses(wadule, "WDL-LOOP")) == 5, 60, "resolved")

        # The bridge answered each command in the group, through the delivery engine.
        waha.wait_until(lambda: len(waha.received(DPUPR)) == 4, 30, "three replies")

    assert statuses(wadule, "WDL-LOOP") == [
        ("complaint.delivery_updated", "sent"),
        ("complaint.status_changed", "forwarded"),
        ("complaint.status_changed", "acknowledged"),
        ("complaint.status_changed", "in_progress"),
        ("complaint.status_changed", "resolved"),
    ]
    assert wadule.unverified == []
    seqs = [d.payload["data"]["seq"] for d in wadule.verified]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [d.webhook_id for d in wadule.verified] == [f"evt_{s}" for s in seqs]
    # Each command got its answer; two answers queued together may arrive in either order.
    replies = sorted(m.text for m in waha.received(DPUPR)[1:])
    assert replies == [
        '✅ #WDL-LOOP: status dicatat "diproses".',
        '✅ #WDL-LOOP: status dicatat "diterima OPD".',
        '✅ #WDL-LOOP: status dicatat "selesai".',
    ]
