"""Pushing events to Wadule: signatures, order per complaint, retries, 410."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from bridge import callbacks
from bridge.db import new_session
from bridge.models import Event, utcnow
from tests.fakes.server import free_port
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver
from tests.support import auth, use_directory

URL = "/api/v1/complaints"


def test_signature_known_answer():
    event = Event(
        seq=41,
        type="complaint.status_changed",
        occurred_at=dt.datetime(2026, 11, 28, 2, 59, 58, tzinfo=dt.UTC),
        data={"seq": 41, "wadule_id": "WDL-2026-000123", "status": "in_progress"},
    )
    body, headers = callbacks.signed_request(DEFAULT_SECRET, event, now=1795834800)
    assert body == (
        b'{"type":"complaint.status_changed","timestamp":"2026-11-28T02:59:58Z",'
        b'"data":{"seq":41,"wadule_id":"WDL-2026-000123","status":"in_progress"}}'
    )
    assert headers["webhook-id"] == "evt_41"
    assert headers["webhook-timestamp"] == "1795834800"
    key = base64.b64decode(DEFAULT_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, b"evt_41.1795834800." + body, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert headers["webhook-signature"] == "v1,qLOh0Rsw5CXPS/Bd+N0hIfsJX8INTQo/GV7yjfupLNU="


@pytest.fixture
def receiver():
    with FakeWebhookReceiver() as fake:
        yield fake


@pytest.fixture
def pushing(make_app, receiver, keys):
    """An app that pushes to the fake Wadule, with three complaints filed."""

    def build(**overrides):
        app = make_app(
            **{
                "BRIDGE_WADULE_CALLBACK_URL": receiver.url_for("/wadule/events"),
                "BRIDGE_WADULE_WEBHOOK_SECRET": DEFAULT_SECRET,
                "BRIDGE_CALLBACK_RETRY_SCHEDULE": "5,300,1800",
            }
            | overrides
        )

        use_directory(app)
        return app

    return build


def change(app, keys, wadule_id, status, key="operator"):
    client = app.test_client()
    if client.get(f"{URL}/{wadule_id}", headers=auth(keys["wadule"])).status_code == 404:
        body = {"wadule_id": wadule_id, "title": "t", "body": "b", "category": "jalan"}
        assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
    response = client.post(
        f"{URL}/{wadule_id}/status", json={"status": status}, headers=auth(keys[key])
    )
    assert response.status_code == 200, response.get_json()


def push(app):
    with app.app_context():
        return callbacks.push_due()


def make_due(app):
    with app.app_context(), new_session() as db:
        db.execute(update(Event).values(next_push_at=utcnow() - dt.timedelta(seconds=1)))
        db.commit()


def test_events_arrive_signed_in_order(pushing, receiver, keys):
    app = pushing()
    for status in ("acknowledged", "in_progress", "resolved"):
        change(app, keys, "WDL-P1", status)
    result = push(app)
    assert (result.delivered, result.retrying) == (3, 0)
    assert all(d.verified for d in receiver.deliveries)
    assert [d.payload["data"]["status"] for d in receiver.deliveries] == [
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    assert receiver.webhook_ids() == ["evt_1", "evt_2", "evt_3"]
    assert push(app).delivered == 0  # nothing twice


def test_a_failing_complaint_waits_without_holding_up_others(pushing, receiver, keys):
    app = pushing()
    change(app, keys, "WDL-A", "acknowledged")
    change(app, keys, "WDL-A", "in_progress")
    change(app, keys, "WDL-B", "acknowledged")
    receiver.fail_next(1, status=500)
    result = push(app)
    # A's first event failed, so A's second waits; B's goes.
    assert (result.delivered, result.retrying) == (1, 1)
    assert [d.payload["data"]["wadule_id"] for d in receiver.verified] == ["WDL-B"]
    with app.app_context(), new_session() as db:
        first = db.get(Event, 1)
        assert first.push_status == "pending" and first.last_push_error == "HTTP 500"
        wait = (first.next_push_at - utcnow()).total_seconds()
        assert 3 <= wait <= 6.1  # 5 s ± 20%
    make_due(app)
    receiver.fail_next(1, status=429, headers={"Retry-After": "120"})
    assert push(app).retrying == 1
    with app.app_context(), new_session() as db:
        assert (db.get(Event, 1).next_push_at - utcnow()).total_seconds() > 115
    make_due(app)
    assert push(app).delivered == 2
    accepted = [
        (d.payload["data"]["wadule_id"], d.payload["data"]["status"]) for d in receiver.verified
    ]
    assert accepted == [
        ("WDL-B", "acknowledged"),
        ("WDL-A", "acknowledged"),
        ("WDL-A", "in_progress"),
    ]
    # The same webhook-id on every try of one event.
    assert [r.headers["webhook-id"] for r in receiver.requests if b"WDL-A" in r.body] == [
        "evt_1",
        "evt_1",
        "evt_1",
        "evt_2",
    ]


def test_a_receiver_that_is_down_gets_the_events_later(pushing, receiver, keys, make_app):
    app = pushing(BRIDGE_WADULE_CALLBACK_URL=f"http://127.0.0.1:{free_port()}/down")
    change(app, keys, "WDL-D", "acknowledged")
    assert push(app).retrying == 1
    with app.app_context(), new_session() as db:
        assert db.get(Event, 1).last_push_error == "ConnectionError"
    up = make_app(
        BRIDGE_WADULE_CALLBACK_URL=receiver.url_for("/wadule/events"),
        BRIDGE_WADULE_WEBHOOK_SECRET=DEFAULT_SECRET,
    )
    make_due(up)
    assert push(up).delivered == 1


def test_retries_give_up_but_the_event_stays_in_the_feed(pushing, receiver, keys):
    app = pushing(BRIDGE_CALLBACK_RETRY_SCHEDULE="1")
    change(app, keys, "WDL-G", "acknowledged")
    change(app, keys, "WDL-G", "in_progress")
    receiver.fail_next(2, status=503)
    push(app)
    make_due(app)
    result = push(app)
    assert result.failed == 1 and result.delivered == 1  # the next event is no longer held
    with app.app_context(), new_session() as db:
        assert db.get(Event, 1).push_status == "failed"
    feed = app.test_client().get("/api/v1/events", headers=auth(keys["wadule"])).get_json()
    assert [e["data"]["seq"] for e in feed["events"]] == [1, 2]


def test_gone_stops_pushing_and_alerts(pushing, receiver, keys, caplog):
    app = pushing()
    change(app, keys, "WDL-X", "acknowledged")
    change(app, keys, "WDL-Y", "acknowledged")
    receiver.fail_next(1, status=410)
    result = push(app)
    assert result.stopped and result.delivered == 0
    assert "callbacks stopped" in caplog.text
    assert push(app).stopped  # nothing is sent while stopped
    assert len(receiver.requests) == 1
    ready = app.test_client().get("/readyz", headers=auth(keys["operator"]))
    assert ready.status_code == 200  # ingest still works: a warning, not "not ready"
    assert "callbacks" in ready.get_json()["warnings"]
    ready = ready.get_json()["checks"]["callbacks"]
    assert ready["ok"] is False and "410" in ready["error"] and ready["backlog"] == 2
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert "bridge_callback_backlog 2.0" in metrics
    with app.app_context():
        callbacks.resume()
    assert push(app).delivered == 2


def test_receiver_verifies_with_the_library(pushing, receiver, keys):
    app = pushing()
    change(app, keys, "WDL-V", "acknowledged")
    push(app)
    delivery = receiver.deliveries[0]
    headers = {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": delivery.timestamp,
        "webhook-signature": receiver.last.headers["webhook-signature"],
    }
    payload = Webhook(DEFAULT_SECRET).verify(delivery.body, headers)
    assert payload == json.loads(delivery.body)
    with app.app_context(), new_session() as db:
        assert db.scalars(select(Event.push_status)).all() == ["delivered"]
