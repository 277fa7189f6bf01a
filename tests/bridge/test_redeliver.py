"""``redeliver_rows``: a person sends chosen dead (and, once checked, needs-review) rows again."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bridge import outbox, queue
from bridge.complaints import ingest
from bridge.db import new_session
from bridge.models import Complaint, Delivery, Opd, utcnow
from bridge.statuses import DeliveryPurpose, Lane
from bridge.workflow import Actor, reroute

SITI = Actor("operator", "siti")


@pytest.fixture
def published(monkeypatch):
    """What the after-commit doorbell published, as (id, lane) pairs."""
    seen: list[tuple[int, Lane]] = []

    def publish(rows):
        rows = list(rows)
        seen.extend(rows)
        return [row_id for row_id, _lane in rows]

    monkeypatch.setattr(queue, "publish", publish)
    return seen


def submit(app, wadule_id: str, category: str = "jalan") -> dict[str, int]:
    """A complaint for dpupr (``jalan``); its delivery ids by channel kind."""
    data = {
        "wadule_id": wadule_id,
        "title": "Jalan berlubang",
        "body": "Jalan rusak di Desa Arjosari.",
        "category": category,
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    }
    with app.app_context(), new_session() as db:
        complaint, _ = ingest(db, data, Actor("wadule", "test"))
        return {d.kind: d.id for d in complaint.deliveries}


def set_rows(app, ids, **values) -> None:
    with app.app_context(), new_session() as db:
        db.execute(update(Delivery).where(Delivery.id.in_(list(ids))).values(**values))
        db.commit()


def rows(app, ids) -> dict[int, Delivery]:
    with app.app_context(), new_session() as db:
        found = db.scalars(select(Delivery).where(Delivery.id.in_(list(ids)))).all()
        db.expunge_all()
        return {row.id: row for row in found}


def run(app, ids, *, confirmed_review: bool, published=None) -> outbox.RowsRedelivered:
    # Doorbells rung in quick succession are gathered (bridge.queue.Doorbell): flushed here so
    # that what ingest rang is out of the way and what redelivery rang is published now.
    doorbell = app.extensions["bridge.doorbell"]
    doorbell.flush()
    if published is not None:
        published.clear()  # ingest rang too
    with app.app_context(), new_session() as db:
        result = outbox.redeliver_rows(db, ids, actor=SITI, confirmed_review=confirmed_review)
    doorbell.flush()
    return result


def test_dead_rows_go_again_and_unchecked_review_rows_stay(directory, published):
    one, two = submit(directory, "WDL-B1"), submit(directory, "WDL-B2")
    dead = [one["whatsapp_group"], one["x"], two["facebook_page"]]
    review = [two["whatsapp_group"]]
    sent = [one["instagram"]]
    set_rows(directory, dead, status="dead", attempts=3, last_error="waha: bad api key")
    set_rows(directory, review, status="needs_review", attempts=1, last_error="timeout")
    set_rows(directory, sent, status="sent", attempts=1)
    before = utcnow()

    result = run(
        directory, [*dead, *review, *sent, 999_999], confirmed_review=False, published=published
    )

    assert result == outbox.RowsRedelivered(
        requeued=tuple(sorted(dead)), unconfirmed=tuple(review), skipped=(sent[0], 999_999)
    )
    after = rows(directory, [*dead, *review, *sent])
    for row_id in dead:
        row = after[row_id]
        assert (row.status, row.attempts, row.retry_base) == ("retrying", 3, 3)
        assert row.last_error == "redelivery requested by operator:siti"
        assert before <= row.next_attempt_at <= utcnow()
    assert (after[review[0]].status, after[review[0]].last_error) == ("needs_review", "timeout")
    assert after[sent[0]].status == "sent"
    # Rung after commit, each row in its own lane.
    assert sorted(published) == sorted(
        [
            (one["whatsapp_group"], Lane.PRIVATE),
            (one["x"], Lane.PUBLIC),
            (two["facebook_page"], Lane.PUBLIC),
        ]
    )


def test_review_rows_go_again_once_a_person_confirmed(directory, published):
    ids = submit(directory, "WDL-B3")
    review, dead = ids["whatsapp_group"], ids["facebook_page"]
    set_rows(directory, [review], status="needs_review", attempts=1)
    set_rows(directory, [dead], status="dead", attempts=2)

    result = run(directory, [review, dead], confirmed_review=True)

    assert result == outbox.RowsRedelivered(tuple(sorted([review, dead])), (), ())
    after = rows(directory, [review, dead])
    assert [after[review].status, after[dead].status] == ["retrying", "retrying"]
    assert after[review].retry_base == 1
    # Twice is nothing new: the rows are retrying now.
    assert run(directory, [review, dead], confirmed_review=True).skipped == tuple(
        sorted([review, dead])
    )


def test_rows_of_an_earlier_round_and_the_bridges_notices_are_skipped(directory, published):
    ids = submit(directory, "WDL-B4")
    set_rows(directory, ids.values(), status="dead")
    with directory.app_context(), new_session() as db:
        complaint = db.scalar(select(Complaint).where(Complaint.wadule_id == "WDL-B4"))
        dinkes = db.scalar(select(Opd).where(Opd.slug == "dinkes"))
        reroute(db, complaint, dinkes, note="salah kamar", actor=SITI)
        db.commit()
        new_round = [d.id for d in complaint.deliveries if d.round == 2]
        notice = Delivery(
            dedupe_key="reply-test",
            purpose=DeliveryPurpose.REPLY,
            complaint_id=complaint.id,
            channel_id=db.get(Delivery, new_round[0]).channel_id,
            round=2,
            text="✅ #WDL-B4: status dicatat.",
            kind="whatsapp_group",
            lane=Lane.PRIVATE,
            target="120363000000000102@g.us",
            status="dead",
        )
        db.add(notice)
        db.commit()
        notice_id = notice.id
    set_rows(directory, new_round, status="dead")

    old = sorted(ids.values())
    result = run(
        directory, [*old, *new_round, notice_id], confirmed_review=True, published=published
    )

    assert result.requeued == tuple(sorted(new_round))
    assert result.skipped == tuple(sorted([*old, notice_id]))
    assert {row.status for row in rows(directory, [*old, notice_id]).values()} == {"dead"}
    assert sorted(row_id for row_id, _lane in published) == sorted(new_round)


def test_nothing_given_nothing_done(directory, published):
    nothing = run(directory, [], confirmed_review=False, published=published)
    assert nothing == outbox.RowsRedelivered((), (), ())
    assert published == []


def test_requeued_rows_are_due_for_the_engine(directory, published):
    ids = submit(directory, "WDL-B5")
    row_id = ids["whatsapp_group"]
    later = utcnow() + dt.timedelta(hours=3)
    set_rows(directory, [row_id], status="dead", next_attempt_at=later)
    run(directory, [row_id], confirmed_review=False)
    with directory.app_context():
        assert outbox.deliver(row_id).outcome == "sent"  # sandbox mode: to the inbox
    assert rows(directory, [row_id])[row_id].status == "sent"
