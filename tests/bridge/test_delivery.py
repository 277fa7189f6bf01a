"""The delivery lifecycle in-process (no Celery): each provider answer ends in the right state."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, text, update

from bridge import messages, outbox, queue
from bridge.db import new_session
from bridge.models import Complaint, Delivery, Event, SandboxMessage, utcnow
from bridge.statuses import Lane
from tests.fakes.server import Delay
from tests.fakes.waha import DEFAULT_API_KEY, FakeWaha
from tests.support import auth, use_directory

GROUP = "120363000000000001@g.us"
DIRECTORY = {
    "triage": "diskominfo",
    "opds": [
        {
            "slug": "diskominfo",
            "name": "Dinas Komunikasi dan Informatika",
            "categories": ["informasi"],
            "channels": [{"kind": "whatsapp_group", "target": GROUP}],
        },
        # Offices of their own group each, for tests that need several targets.
        *(
            {
                "slug": f"opd{n}",
                "name": f"OPD {n}",
                "categories": [f"kategori{n}"],
                "channels": [{"kind": "whatsapp_group", "target": f"12036300000000010{n}@g.us"}],
            }
            for n in range(5)
        ),
    ],
}


@pytest.fixture
def waha():
    with FakeWaha() as fake:
        yield fake


@pytest.fixture
def engine_app(make_app, waha):
    """An app that really calls the fake WAHA (sandbox off), with a quick retry schedule."""

    def build(**overrides):
        env = {
            **waha.bridge_settings(),
            "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1",
            "BRIDGE_DELIVERY_RETRY_SCHEDULE": "10,20",
            "BRIDGE_HTTP_TIMEOUT": "1",
        }
        app = make_app(**(env | overrides))
        use_directory(app, DIRECTORY)
        return app

    return build


def submit(app, wadule_id="WDL-E1", **fields) -> int:
    """Ingest one complaint through the domain code; return its WhatsApp delivery id."""
    from bridge.complaints import Actor, ingest

    data = {
        "wadule_id": wadule_id,
        "title": "Judul",
        "body": "Isi aduan.",
        "anonymous": False,
        "confidential": False,
        "attachments": [],
        "category": "informasi",
    } | fields
    with app.app_context(), new_session() as db:
        complaint, _ = ingest(db, data, Actor("wadule", "test"))
        return complaint.deliveries[0].id


def attempt(app, delivery_id):
    with app.app_context():
        return outbox.deliver(delivery_id)


def row(app, delivery_id) -> Delivery:
    with app.app_context(), new_session() as db:
        return db.get(Delivery, delivery_id)


def complaint_of(app, wadule_id) -> Complaint:
    from bridge.complaints import load_complaint

    with app.app_context(), new_session() as db:
        return load_complaint(db, wadule_id)


def make_due(app, delivery_id) -> None:
    with app.app_context(), new_session() as db:
        db.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
        )
        db.commit()


def test_sent_records_the_provider_id_and_forwards_the_complaint(engine_app, waha):
    app = engine_app()
    delivery_id = submit(app)
    assert attempt(app, delivery_id).outcome == "sent"
    sent = row(app, delivery_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.external_id == waha.messages[0].id or waha.messages[0].id in sent.external_id
    assert sent.sent_at is not None and sent.claim_token is None
    assert waha.texts(GROUP)[0].startswith("📣 *Aduan baru #WDL-E1*")
    request = waha.last
    assert request.headers["X-Api-Key"] == DEFAULT_API_KEY
    assert request.json == {
        "session": "default",
        "chatId": GROUP,
        "text": waha.texts(GROUP)[0],
        "linkPreview": False,
    }
    complaint = complaint_of(app, "WDL-E1")
    assert complaint.status == "forwarded"
    assert [h.status for h in complaint.history] == ["received", "forwarded"]
    # A second doorbell for the same row does nothing.
    assert attempt(app, delivery_id).outcome == "skipped"
    assert len(waha.requests) == 1


def test_server_error_retries_on_the_schedule_then_succeeds(engine_app, waha):
    app = engine_app()
    delivery_id = submit(app)
    waha.fail_next(1, status=500, body={"message": "boom"})
    before = utcnow()
    result = attempt(app, delivery_id)
    assert result.outcome == "retrying"
    assert 8 <= result.retry_in <= 12  # 10 s ± 20%
    failed = row(app, delivery_id)
    assert failed.status == "retrying" and failed.attempts == 1
    assert "server error 500" in failed.last_error
    wait = (failed.next_attempt_at - before).total_seconds()
    assert 8 <= wait <= 12.5
    assert attempt(app, delivery_id).outcome == "skipped"  # not due yet: no provider call
    assert len(waha.requests) == 1
    make_due(app, delivery_id)
    assert attempt(app, delivery_id).outcome == "sent"
    assert row(app, delivery_id).attempts == 2


def test_throttling_waits_as_told_without_spending_an_attempt(engine_app, waha):
    app = engine_app()
    delivery_id = submit(app)
    waha.fail_next(1, status=429, body={"message": "slow down"}, headers={"Retry-After": "600"})
    result = attempt(app, delivery_id)
    # A provider's "wait" is not a failure: no attempt is spent on it.
    assert result.outcome == "throttled" and result.retry_in == 600
    waiting = row(app, delivery_id)
    assert (waiting.status, waiting.attempts, waiting.published_at) == ("pending", 0, None)
    assert waiting.next_attempt_at > utcnow() + dt.timedelta(seconds=590)


def test_provider_wait_hint_wins_over_a_shorter_schedule(engine_app, waha):
    app = engine_app()
    delivery_id = submit(app)
    waha.fail_next(1, status=503, body={"message": "restarting"}, headers={"Retry-After": "600"})
    result = attempt(app, delivery_id)
    assert result.outcome == "retrying" and result.retry_in == 600
    failed = row(app, delivery_id)
    # No doorbell waits in the broker: the waker rings when the row is due.
    assert (failed.status, failed.attempts, failed.published_at) == ("retrying", 1, None)


def test_retries_exhausted_is_dead_and_the_complaint_failed(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_RETRY_SCHEDULE="1")
    delivery_id = submit(app)
    waha.fail_next(2, status=503)
    assert attempt(app, delivery_id).outcome == "retrying"
    make_due(app, delivery_id)
    assert attempt(app, delivery_id).outcome == "dead"
    dead = row(app, delivery_id)
    assert dead.status == "dead" and dead.attempts == 2
    assert dead.last_error.startswith("retries exhausted: waha: server error 503")
    assert complaint_of(app, "WDL-E1").status == "delivery_failed"


def test_bad_credentials_are_permanent(engine_app, waha):
    app = engine_app(BRIDGE_WAHA_API_KEY="wrong")
    delivery_id = submit(app)
    assert attempt(app, delivery_id).outcome == "dead"
    assert row(app, delivery_id).last_error == "waha: bad api key"
    assert complaint_of(app, "WDL-E1").status == "delivery_failed"


def test_a_hang_after_sending_needs_review_and_is_never_resent(engine_app, waha):
    app = engine_app()
    delivery_id = submit(app)
    waha.hang_next(1, seconds=5)
    assert attempt(app, delivery_id).outcome == "needs_review"
    review = row(app, delivery_id)
    assert review.status == "needs_review" and "no answer within 1s" in review.last_error
    make_due(app, delivery_id)
    assert attempt(app, delivery_id).outcome == "skipped"
    with app.app_context():
        assert outbox.sweep().published == 0
    assert len(waha.requests) == 1


def test_unconfigured_provider_fails_without_a_call(engine_app, waha):
    app = engine_app(BRIDGE_WAHA_URL="")
    delivery_id = submit(app)
    assert attempt(app, delivery_id).outcome == "dead"
    dead = row(app, delivery_id)
    assert (dead.status, dead.last_error, dead.attempts) == ("dead", "provider not configured", 0)
    assert waha.requests == []
    with app.app_context(), new_session() as db:
        # Every private channel failed: the complaint says so (contract section 5).
        assert db.get(Complaint, dead.complaint_id).status == "delivery_failed"


def test_our_own_limit_reschedules_without_spending_an_attempt(engine_app, waha):
    app = engine_app(BRIDGE_RATE_LIMITS="whatsapp_group=1/60")
    first, second = submit(app, "WDL-A"), submit(app, "WDL-B")
    assert attempt(app, first).outcome == "sent"
    result = attempt(app, second)
    assert result.outcome == "throttled" and 59 <= result.retry_in <= 61
    waiting = row(app, second)
    assert (waiting.status, waiting.attempts, waiting.claim_token) == ("pending", 0, None)
    assert len(waha.requests) == 1


def test_concurrent_doorbells_make_one_provider_call(engine_app, waha):
    app = engine_app()
    delivery_id = submit(app)
    waha.delay_next(0.5)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(attempt(app, delivery_id))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.outcome for r in results) == ["sent"] + ["skipped"] * 7
    assert len(waha.requests) == 1


def test_sweeper_moves_an_expired_lease_to_review_and_publishes_due_rows(engine_app, waha):
    app = engine_app()
    lost, due = submit(app, "WDL-LOST"), submit(app, "WDL-DUE")
    past = utcnow() - dt.timedelta(minutes=5)
    with app.app_context(), new_session() as db:
        db.execute(
            update(Delivery)
            .where(Delivery.id == lost)
            .values(status="sending", claim_token="dead-worker", lease_until=past)
        )
        db.execute(update(Delivery).where(Delivery.id == due).values(published_at=None))
        db.commit()
    with app.app_context():
        result = outbox.sweep()
    assert (result.expired, result.published) == (1, 1)
    assert row(app, lost).status == "needs_review"
    assert "worker lost while sending" in row(app, lost).last_error
    assert row(app, due).published_at is not None
    with app.app_context():
        assert outbox.sweep().published == 0  # within the grace period: no second copy


def test_redeliver_endpoint_retries_dead_and_review_rows(engine_app, waha, keys):
    app = engine_app(BRIDGE_WAHA_API_KEY="wrong")
    delivery_id = submit(app)
    attempt(app, delivery_id)
    client = app.test_client()
    url = "/api/v1/complaints/WDL-E1/redeliver"
    assert client.post(url, headers=auth(keys["wadule"])).status_code == 403
    assert (
        client.post(url, json={"channel": "fax"}, headers=auth(keys["operator"])).status_code == 422
    )
    response = client.post(url, headers=auth(keys["operator"]))
    assert response.status_code == 202
    assert response.get_json()["requeued"] == 1
    again = row(app, delivery_id)
    assert (again.status, again.attempts, again.retry_base) == ("retrying", 1, 1)
    assert client.post(url, headers=auth(keys["operator"])).get_json()["requeued"] == 0

    fixed = engine_app()  # the operator fixed the key
    assert attempt(fixed, delivery_id).outcome == "sent"
    assert row(fixed, delivery_id).attempts == 2


def test_sandbox_sends_land_in_the_inbox(make_app, keys):
    app = make_app(BRIDGE_RATE_LIMITS="whatsapp_group=100/1")
    use_directory(app, DIRECTORY)
    delivery_id = submit(app, reporter={"name": "Sutrisno", "phone": "0812"})
    assert attempt(app, delivery_id).outcome == "sent"
    with app.app_context(), new_session() as db:
        (message,) = db.scalars(select(SandboxMessage)).all()
    assert (message.kind, message.target, message.delivery_id) == (
        "whatsapp_group",
        GROUP,
        delivery_id,
    )
    assert "Sutrisno" in message.text
    assert message.text.endswith(messages.reply_help("WDL-E1"))
    assert row(app, delivery_id).external_id == f"sandbox-{delivery_id}"


# Batches: a doorbell takes on other due rows; one claim, one record, one event insert.


def test_a_doorbell_takes_on_the_oldest_due_rows_up_to_the_batch(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="3")
    ids = [submit(app, f"WDL-B{n}", category=f"kategori{n}") for n in range(5)]
    with app.app_context():
        first = outbox.deliver_batch([ids[4]])
    # Its own row, then the oldest due ones (each to a group of its own).
    assert sorted(first.results) == [ids[0], ids[1], ids[4]]
    assert first.summary() == {"sent": 3}
    assert [row(app, i).status for i in ids[2:4]] == ["pending", "pending"]
    with app.app_context():
        assert outbox.deliver_batch([ids[0]]).summary() == {"sent": 2}
        # The doorbells of rows already taken on find nothing to do, and call nobody.
        assert outbox.deliver_batch([ids[1]]).results == {}
    assert len(waha.requests) == 5


def test_a_claim_asks_the_database_as_often_for_many_groups_as_for_one(engine_app, waha):
    # Each group's "is someone sending to it?" was once a query of its own (in a list
    # comprehension's condition): 17 offices' rows made a claim 17 queries longer.
    from sqlalchemy import event

    from bridge import db as database
    from bridge.db import engine_of
    from bridge.outbox import claim

    app = engine_app(BRIDGE_DELIVERY_BATCH="10")
    statements = []

    def count(*_args):
        statements.append(1)

    def pick_statements(ids) -> int:
        statements.clear()
        with app.app_context():
            db = database.session()
            event.listen(engine_of(app), "before_cursor_execute", count)
            try:
                picked = claim.pick(db, ids, Lane.PRIVATE, utcnow(), limit=10)
            finally:
                event.remove(engine_of(app), "before_cursor_execute", count)
            assert sorted(d.id for d in picked.rows) == sorted(ids)
            db.rollback()
        return len(statements)

    one_group = pick_statements([submit(app, "WDL-Q0", category="kategori0")])
    with app.app_context(), new_session() as db:
        db.execute(update(Delivery).values(status="sent"))
        db.commit()
    five_groups = pick_statements(
        [submit(app, f"WDL-Q{n}", category=f"kategori{n}") for n in range(1, 6)]
    )
    assert five_groups == one_group


def test_one_groups_rows_go_out_in_order(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="3")
    ids = [submit(app, f"WDL-O{n}") for n in range(5)]
    with app.app_context():
        # Rung for the newest row: its group's oldest rows go first, in order.
        first = outbox.deliver_batch([ids[4]])
        assert list(first.results) == [ids[0], ids[1], ids[2]]
        second = outbox.deliver_batch([ids[4]])
        assert list(second.results) == [ids[3], ids[4]]
    sent = [request.json["text"] for request in waha.requests]
    assert [text.split("#", 1)[1].split("*", 1)[0] for text in sent] == [
        f"WDL-O{n}" for n in range(5)
    ]


def test_rows_another_worker_holds_are_skipped_not_waited_for(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="5")
    held, other = submit(app, "WDL-HELD"), submit(app, "WDL-FREE", category="kategori1")
    with app.app_context(), new_session() as holder:
        # Another worker's claim transaction holds the row (PostgreSQL row lock).
        holder.execute(select(Delivery.id).where(Delivery.id == held).with_for_update()).all()
        with app.app_context():
            batch = outbox.deliver_batch([held])
        holder.rollback()
    assert batch.summary() == {"sent": 1} and list(batch.results) == [other]
    assert row(app, held).status == "pending"


def test_a_row_waits_while_another_worker_claims_its_group(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="5")
    held, later = submit(app, "WDL-HELD"), submit(app, "WDL-LATER")
    with app.app_context(), new_session() as holder:
        # Another worker's claim is under way for this group: it holds the group's advisory
        # lock until its claim commits (bridge.outbox.claim).
        key = f"whatsapp_group:{GROUP}"
        taken = holder.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )
        assert taken
        with app.app_context():
            batch = outbox.deliver_batch([later])
        holder.rollback()
    # Nothing jumped the queue; once the group is free, its rows go in order.
    assert batch.results == {}
    assert row(app, later).status == "pending"
    with app.app_context():
        assert list(outbox.deliver_batch([later]).results) == [held, later]


def test_a_group_being_sent_to_is_left_to_its_sender(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="5")
    first, second = submit(app, "WDL-A"), submit(app, "WDL-B")
    with app.app_context(), new_session() as db:
        db.execute(
            update(Delivery).where(Delivery.id == first).values(status="sending", claim_token="x")
        )
        db.commit()
    with app.app_context():
        assert outbox.deliver_batch([second]).results == {}
    assert row(app, second).status == "pending" and waha.requests == []


def test_one_group_gets_one_send_per_window_within_a_batch(engine_app, waha):
    app = engine_app(BRIDGE_RATE_LIMITS="whatsapp_group=1/60", BRIDGE_DELIVERY_BATCH="5")
    ids = [submit(app, f"WDL-L{n}") for n in range(3)]
    with app.app_context():
        batch = outbox.deliver_batch([ids[0]])
    assert batch.results[ids[0]].outcome == "sent"
    for waiting in ids[1:]:
        assert batch.results[waiting].outcome == "throttled"
        assert 59 <= batch.results[waiting].retry_in <= 61
        held_back = row(app, waiting)
        assert (held_back.status, held_back.attempts, held_back.claim_token) == ("pending", 0, None)
        assert held_back.next_attempt_at > utcnow() + dt.timedelta(seconds=55)
    assert len(waha.requests) == 1


def test_rows_not_reached_within_half_the_time_limit_are_handed_back(engine_app, waha):
    app = engine_app(
        BRIDGE_TASK_TIME_LIMIT="5", BRIDGE_HTTP_TIMEOUT="1.6", BRIDGE_DELIVERY_BATCH="3"
    )
    ids = [submit(app, f"WDL-T{n}") for n in range(3)]
    waha.delay_next(1.4, times=2)  # two slow answers use up the 2.5 s budget
    with app.app_context():
        batch = outbox.deliver_batch([ids[0]])
    assert [batch.results[i].outcome for i in ids[:2]] == ["sent", "sent"]
    assert ids[2] not in batch.results
    back = row(app, ids[2])
    assert (back.status, back.attempts, back.claim_token, back.lease_until) == (
        "pending",
        0,
        None,
        None,
    )
    assert len(waha.requests) == 2
    assert attempt(app, ids[2]).outcome == "sent"


def test_each_row_records_its_own_answer_time(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="2")
    first, second = submit(app, "WDL-S1"), submit(app, "WDL-S2")
    waha.script(Delay(0), Delay(0.5))
    with app.app_context():
        outbox.deliver_batch([first])
    gap = row(app, second).sent_at - row(app, first).sent_at
    assert gap >= dt.timedelta(seconds=0.45)


def test_a_claim_lost_mid_batch_records_only_the_rows_still_held(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="2")
    lost, kept = submit(app, "WDL-LOST"), submit(app, "WDL-KEPT")
    waha.script(Delay(0), Delay(0.6))  # the sweeper acts while the second send is out

    def sweeper_moves_the_first_row_on():
        waha.wait_for_requests(2)
        with app.app_context(), new_session() as db:
            db.execute(
                update(Delivery)
                .where(Delivery.id == lost)
                .values(status="needs_review", claim_token=None, last_error="lease expired")
            )
            db.commit()

    thread = threading.Thread(target=sweeper_moves_the_first_row_on)
    thread.start()
    with app.app_context():
        batch = outbox.deliver_batch([lost])
    thread.join()
    assert batch.results[lost].outcome == "skipped"
    assert batch.results[kept].outcome == "sent"
    assert (row(app, lost).status, row(app, lost).last_error) == ("needs_review", "lease expired")
    assert complaint_of(app, "WDL-LOST").status == "received"
    assert complaint_of(app, "WDL-KEPT").status == "forwarded"


def test_a_batch_writes_events_in_order_per_complaint(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="3")
    ids = [submit(app, f"WDL-E{n}") for n in range(3)]
    with app.app_context():
        outbox.deliver_batch([ids[0]])
    with app.app_context(), new_session() as db:
        events = db.scalars(select(Event).order_by(Event.seq)).all()
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert all(e.data["seq"] == e.seq for e in events)
    for n in range(3):
        mine = [e for e in events if e.data["wadule_id"] == f"WDL-E{n}"]
        assert [(e.type, e.data["status"]) for e in mine] == [
            ("complaint.delivery_updated", "sent"),
            ("complaint.status_changed", "forwarded"),
        ]
        assert mine[1].data["previous_status"] == "received"


def test_a_claim_rings_for_groups_it_kept_from_others_but_left(engine_app, waha, monkeypatch):
    """A claim locks the groups it may take; another task's doorbell that finds one locked
    leaves its row alone. When the claim then fills its batch with other rows, it must ring for
    the groups it left, or their rows wait for the sweeper's grace period (30 s or more)."""
    rung = []
    monkeypatch.setattr(
        queue, "publish", lambda rows: [i for i, _lane in rung.extend(rows) or rows]
    )
    app = engine_app(BRIDGE_DELIVERY_BATCH="5")
    mine = [submit(app, f"WDL-M{n}") for n in range(5)]  # one group: a whole batch
    left = submit(app, "WDL-LEFT", category="kategori1")  # another group
    app.extensions["bridge.doorbell"].flush()
    rung.clear()
    with app.app_context():
        batch = outbox.deliver_batch([mine[0]])
    app.extensions["bridge.doorbell"].flush()
    assert sorted(batch.results) == mine
    assert row(app, left).status == "pending"
    assert (left, Lane.PRIVATE) in rung


def test_rows_a_concurrent_claim_holds_keep_their_doorbell_untouched(engine_app, waha):
    app = engine_app(BRIDGE_DELIVERY_BATCH="5")
    held = submit(app, "WDL-HELD")
    with app.app_context(), new_session() as holder:
        holder.execute(select(Delivery.id).where(Delivery.id == held).with_for_update()).all()
        with app.app_context():
            assert outbox.deliver_batch([held]).results == {}  # skipped, not waited for
        holder.rollback()
    assert row(app, held).published_at is not None


def test_a_slow_group_holds_up_neither_the_record_nor_the_next_rows_of_the_others(
    engine_app, waha, monkeypatch
):
    # Two groups in one batch: whichever request arrives first takes 2 s. The batch records
    # what is done when its wait for the rest is up (0.3 s here): the other group's row is
    # `sent` (and its group free for its next row) before the slow one answers, which then
    # records itself.
    from bridge.outbox import engine

    monkeypatch.setattr(engine, "RECORD_TOGETHER_WITHIN", 0.3)
    app = engine_app(BRIDGE_DELIVERY_BATCH="5", BRIDGE_HTTP_TIMEOUT="10")
    first = submit(app, "WDL-H1", category="kategori1")
    second = submit(app, "WDL-H2", category="kategori2")
    waha.delay_next(2)

    def run():
        with app.app_context():
            outbox.deliver_batch([first, second])

    batch = threading.Thread(target=run)
    batch.start()
    seen = set()
    try:
        while batch.is_alive() and seen != {"sent", "sending"}:
            seen = {row(app, first).status, row(app, second).status}
            time.sleep(0.02)
    finally:
        batch.join()
    assert seen == {"sent", "sending"}, "the fast group was recorded only when the batch ended"
    assert row(app, first).status == row(app, second).status == "sent"
    with app.app_context(), new_session() as db:
        events = db.scalars(select(Event).order_by(Event.seq)).all()
    # Each group's record wrote its own events, in one gap-free sequence.
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 4))


def test_the_default_batch_fills_the_send_threads():
    from bridge.outbox import claim, engine
    from bridge.settings import Settings

    assert Settings().delivery_batch == engine.PARALLEL_TARGETS * claim.PER_TARGET


def test_targets_that_all_answer_late_record_themselves(engine_app, waha, monkeypatch):
    from bridge.outbox import engine

    monkeypatch.setattr(engine, "RECORD_TOGETHER_WITHIN", 0.2)
    app = engine_app(BRIDGE_DELIVERY_BATCH="5", BRIDGE_HTTP_TIMEOUT="10")
    ids = [submit(app, f"WDL-L{n}", category=f"kategori{n}") for n in (1, 2)]
    waha.delay_next(1, times=2)
    with app.app_context():
        batch = outbox.deliver_batch(ids)
    assert batch.summary() == {"sent": 2}
    assert [row(app, i).status for i in ids] == ["sent", "sent"]
    assert complaint_of(app, "WDL-L1").status == complaint_of(app, "WDL-L2").status == "forwarded"
