"""Retention: prune() deletes exactly what has passed its time, on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bridge import retention
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import (
    Complaint,
    Delivery,
    InboundEvent,
    LoginThrottle,
    SandboxMessage,
    StatusChange,
    WahaLid,
    utcnow,
)

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def fill(app) -> None:
    day = dt.timedelta(days=1)
    with app.app_context(), new_session() as db:
        db.add_all(
            [
                InboundEvent(source="waha", event_id="old", received_at=NOW - day - SECOND),
                InboundEvent(source="waha", event_id="edge", received_at=NOW - day),
                InboundEvent(source="telegram", event_id="new", received_at=NOW - SECOND),
                SandboxMessage(
                    kind="x", target="t", text="old", created_at=NOW - 30 * day - SECOND
                ),
                SandboxMessage(kind="x", target="t", text="edge", created_at=NOW - 30 * day),
                SandboxMessage(kind="x", target="t", text="new", created_at=NOW - day),
                WahaLid(lid="1@lid", phone="6281200000001", resolved_at=NOW - 30 * day - SECOND),
                WahaLid(lid="2@lid", phone=None, resolved_at=NOW - SECOND),
                LoginThrottle(
                    kind="account",
                    key="old",
                    failures=10,
                    window_start=NOW - 2 * day,
                    locked_until=NOW - 2 * day + dt.timedelta(minutes=15),
                    updated_at=NOW - day - SECOND,
                ),
                LoginThrottle(
                    kind="address",
                    key="203.0.113.9",
                    failures=3,
                    window_start=NOW - dt.timedelta(minutes=5),
                    updated_at=NOW - dt.timedelta(minutes=5),
                ),
            ]
        )
        db.commit()


def remaining(app) -> dict[str, list[str]]:
    with app.app_context(), new_session() as db:
        return {
            "inbound_events": sorted(db.scalars(select(InboundEvent.event_id))),
            "sandbox_messages": sorted(db.scalars(select(SandboxMessage.text))),
            "waha_lids": sorted(db.scalars(select(WahaLid.lid))),
            "login_throttles": sorted(db.scalars(select(LoginThrottle.key))),
        }


def check_prune(app) -> None:
    fill(app)
    with app.app_context(), new_session() as db:
        counts = retention.prune(db, NOW)
    assert counts == {
        "inbound_events": 1,
        "sandbox_messages": 1,
        "waha_lids": 1,
        "login_throttles": 1,
    }
    assert remaining(app) == {
        "inbound_events": ["edge", "new"],
        "sandbox_messages": ["edge", "new"],
        "waha_lids": ["2@lid"],
        "login_throttles": ["203.0.113.9"],
    }
    with app.app_context(), new_session() as db:  # a second run finds nothing more
        assert retention.prune(db, NOW) == dict.fromkeys(counts, 0)


def test_prune_on_postgresql(app):
    check_prune(app)


def test_prune_on_sqlite(tmp_path, monkeypatch):
    from bridge import create_app
    from bridge.settings import Settings

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/bridge.db"
    upgrade(url)
    app = create_app(
        settings=Settings.from_env({"BRIDGE_DATABASE_URL": url, "BRIDGE_SANDBOX": "1"})
    )
    try:
        check_prune(app)
    finally:
        engine_of(app).dispose()


@pytest.mark.parametrize("model", [Complaint, Delivery, StatusChange])
def test_prune_keeps_the_complaints_record(directory, model):
    # Complaints, their deliveries and history are Wadule's record: never pruned.
    from bridge.complaints import ingest
    from bridge.workflow import Actor

    data = {
        "wadule_id": "WDL-OLD",
        "title": "t",
        "body": "b",
        "category": "jalan",
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    }
    with directory.app_context(), new_session() as db:
        ingest(db, data, Actor("wadule", "test"))
        before = db.scalar(select(func.count()).select_from(model))
        assert before > 0
        retention.prune(db, utcnow() + dt.timedelta(days=3650))
        assert db.scalar(select(func.count()).select_from(model)) == before
